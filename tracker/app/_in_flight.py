"""Counting HTTP requests in flight, so a graceful drain can end as soon as the last response is sent.

Hypercorn (0.18) leaves a keep-alive connection hanging until `graceful_timeout` when the client had already
sent its next request when shutdown began (the h11 reader waits on an event nobody sets again). The supervisor
therefore closes the servers itself once no request is being handled, instead of waiting out the grace period.
"""

from __future__ import annotations

import trio
from hypercorn.typing import ASGIFramework, ASGIReceiveCallable, ASGISendCallable, Scope


class InFlightRequests:
    """Wraps ASGI apps; `count` is the number of HTTP requests whose handler has not returned yet."""

    def __init__(self) -> None:
        self.count = 0
        self._idle = trio.Event()
        self._idle.set()

    def wrap(self, app: ASGIFramework) -> ASGIFramework:
        async def counted(scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            if self.count == 0:
                self._idle = trio.Event()
            self.count += 1
            try:
                await app(scope, receive, send)
            finally:
                self.count -= 1
                if self.count == 0:
                    self._idle.set()

        return counted

    async def wait_idle(self) -> None:
        """Return once no request is in flight (at once if none is)."""
        while self.count:
            await self._idle.wait()
