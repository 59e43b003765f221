"""The admin access log: one line per HTTP request, written when the request ends, whatever answered it
(a route, the bearer guard, routing's 404/405, an error handler).

Fields: `method`, `path`, `status` (null when no response was started, e.g. the request was cancelled at
shutdown), `duration_ms`, `client` (peer address) and `operator` (the X-Operator-Id header, when sent). Never
a header value other than the operator id, so never the bearer token. Level: info; warn for 401, so failed
authentication stands out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, HTTPScope, Scope

from tracker.admin._auth import MAX_OPERATOR_ID_CHARS, OPERATOR_HEADER

__all__ = ["AccessLogMiddleware"]

AsgiApp = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]

_OPERATOR_HEADER = OPERATOR_HEADER.lower().encode("ascii")


def _operator(scope: HTTPScope) -> str | None:
    for name, value in scope["headers"]:
        if name == _OPERATOR_HEADER:
            operator = bytes(value).decode("utf-8", errors="replace").strip()
            return operator[:MAX_OPERATOR_ID_CHARS] or None
    return None


class AccessLogMiddleware:
    """ASGI middleware around the admin app (`app.asgi_app = AccessLogMiddleware(app.asgi_app, logger)`)."""

    def __init__(self, app: AsgiApp, logger: logging.Logger) -> None:
        self._app = app
        self._logger = logger

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def send_and_note_status(message: ASGISendEvent) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, send_and_note_status)
        finally:
            self._log(scope, status, time.perf_counter() - started)

    def _log(self, scope: HTTPScope, status: int | None, seconds: float) -> None:
        fields: dict[str, object] = {
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": round(seconds * 1000.0, 3),
        }
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        operator = _operator(scope)
        if operator is not None:
            fields["operator"] = operator
        level = logging.INFO if status is not None and status != 401 else logging.WARNING
        self._logger.log(level, "admin: request", extra=fields)
