"""Framing and first-frame classification (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracker._proto.rpc_pb2 import HeartbeatPing, RpcRequest
from tracker.rpc import FrameReader, FrameTooLarge, encode_frame, is_heartbeat_frame
from tracker.rpc._wire import _scan_for_heartbeat


def test_reader_splits_frames_fed_byte_by_byte() -> None:
    data = encode_frame(b"abc") + encode_frame(b"") + encode_frame(b"z" * 300)
    reader = FrameReader(1024)
    frames = []
    for byte in data:
        reader.feed(bytes([byte]))
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    assert frames == [b"abc", b"", b"z" * 300]
    assert reader.buffered == 0


@given(st.lists(st.binary(max_size=400), max_size=6), st.data())
def test_reader_splits_frames_fed_in_any_pieces(bodies: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(body) for body in bodies)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    reader = FrameReader(1024)
    frames = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        reader.feed(stream[start:end])
        while (frame := reader.next_frame()) is not None:
            frames.append(frame)
    assert frames == bodies
    assert reader.buffered == 0


def test_reader_counts_what_it_holds() -> None:
    reader = FrameReader(1024)
    reader.feed(encode_frame(b"abcdef")[:6])
    assert reader.next_frame() is None
    assert reader.buffered == 2  # the header is consumed, two body bytes wait
    reader.feed(b"cdef" + encode_frame(b"x"))
    assert reader.buffered == 11
    assert reader.next_frame() == b"abcdef"
    assert reader.buffered == 5
    assert reader.next_frame() == b"x"
    assert reader.buffered == 0


def test_oversized_header_is_rejected_before_the_body() -> None:
    reader = FrameReader(1024)
    reader.feed((2 << 20).to_bytes(4, "big"))
    with pytest.raises(FrameTooLarge, match=r"frame exceeds max size: 2097152 > 1024"):
        reader.next_frame()
    with pytest.raises(FrameTooLarge):
        encode_frame(b"x" * 1025, 1024)


def test_push_tag_precedes_the_first_frame() -> None:
    reader = FrameReader()
    reader.feed(b"\x01" + encode_frame(b"offer"))
    assert reader.take_byte() == 1
    assert reader.next_frame() == b"offer"


@pytest.mark.parametrize(
    ("body", "heartbeat"),
    [
        (HeartbeatPing(seq=1, t=1714000000000).SerializeToString(), True),
        (HeartbeatPing(seq=0, t=5).SerializeToString(), True),
        (HeartbeatPing(seq=7, t=0).SerializeToString(), False),  # t = 0: never from a real plugin
        (RpcRequest(method=1, payload=b"p").SerializeToString(), False),
        (RpcRequest(method=3).SerializeToString(), False),
        (b"", False),
        (b"\xff\xff\xff", False),
    ],
)
def test_first_frame_classification(body: bytes, heartbeat: bool) -> None:
    assert is_heartbeat_frame(body) is heartbeat


@given(st.integers(min_value=0, max_value=2**64 - 1), st.binary(max_size=64))
def test_no_rpc_request_is_classified_as_heartbeat(method: int, payload: bytes) -> None:
    request = RpcRequest(method=method % 2**31, payload=payload).SerializeToString()
    assert not is_heartbeat_frame(request)


@given(st.binary(max_size=200))
def test_classification_never_raises(body: bytes) -> None:
    assert is_heartbeat_frame(body) in (True, False)


@given(
    st.integers(min_value=0, max_value=255),
    st.binary(max_size=300),
    st.binary(max_size=12),
    st.sampled_from([b"", HeartbeatPing(seq=3, t=99).SerializeToString()]),
)
def test_the_fast_path_classifies_like_the_full_scan(
    method: int, payload: bytes, noise: bytes, tail: bytes
) -> None:
    # Bodies shaped like an RpcRequest (method, payload), some with more fields after it (a trailing ping's
    # field 2 varint makes the full scan say heartbeat), some cut short or padded with noise.
    body = RpcRequest(method=method, payload=payload).SerializeToString() + tail
    for candidate in (body, body + noise, body[: len(body) // 2], noise + body):
        assert is_heartbeat_frame(candidate) is _scan_for_heartbeat(candidate)
    if tail:
        assert is_heartbeat_frame(body)
