"""Admission tlog byte format (admission.md §7.1–§7.3): the CRC-32C frame and every per-kind payload.

Pure bytes in / bytes out, byte-identical to the Go tracker. All integers are big-endian.

    u32 length | u64 seq | u64 ts | u8 kind | payload | u32 crc32c

`length` covers seq..crc (= 21 + len(payload)); the CRC-32C (Castagnoli) covers seq..payload.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import google_crc32c

from tracker.admission._errors import TLogCorruptError, TLogError, TLogPayloadError, TLogTruncatedError

__all__ = [
    "FRAME_CRC",
    "FRAME_CRC_FIELD",
    "FRAME_HEADER",
    "FRAME_HEADER_FIELDS",
    "FRAME_HEADER_SIZE",
    "FRAME_LENGTH",
    "FRAME_OVERHEAD",
    "FRAME_SEQ_TS_KIND",
    "ID_WORDS",
    "MAX_FRAME_LENGTH",
    "MIN_FRAME_LENGTH",
    "SETTLEMENT_FIELDS",
    "SETTLEMENT_PAYLOAD",
    "SETTLEMENT_PAYLOAD_SIZE",
    "STARTER_GRANT_FIELDS",
    "TRANSFER_FIELDS",
    "DisputePayload",
    "OperatorOverridePayload",
    "SettlementPayload",
    "SnapshotMarkPayload",
    "StarterGrantPayload",
    "TLogCorruptError",
    "TLogError",
    "TLogKind",
    "TLogPayloadError",
    "TLogRecord",
    "TLogTruncatedError",
    "TransferDirection",
    "TransferPayload",
    "crc32c",
    "crc32c_of_range",
    "decode_frame",
    "encode_frame",
    "kind_name",
]

crc32c: Callable[[bytes], int] = google_crc32c.value
"""CRC-32C (Castagnoli) of a bytes-like object, as an unsigned int."""

_CRC_CHUNK = 1 << 22


def crc32c_of_range(data: bytes | mmap.mmap, start: int, end: int) -> int:
    """CRC-32C of `data[start:end]` for any buffer, a memory-mapped file included, copying at most 4 MiB at
    a time (google-crc32c takes only read-only bytes)."""
    if isinstance(data, bytes) and end - start <= _CRC_CHUNK:
        return crc32c(data[start:end])
    crc = 0
    for chunk_start in range(start, end, _CRC_CHUNK):
        crc = google_crc32c.extend(crc, bytes(data[chunk_start : min(chunk_start + _CRC_CHUNK, end)]))
    return int(crc)


# --- the frame (§7.1): the only declaration of its layout; writer, reader, replay and bulk use these -------

FRAME_HEADER_SIZE = 21  # length(4) + seq(8) + ts(8) + kind(1)
FRAME_OVERHEAD = 25  # header + crc(4)
MIN_FRAME_LENGTH = 21  # the length field of a frame with an empty payload
MAX_FRAME_LENGTH = 1 << 20
"""The largest length field a frame may carry (1 MiB; the writer refuses bigger records). Bounds what a torn
tail can be ("one maximum frame of the end") and which offsets resynchronisation after damage tries."""
_U64 = 0xFFFFFFFFFFFFFFFF

FRAME_LENGTH = struct.Struct(">I")
"""The u32 length prefix (covers seq..crc)."""
FRAME_SEQ_TS_KIND = struct.Struct(">QQB")
"""seq, ts, kind as written (ts masked to u64)."""
FRAME_HEADER = struct.Struct(">IQqB")
"""length, seq, ts, kind as read (ts as Go's signed `time.Unix` seconds)."""
FRAME_CRC = struct.Struct(">I")
"""The u32 CRC-32C trailer over seq..payload."""
FRAME_HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("length", ">u4"),
    ("seq", ">u8"),
    ("ts", ">i8"),
    ("kind", "u1"),
)
"""The header as numpy dtype fields (persistence/bulk builds its frame dtypes from these)."""
FRAME_CRC_FIELD = ("crc", ">u4")

_LENGTH = FRAME_LENGTH
_SEQ_TS_KIND = FRAME_SEQ_TS_KIND
_SIGNED_SEQ_TS_KIND = struct.Struct(">QqB")
_CRC = FRAME_CRC
_U32 = struct.Struct(">I")
_U64_STRUCT = struct.Struct(">Q")


class TLogKind(IntEnum):
    SETTLEMENT = 0
    DISPUTE_FILED = 1
    DISPUTE_RESOLVED = 2
    HEARTBEAT_BUCKET_ROLL = 3
    SNAPSHOT_MARK = 4
    OPERATOR_OVERRIDE = 5
    TRANSFER = 6
    STARTER_GRANT = 7


_KIND_NAMES = {
    0: "settlement",
    1: "dispute_filed",
    2: "dispute_resolved",
    3: "heartbeat_bucket_roll",
    4: "snapshot_mark",
    5: "operator_override",
    6: "transfer",
    7: "starter_grant",
}


def kind_name(kind: int) -> str:
    """The Go string name of a kind; `unknown(N)` for anything outside 0..7."""
    return _KIND_NAMES.get(kind, f"unknown({kind})")


@dataclass(frozen=True, slots=True)
class TLogRecord:
    """One decoded frame. `ts` is unix seconds (the u64 on disk read as a signed i64, as Go's `time.Unix`)."""

    seq: int
    ts: int
    kind: int
    payload: bytes


def encode_frame(seq: int, ts: int, kind: int, payload: bytes) -> bytes:
    """The full frame bytes for one record."""
    body = _SEQ_TS_KIND.pack(seq, ts & _U64, kind) + payload
    return _LENGTH.pack(len(body) + 4) + body + _CRC.pack(crc32c(body))


def decode_frame(data: bytes | memoryview, offset: int = 0) -> tuple[TLogRecord, int]:
    """Decode the frame starting at `offset`; returns (record, offset of the next frame).

    Raises TLogTruncatedError when fewer than 25 bytes remain, when the declared frame runs past the end, or
    when the declared length is < 21; TLogCorruptError when the frame is complete but its CRC does not match.
    """
    available = len(data) - offset
    if available < FRAME_OVERHEAD:
        raise TLogTruncatedError()
    (length,) = _LENGTH.unpack_from(data, offset)
    end = offset + 4 + length
    if length < MIN_FRAME_LENGTH or end > len(data):
        raise TLogTruncatedError()
    (stored_crc,) = _CRC.unpack_from(data, end - 4)
    if crc32c(bytes(data[offset + 4 : end - 4])) != stored_crc:
        raise TLogCorruptError()
    seq, ts, kind = _SIGNED_SEQ_TS_KIND.unpack_from(data, offset + 4)
    return TLogRecord(seq, ts, kind, bytes(data[offset + FRAME_HEADER_SIZE : end - 4])), end


# --- payloads (§7.3)
# ------------------------------------------------------------------------------------------


def _require(payload: bytes, minimum: int, what: str) -> None:
    if len(payload) < minimum:
        raise TLogPayloadError(
            f"admission/tlog: {what} payload is {len(payload)} bytes, want at least {minimum}"
        )


SETTLEMENT_PAYLOAD = struct.Struct(">32s32sQI")
"""Kind 0: consumer_id, seeder_id, cost, flags."""
SETTLEMENT_PAYLOAD_SIZE = SETTLEMENT_PAYLOAD.size  # 76
ID_WORDS = 4
"""An identity as numpy numbers: 4 little-endian u64 words (for sorting and comparing only)."""
SETTLEMENT_FIELDS = (
    ("consumer", "<u8", (ID_WORDS,)),
    ("seeder", "<u8", (ID_WORDS,)),
    ("cost", ">u8"),
    ("flags", ">u4"),
)
"""Kind 0 payload as numpy dtype fields."""
TRANSFER_FIELDS = (("consumer", "<u8", (ID_WORDS,)), ("cost", ">u8"), ("direction", "u1"))
"""Kind 6 payload as numpy dtype fields."""
STARTER_GRANT_FIELDS = (("consumer", "<u8", (ID_WORDS,)), ("cost", ">u8"))
"""Kind 7 payload as numpy dtype fields."""
_SETTLEMENT = SETTLEMENT_PAYLOAD


@dataclass(frozen=True, slots=True)
class SettlementPayload:
    """Kind 0 (76 bytes): consumer_id[32] ‖ seeder_id[32] ‖ cost u64 ‖ flags u32."""

    consumer_id: bytes
    seeder_id: bytes
    cost: int
    flags: int

    SIZE = SETTLEMENT_PAYLOAD_SIZE

    def encode(self) -> bytes:
        return _SETTLEMENT.pack(self.consumer_id, self.seeder_id, self.cost & _U64, self.flags & 0xFFFFFFFF)

    @classmethod
    def decode(cls, payload: bytes) -> SettlementPayload:
        _require(payload, SETTLEMENT_PAYLOAD_SIZE, "settlement")
        return cls(*_SETTLEMENT.unpack_from(payload))


@dataclass(frozen=True, slots=True)
class DisputePayload:
    """Kinds 1 and 2 (33 bytes): consumer_id[32] ‖ upheld u8 (any nonzero byte reads as true)."""

    consumer_id: bytes
    upheld: bool

    def encode(self) -> bytes:
        return self.consumer_id + (b"\x01" if self.upheld else b"\x00")

    @classmethod
    def decode(cls, payload: bytes) -> DisputePayload:
        _require(payload, 33, "dispute")
        return cls(bytes(payload[:32]), payload[32] != 0)


class TransferDirection(IntEnum):
    IN = 1
    OUT = 2


_TRANSFER = struct.Struct(">32sQB")


@dataclass(frozen=True, slots=True)
class TransferPayload:
    """Kind 6 (41 bytes): consumer_id[32] ‖ cost u64 ‖ direction u8 (1 = in, 2 = out)."""

    consumer_id: bytes
    cost: int
    direction: int

    def encode(self) -> bytes:
        return _TRANSFER.pack(self.consumer_id, self.cost & _U64, self.direction & 0xFF)

    @classmethod
    def decode(cls, payload: bytes) -> TransferPayload:
        _require(payload, 41, "transfer")
        return cls(*_TRANSFER.unpack_from(payload))


_STARTER = struct.Struct(">32sQ")


@dataclass(frozen=True, slots=True)
class StarterGrantPayload:
    """Kind 7 (40 bytes): consumer_id[32] ‖ cost u64."""

    consumer_id: bytes
    cost: int

    def encode(self) -> bytes:
        return _STARTER.pack(self.consumer_id, self.cost & _U64)

    @classmethod
    def decode(cls, payload: bytes) -> StarterGrantPayload:
        _require(payload, 40, "starter_grant")
        return cls(*_STARTER.unpack_from(payload))


def _read_prefixed(payload: bytes, offset: int, what: str) -> tuple[bytes, int]:
    if len(payload) - offset < 4:
        raise TLogPayloadError(f"admission/tlog: {what} length prefix truncated")
    (size,) = _U32.unpack_from(payload, offset)
    start = offset + 4
    if len(payload) - start < size:
        raise TLogPayloadError(
            f"admission/tlog: {what} length {size} exceeds the remaining {len(payload) - start}"
        )
    return bytes(payload[start : start + size]), start + size


@dataclass(frozen=True, slots=True)
class SnapshotMarkPayload:
    """Kind 4: snapshot_seq u64 ‖ [u32 len ‖ path]. The path is always written; read only if present."""

    snapshot_seq: int
    path: str

    def encode(self) -> bytes:
        path = self.path.encode()
        return _U64_STRUCT.pack(self.snapshot_seq & _U64) + _U32.pack(len(path)) + path

    @classmethod
    def decode(cls, payload: bytes) -> SnapshotMarkPayload:
        _require(payload, 8, "snapshot_mark")
        (seq,) = _U64_STRUCT.unpack_from(payload)
        path = b""
        if len(payload) > 8:
            path, _ = _read_prefixed(payload, 8, "snapshot_mark path")
        return cls(seq, path.decode(errors="replace"))


@dataclass(frozen=True, slots=True)
class OperatorOverridePayload:
    """Kind 5: [u32 len ‖ operator_id] ‖ [u32 len ‖ action] ‖ [u32 len ‖ params JSON] ‖ ts i64 (optional)."""

    operator_id: str
    action: str
    params: bytes
    ts: int

    def encode(self) -> bytes:
        parts = []
        for field in (self.operator_id.encode(), self.action.encode(), self.params):
            parts.append(_U32.pack(len(field)))
            parts.append(field)
        parts.append(_U64_STRUCT.pack(self.ts & _U64))
        return b"".join(parts)

    @classmethod
    def decode(cls, payload: bytes) -> OperatorOverridePayload:
        operator_id, offset = _read_prefixed(payload, 0, "operator_override operator_id")
        action, offset = _read_prefixed(payload, offset, "operator_override action")
        params, offset = _read_prefixed(payload, offset, "operator_override params")
        ts = 0
        if len(payload) - offset >= 8:
            (ts,) = struct.unpack_from(">q", payload, offset)
        return cls(operator_id.decode(errors="replace"), action.decode(errors="replace"), params, ts)
