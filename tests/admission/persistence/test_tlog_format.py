"""tlog frame and payload bytes (admission.md §7.1–§7.3, Appendix B)."""

from __future__ import annotations

import pytest

from tracker.admission._errors import TLogCorruptError, TLogPayloadError, TLogTruncatedError
from tracker.admission.persistence._tlog_format import (
    DisputePayload,
    OperatorOverridePayload,
    SettlementPayload,
    SnapshotMarkPayload,
    StarterGrantPayload,
    TLogKind,
    TLogRecord,
    TransferPayload,
    crc32c,
    decode_frame,
    encode_frame,
    kind_name,
)


def test_crc32c_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283


def test_frame_vector_7_1() -> None:
    frame = encode_frame(42, 1714000000, 0, b"hello")
    assert frame.hex() == "0000001a000000000000002a00000000662990800068656c6c6fa9c6f70b"
    assert len(frame) == 30
    record, end = decode_frame(frame)
    assert record == TLogRecord(42, 1714000000, 0, b"hello")
    assert end == 30


def test_settlement_frame_vector_appendix_b() -> None:
    payload = SettlementPayload(b"\xc1" * 32, b"\x5e" * 32, 100, 0).encode()
    frame = encode_frame(1, 1777118400, TLogKind.SETTLEMENT, payload)
    expected = (
        "00000061"
        "0000000000000001"
        "0000000069ecacc0"
        "00" + "c1" * 32 + "5e" * 32 + "0000000000000064"
        "00000000"
        "d98e6c99"
    )
    assert len(frame) == 101
    assert frame.hex() == expected


def test_dispute_frame_vector_appendix_b() -> None:
    payload = DisputePayload(b"\x11" * 32, False).encode()
    frame = encode_frame(2, 1777118400, TLogKind.DISPUTE_FILED, payload)
    assert frame.hex() == "0000003600000000000000020000000069ecacc001" + "11" * 32 + "005021d60c"
    assert len(frame) == 58


def test_snapshot_mark_payload_vector_appendix_b() -> None:
    payload = SnapshotMarkPayload(400, "/d/snap.00000000000000000400").encode()
    assert payload.hex() == "00000000000001900000001c" + b"/d/snap.00000000000000000400".hex()
    assert SnapshotMarkPayload.decode(payload) == SnapshotMarkPayload(400, "/d/snap.00000000000000000400")


def test_snapshot_mark_without_path_and_empty_path() -> None:
    assert SnapshotMarkPayload.decode(bytes(8)) == SnapshotMarkPayload(0, "")
    assert SnapshotMarkPayload(7, "").encode() == bytes(7) + b"\x07" + bytes(4)


@pytest.mark.parametrize(
    "payload",
    [
        SettlementPayload(b"\x01" * 32, b"\x02" * 32, 2**64 - 1, 0xFFFFFFFF),
        DisputePayload(b"\x03" * 32, True),
        DisputePayload(b"\x03" * 32, False),
        TransferPayload(b"\x04" * 32, 12345, 2),
        StarterGrantPayload(b"\x05" * 32, 1000),
        SnapshotMarkPayload(2**40, "/x/y"),
        OperatorOverridePayload("operator-7", "queue/drain", b'{"n":2}', 1714000000),
    ],
)
def test_payload_round_trip(payload: object) -> None:
    encoded = payload.encode()  # type: ignore[attr-defined]
    assert type(payload).decode(encoded) == payload  # type: ignore[attr-defined]
    # Readers accept trailing extra bytes.
    if not isinstance(payload, SnapshotMarkPayload | OperatorOverridePayload):
        assert type(payload).decode(encoded + b"\xff\xff") == payload  # type: ignore[attr-defined]


def test_payload_sizes() -> None:
    assert len(SettlementPayload(bytes(32), bytes(32), 1, 0).encode()) == 76
    assert len(DisputePayload(bytes(32), True).encode()) == 33
    assert len(TransferPayload(bytes(32), 1, 1).encode()) == 41
    assert len(StarterGrantPayload(bytes(32), 1).encode()) == 40


@pytest.mark.parametrize(
    "payload_type",
    [SettlementPayload, DisputePayload, SnapshotMarkPayload, TransferPayload, StarterGrantPayload],
)
def test_three_byte_payload_fails(payload_type: type) -> None:
    with pytest.raises(TLogPayloadError):
        payload_type.decode(b"abc")


def test_dispute_nonzero_byte_reads_as_upheld() -> None:
    assert DisputePayload.decode(bytes(32) + b"\x07").upheld is True


def test_operator_override_without_ts_and_bad_prefix() -> None:
    full = OperatorOverridePayload("op", "snapshot", b"{}", 99).encode()
    assert OperatorOverridePayload.decode(full[:-8]) == OperatorOverridePayload("op", "snapshot", b"{}", 0)
    with pytest.raises(TLogPayloadError):
        OperatorOverridePayload.decode(b"\x00\x00\x00\xffop")


def test_kind_names() -> None:
    names = [kind_name(kind) for kind in range(8)]
    assert names == [
        "settlement",
        "dispute_filed",
        "dispute_resolved",
        "heartbeat_bucket_roll",
        "snapshot_mark",
        "operator_override",
        "transfer",
        "starter_grant",
    ]
    assert kind_name(99) == "unknown(99)"


def test_decode_truncated_and_corrupt() -> None:
    frame = encode_frame(5, 1, 0, b"payload")
    for cut in (0, 10, 24, len(frame) - 1):
        with pytest.raises(TLogTruncatedError):
            decode_frame(frame[:cut])
    short_length = b"\x00\x00\x00\x05" + frame[4:]
    with pytest.raises(TLogTruncatedError):
        decode_frame(short_length)
    damaged = bytearray(frame)
    damaged[20] ^= 0xFF
    with pytest.raises(TLogCorruptError):
        decode_frame(bytes(damaged))


def test_negative_ts_round_trips() -> None:
    record, _ = decode_frame(encode_frame(1, -62135596800, 0, b""))
    assert record.ts == -62135596800
