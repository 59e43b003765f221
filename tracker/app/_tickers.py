"""The app's own periodic loop: the registry's stale-seeder sweep (admission's tickers belong to the
admission service). Built on `tracker._ticks.ticks` (first tick after one period, as the Go tickers); the
action is a synchronous call into the registry, so a tick never blocks the Trio thread on I/O.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tracker._ticks import ticks
from tracker.registry import Registry

REGISTRY_SWEEP_PERIOD_S = 30.0
_DEFAULT_HEARTBEAT_WINDOW_MINUTES = 10

_logger = logging.getLogger("tracker.app")


async def run_registry_sweep(
    registry: Registry, heartbeat_window_minutes: int, clock: Callable[[], float]
) -> None:
    """Every 30 s: remove seeders whose last heartbeat is older than `admission.heartbeat_window_minutes`
    (10 when ≤ 0, as Go)."""
    window_s = 60 * (
        heartbeat_window_minutes if heartbeat_window_minutes > 0 else _DEFAULT_HEARTBEAT_WINDOW_MINUTES
    )
    async for _ in ticks(REGISTRY_SWEEP_PERIOD_S):
        removed = registry.sweep(clock() - window_s)
        if removed:
            _logger.debug("registry: stale seeder sweep", extra={"removed": removed})
