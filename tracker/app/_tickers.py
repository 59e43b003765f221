"""The app's own periodic loops: admission aggregator, queue-timeout sweep, registry stale-seeder sweep.

Each is a plain `while True: sleep; act` loop (first tick after one period, as the Go tickers) whose action
is a synchronous call into a pure core, so a tick never blocks the Trio thread on I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import trio

AGGREGATE_PERIOD_S = 5.0
QUEUE_TIMEOUT_SWEEP_PERIOD_S = 1.0
REGISTRY_SWEEP_PERIOD_S = 30.0
_DEFAULT_HEARTBEAT_WINDOW_MINUTES = 10

_logger = logging.getLogger("tracker.app")


async def run_every(period_s: float, action: Callable[[], None]) -> None:
    """Call `action()` every `period_s` seconds (not at t=0) until cancelled. The schedule is absolute, so a
    slow action does not make the ticker drift; an overrun tick runs immediately."""
    next_tick = trio.current_time() + period_s
    while True:
        await trio.sleep_until(next_tick)
        action()
        next_tick = max(next_tick + period_s, trio.current_time())


async def run_admission_aggregator(core: Any, clock: Callable[[], float]) -> None:
    """Every 5 s: recompute supply and pressure from the registry and publish them (gauges, status)."""
    await run_every(AGGREGATE_PERIOD_S, lambda: core.aggregate(clock()))


async def run_queue_timeout_sweep(core: Any, clock: Callable[[], float]) -> None:
    """Every second: queue entries that waited `admission.queue_timeout_s` leave with REJECT QUEUE_TIMEOUT."""

    def sweep() -> None:
        expired = core.sweep_queue_timeouts(clock())
        if expired:
            _logger.debug("admission: queue timeouts", extra={"rejected": len(expired)})

    await run_every(QUEUE_TIMEOUT_SWEEP_PERIOD_S, sweep)


async def run_registry_sweep(
    registry: Any, heartbeat_window_minutes: int, clock: Callable[[], float]
) -> None:
    """Every 30 s: remove seeders whose last heartbeat is older than `admission.heartbeat_window_minutes`
    (10 when ≤ 0, as Go)."""
    window_s = 60 * (
        heartbeat_window_minutes if heartbeat_window_minutes > 0 else _DEFAULT_HEARTBEAT_WINDOW_MINUTES
    )

    def sweep() -> None:
        removed = registry.sweep(clock() - window_s)
        if removed:
            _logger.debug("registry: stale seeder sweep", extra={"removed": removed})

    await run_every(REGISTRY_SWEEP_PERIOD_S, sweep)
