"""The ASGI app behind `metrics.listen_addr`: `GET /metrics` (and HEAD) in the Prometheus text format.

Exposition itself is prometheus_client's `make_asgi_app` (content negotiation, gzip); this wrapper adds the
ASGI lifespan protocol Hypercorn speaks, a 404 for other paths and a 405 for other methods.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app

METRICS_PATH = "/metrics"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _plain_response(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *extra_headers]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _run_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def create_metrics_app(registry: CollectorRegistry) -> AsgiApp:
    """ASGI app serving `registry` at `GET /metrics`; 404 elsewhere, 405 (with `Allow`) for other methods."""
    exposition = make_asgi_app(registry)

    async def metrics_app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _run_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["path"] != METRICS_PATH:
            await _plain_response(send, 404, b"404 page not found\n", [])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _plain_response(send, 405, b"Method Not Allowed\n", [(b"allow", b"GET, HEAD")])
            return
        await exposition(scope, receive, send)

    return metrics_app
