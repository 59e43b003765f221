"""Errors of the peer client: connection failures and one exception per non-OK RPC status."""

from __future__ import annotations


class ClientError(Exception):
    """Root of every error the peer client raises."""


class ConnectError(ClientError):
    """The connection could not be set up or was closed; `error_code` and `reason` are the QUIC close
    code and reason phrase when the peer (or the library) closed it."""

    def __init__(self, message: str, *, error_code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.error_code = error_code
        self.reason = reason


class PinMismatch(ConnectError):
    """The tracker's certificate SPKI hash is not the configured pin."""


class ConnectionLost(ConnectError):
    """The connection closed while an RPC was waiting for its answer."""


class RpcCallError(ClientError):
    """The tracker answered an RPC with a non-OK status."""

    status_name = "UNSPECIFIED"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{self.status_name} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class InvalidRequest(RpcCallError):
    status_name = "INVALID"


class NoCapacity(RpcCallError):
    status_name = "NO_CAPACITY"


class Frozen(RpcCallError):
    status_name = "FROZEN"


class InternalError(RpcCallError):
    status_name = "INTERNAL"


class Unauthenticated(RpcCallError):
    status_name = "UNAUTHENTICATED"


class NotFound(RpcCallError):
    status_name = "NOT_FOUND"


class InvalidResponse(RpcCallError):
    """The response failed the Go client's ValidateRPCResponse (bad status, or no error code)."""

    status_name = "INVALID_RESPONSE"


ERROR_BY_STATUS: dict[int, type[RpcCallError]] = {
    2: InvalidRequest,
    3: NoCapacity,
    4: Frozen,
    5: InternalError,
    6: Unauthenticated,
    7: NotFound,
}
