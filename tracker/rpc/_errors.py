"""Handler errors and their wire mapping (rpc-broker §3.2): each RpcFailure carries the status, code and
message of the RpcResponse it becomes. Any other exception from a handler becomes INTERNAL / "INTERNAL" /
"internal error" (logged, never sent)."""

from __future__ import annotations

from tracker.rpc._wire import RpcStatus


class RpcFailure(Exception):
    """Root of the errors a handler raises to answer with a non-OK status."""

    status = RpcStatus.INTERNAL
    code = "INTERNAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(RpcFailure):
    status = RpcStatus.INVALID
    code = "INVALID"


class NoCapacityError(RpcFailure):
    status = RpcStatus.NO_CAPACITY
    code = "NO_CAPACITY"


class FrozenError(RpcFailure):
    status = RpcStatus.FROZEN
    code = "FROZEN"


class NotFoundError(RpcFailure):
    status = RpcStatus.NOT_FOUND
    code = "NOT_FOUND"


class UnauthenticatedError(RpcFailure):
    status = RpcStatus.UNAUTHENTICATED
    code = "UNAUTHENTICATED"


class NotImplementedRpc(RpcFailure):
    """The method's subsystem does not exist yet: INTERNAL / NOT_IMPLEMENTED / "<rpc> handler awaiting
    subsystem"."""

    code = "NOT_IMPLEMENTED"

    def __init__(self, rpc: str) -> None:
        super().__init__(f"{rpc} handler awaiting subsystem")
