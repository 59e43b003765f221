"""Method dispatch: RpcRequest.method → handler, and handler results/errors → RpcResponse bytes
(rpc-broker §3.1, §3.2). Router-level codes: METHOD_ZERO_RESERVED and UNKNOWN_METHOD. Handlers return a
protobuf message (its deterministic bytes become the OK payload) or None (OK, empty payload), or raise an
RpcFailure. Knows no subsystem."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from google.protobuf.message import DecodeError, Message

from tracker.rpc._errors import InvalidArgument, RpcFailure
from tracker.rpc._peers import Peer
from tracker.rpc._wire import RpcMethod, RpcStatus, error_response, ok_response

logger = logging.getLogger("tracker.rpc")

MethodHandler = Callable[[Peer, bytes], Awaitable[Message | None]]
_M = TypeVar("_M", bound=Message)

_METHOD_ZERO = error_response(
    RpcStatus.INVALID, "METHOD_ZERO_RESERVED", "method 0 reserved for heartbeat channel"
).SerializeToString(deterministic=True)
_INTERNAL = error_response(RpcStatus.INTERNAL, "INTERNAL", "internal error").SerializeToString(
    deterministic=True
)


def parse_payload(message_type: type[_M], payload: bytes) -> _M:
    """Decode a request payload; INVALID "<Type>: <parse error>" when it does not parse."""
    message = message_type()
    try:
        message.ParseFromString(payload)
    except DecodeError as error:
        raise InvalidArgument(f"{message_type.__name__}: {error}") from None
    return message


def require_length(name: str, value: bytes, want: int) -> None:
    """INVALID "<name> length N, want M" unless len(value) == want (the Go handlers' message)."""
    if len(value) != want:
        raise InvalidArgument(f"{name} length {len(value)}, want {want}")


class Router:
    """Dispatches to `handlers` (by method number) and encodes the outcome."""

    def __init__(self, handlers: Mapping[RpcMethod, MethodHandler]) -> None:
        self._handlers = {int(method): handler for method, handler in handlers.items()}

    async def dispatch(self, peer: Peer, method: int, payload: bytes) -> bytes:
        if method == RpcMethod.UNSPECIFIED:
            return _METHOD_ZERO
        handler = self._handlers.get(method)
        if handler is None:
            return error_response(RpcStatus.INVALID, "UNKNOWN_METHOD", str(method)).SerializeToString(
                deterministic=True
            )
        try:
            result = await handler(peer, payload)
        except RpcFailure as failure:
            return error_response(failure.status, failure.code, failure.message).SerializeToString(
                deterministic=True
            )
        except Exception:
            logger.exception(
                "rpc: method failed", extra={"method": method, "peer_id": peer.canonical_id.hex()}
            )
            return _INTERNAL
        body = b"" if result is None else result.SerializeToString(deterministic=True)
        return ok_response(body).SerializeToString(deterministic=True)
