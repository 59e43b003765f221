"""Hypothesis fuzz of frames and payloads against a live in-process listener with the real handlers: every
stream gets an answer or a clean end (never a hang), no handler error is logged, bad input is never
INTERNAL (except the NOT_IMPLEMENTED methods), and the connection keeps working after every case."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import pytest
import trio
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.rpc.tracker_stack import tracker_stack
from tracker._proto.rpc_pb2 import HeartbeatPong, RpcRequest, RpcResponse
from tracker.client import connect_peer
from tracker.identity import generate_identity
from tracker.rpc import RpcStatus, StreamClosed, encode_frame, is_heartbeat_frame

_case = st.one_of(
    st.tuples(st.just("rpc"), st.integers(min_value=0, max_value=12), st.binary(max_size=300)),
    st.tuples(st.just("frame"), st.just(0), st.binary(max_size=300)),
    st.tuples(st.just("raw"), st.just(0), st.binary(max_size=40)),
)


async def _run_case(peer, kind: str, method: int, data: bytes) -> None:  # type: ignore[no-untyped-def]
    stream = peer.open_stream()
    if kind == "rpc":
        body = RpcRequest(method=method, payload=data).SerializeToString()
        stream.send(encode_frame(body), end_stream=True)
    elif kind == "frame":
        body = data
        stream.send(encode_frame(body), end_stream=True)
    else:
        body = b""
        stream.send(data, end_stream=True)
    with trio.fail_after(10):
        try:
            reply = await stream.receive_frame()
        except StreamClosed:
            assert kind != "rpc"
            return
    if reply is None:
        assert kind == "raw" or (kind == "frame" and is_heartbeat_frame(body))
        return
    if kind != "rpc" and is_heartbeat_frame(body):
        HeartbeatPong.FromString(reply)
        return
    response = RpcResponse.FromString(reply)
    assert RpcStatus.OK <= response.status <= RpcStatus.NOT_FOUND
    if response.status != RpcStatus.OK:
        assert response.error.code
    if response.status == RpcStatus.INTERNAL:
        assert response.error.code == "NOT_IMPLEMENTED"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(cases=st.lists(_case, min_size=1, max_size=12))
async def test_fuzzed_streams_never_break_the_listener(
    cases: list[tuple[str, int, bytes]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    with tempfile.TemporaryDirectory() as directory, caplog.at_level(logging.WARNING, logger="tracker.rpc"):
        async with (
            tracker_stack(Path(directory)) as stack,
            connect_peer(
                stack.server.local_address, pin=stack.server.pin, identity=generate_identity()
            ) as peer,
        ):
            for kind, method, data in cases:
                try:
                    await _run_case(peer, kind, method, data)
                except DecodeError as error:
                    raise AssertionError(f"undecodable reply to {kind} {method} {data!r}") from error
                assert (await peer.balance()).body.credits == 0
            assert not peer.closed
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert errors == []
