"""Frames and shells of the plugin RPC protocol (rpc-broker §1.4, §1.6, §2): the 4-byte big-endian length
prefix, the incremental frame reader, the classification of a client stream by its first frame, and the
error replies the transport itself writes.

Pure: bytes in, bytes or values out. Nothing here knows about QUIC, Trio, ledgers or brokers.
"""

from __future__ import annotations

import enum
import struct
from typing import cast

from tracker._proto import rpc_pb2
from tracker._proto.rpc_pb2 import HeartbeatPing, HeartbeatPong, RpcError, RpcRequest, RpcResponse

FRAME_HEADER_SIZE = 4
DEFAULT_MAX_FRAME_SIZE = 1 << 20
PUSH_TAG_OFFER = 0x01
PUSH_TAG_SETTLEMENT = 0x02
_HEADER = struct.Struct(">I")


class RpcStatus(enum.IntEnum):
    """RpcResponse.status (rpc-broker §2.1)."""

    UNSPECIFIED = 0
    OK = 1
    INVALID = 2
    NO_CAPACITY = 3
    FROZEN = 4
    INTERNAL = 5
    UNAUTHENTICATED = 6
    NOT_FOUND = 7


class RpcMethod(enum.IntEnum):
    """RpcRequest.method (rpc-broker §2.1); 0 marks the heartbeat channel and is never a valid RPC."""

    UNSPECIFIED = 0
    ENROLL = 1
    BROKER_REQUEST = 2
    BALANCE = 3
    SETTLE = 4
    USAGE_REPORT = 5
    ADVERTISE = 6
    TRANSFER_REQUEST = 7
    STUN_ALLOCATE = 8
    TURN_RELAY_OPEN = 9
    BOOTSTRAP_PEERS = 10


class FrameTooLarge(Exception):
    """A frame header declared (or a writer asked for) more than the maximum frame size."""

    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"frame exceeds max size: {length} > {limit}")
        self.length = length
        self.limit = limit


def encode_frame(body: bytes, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """`body` with its 4-byte big-endian length. Raises FrameTooLarge beyond `max_frame_size`."""
    if len(body) > max_frame_size:
        raise FrameTooLarge(len(body), max_frame_size)
    return _HEADER.pack(len(body)) + body


def encode_message(message: object, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """The frame of a protobuf message's deterministic serialization."""
    return encode_frame(message.SerializeToString(deterministic=True), max_frame_size)  # type: ignore[attr-defined]


class FrameReader:
    """Splits a byte stream into frame bodies. Feed bytes with `feed`; `next_frame()` returns the next
    complete body or None. A header above the limit raises FrameTooLarge as soon as its 4 bytes are in,
    before any of the body is buffered.

    Bytes fed to an empty reader are kept as they are and sliced, not copied into a buffer: a unary RPC's
    request usually arrives whole in one piece."""

    __slots__ = ("_buffer", "_limit", "_need")

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self._buffer: bytes | bytearray = b""
        self._limit = max_frame_size
        self._need: int | None = None

    def feed(self, data: bytes) -> None:
        if not self._buffer:
            self._buffer = data
        elif isinstance(self._buffer, bytearray):
            self._buffer += data
        else:
            self._buffer = bytearray(self._buffer) + data

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def next_frame(self) -> bytes | None:
        buffer = self._buffer
        need = self._need
        if need is None:
            if len(buffer) < FRAME_HEADER_SIZE:
                return None
            (need,) = _HEADER.unpack_from(buffer)
            if need > self._limit:
                raise FrameTooLarge(need, self._limit)
            end = FRAME_HEADER_SIZE + need
            if len(buffer) < end:
                self._need = need
                self._buffer = buffer[FRAME_HEADER_SIZE:]
                return None
            body = bytes(buffer[FRAME_HEADER_SIZE:end])
        else:
            if len(buffer) < need:
                return None
            self._need = None
            end = need
            body = bytes(buffer[:end])
        self._buffer = buffer[end:] if len(buffer) > end else b""
        return body

    def take_byte(self) -> int | None:
        """The next raw byte (a push stream's tag, which has no length prefix); None if none is buffered."""
        if self._need is not None or not self._buffer:
            return None
        tag = self._buffer[0]
        self._buffer = self._buffer[1:]
        return tag


def _read_varint(data: bytes, offset: int) -> tuple[int, int] | None:
    value = 0
    for shift in range(0, 70, 7):
        if offset >= len(data):
            return None
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
    return None


def is_heartbeat_frame(body: bytes) -> bool:
    """Whether a client stream's first frame makes it the heartbeat stream (spec README, "how the heartbeat
    stream is found"): a HeartbeatPing carries field 2 (`t`, unix ms) as a non-zero varint, an RpcRequest
    carries field 2 (`payload`) as bytes or omits it. Scans the top-level fields only; anything malformed is
    "not a heartbeat" (it is then answered as an RPC, with FRAME)."""
    # Fast path for every well-formed RPC (once per RPC): exactly `method` (a one-byte varint) then `payload`
    # up to the end of the frame, so there is no field-2 varint anywhere; anything else takes the full scan.
    if len(body) > 3 and body[0] == 0x08 and body[1] < 0x80 and body[2] == 0x12:
        if body[3] < 0x80:  # a payload under 128 bytes: its length is one byte
            if body[3] + 4 == len(body):
                return False
        else:
            length = _read_varint(body, 3)
            if length is not None and length[0] + length[1] == len(body):
                return False
    return _scan_for_heartbeat(body)


def _scan_for_heartbeat(body: bytes) -> bool:
    offset = 0
    while offset < len(body):
        key = _read_varint(body, offset)
        if key is None:
            return False
        tag, offset = key
        field, wire_type = tag >> 3, tag & 7
        if wire_type == 0:
            value = _read_varint(body, offset)
            if value is None:
                return False
            number, offset = value
            if field == 2:
                return number != 0
        elif wire_type == 2:
            length = _read_varint(body, offset)
            if length is None:
                return False
            size, offset = length
            offset += size
            if offset > len(body):
                return False
        elif wire_type == 1:
            offset += 8
        elif wire_type == 5:
            offset += 4
        else:
            return False
    return False


def _wire_status(status: RpcStatus) -> rpc_pb2.RpcStatus:
    # The generated stubs type enum fields as their own int subclass; the value is the same integer.
    return cast(rpc_pb2.RpcStatus, int(status))


def error_response(status: RpcStatus, code: str, message: str) -> RpcResponse:
    return RpcResponse(status=_wire_status(status), error=RpcError(code=code, message=message))


def ok_response(payload: bytes) -> RpcResponse:
    return RpcResponse(status=_wire_status(RpcStatus.OK), payload=payload)


def frame_error_response(detail: str) -> RpcResponse:
    """The transport's reply to a frame it cannot take: INVALID / FRAME / "server: <detail>"."""
    return error_response(RpcStatus.INVALID, "FRAME", f"server: {detail}")


def pong_for(ping: HeartbeatPing) -> HeartbeatPong:
    return HeartbeatPong(seq=ping.seq)


def parse_request(body: bytes) -> RpcRequest:
    """Decode an RpcRequest; raises google.protobuf.message.DecodeError on malformed bytes."""
    request = RpcRequest()
    request.ParseFromString(body)
    return request
