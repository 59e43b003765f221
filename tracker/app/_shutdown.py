"""Shutdown requests: the first SIGINT/SIGTERM/SIGHUP or `POST /maintenance` starts a graceful drain; a second
signal forces a fast exit. SIGHUP is a graceful stop (not a reload): a tracker whose terminal or session goes
away drains and exits 0, and a supervisor's restart policy brings it back with the config re-read. Only state
and waiting live here; the supervisor decides what draining means."""

from __future__ import annotations

import logging
import signal
from dataclasses import dataclass, field

import trio

from tracker.app._systemd_notify import notify

SHUTDOWN_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@dataclass
class ShutdownController:
    """Two one-way latches: `requested` (drain gracefully) and `forced` (stop draining, exit fast).

    `request()` and `force()` are synchronous and idempotent so they can be handed to the admin app as its
    `request_shutdown` callback; they must be called on the Trio thread."""

    logger: logging.Logger
    reason: str | None = None
    _requested: trio.Event = field(default_factory=trio.Event)
    _forced: trio.Event = field(default_factory=trio.Event)

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    @property
    def forced(self) -> bool:
        return self._forced.is_set()

    def request(self, reason: str = "maintenance") -> None:
        if self._requested.is_set():
            return
        self.reason = reason
        self.logger.info("tracker: shutdown requested, draining", extra={"reason": reason})
        self._requested.set()
        notify("STOPPING=1")

    def request_from_admin(self) -> None:
        """The admin app's `request_shutdown` (POST /maintenance)."""
        self.request("maintenance")

    def force(self, reason: str) -> None:
        if self._forced.is_set():
            return
        self.request(reason)
        self.logger.warning("tracker: second shutdown signal, forcing a fast exit", extra={"reason": reason})
        self._forced.set()

    async def wait_requested(self) -> None:
        await self._requested.wait()

    async def wait_forced(self) -> None:
        await self._forced.wait()


async def watch_signals(
    controller: ShutdownController, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
) -> None:
    """Turn SIGINT/SIGTERM/SIGHUP into shutdown requests for as long as this task runs (start it first and let
    it live until teardown ends, so a signal during the final flush is counted, not fatal)."""
    with trio.open_signal_receiver(*SHUTDOWN_SIGNALS) as signals:
        task_status.started()
        async for signal_number in signals:
            name = signal.Signals(signal_number).name
            if controller.requested:
                controller.force(name)
            else:
                controller.request(name)
