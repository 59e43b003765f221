"""`ticks(period_s)`: the one ticker style of the tracker, built on `trio_util.periodic`.

Every periodic task (admission fsync/snapshot/aggregator/queue sweep, registry sweep, ledger merkle roll-up)
is `async for _ in ticks(period): act()`. As Go's `time.Ticker`, the first tick comes after one period, not at
t=0; the schedule does not drift with the time the action takes, and an overrun tick runs immediately.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from trio_util import periodic

__all__ = ["ticks"]


async def ticks(period_s: float) -> AsyncIterator[None]:
    """Yield once every `period_s` seconds, starting one period from now, until the caller stops."""
    schedule = periodic(period_s)
    await anext(schedule)  # periodic's first iteration is immediate; a ticker's is not
    async for _ in schedule:
        yield
