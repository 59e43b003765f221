"""`run_in_worker_thread(function)`: one blocking call (a disk write and its fsync) on one of Trio's cached
worker threads, started at once and not cancellable. Imports nothing from the package.

For writers that take bytes out of memory and must put them on disk: with `trio.to_thread.run_sync`, a
cancellation that arrives before the thread starts (it checks for one first, and waiting for its limiter is
a checkpoint too) raises before the write, and what the caller took from its buffer would be lost. Here the
call starts before any checkpoint and the caller always learns its outcome. It is also cheaper on the Trio
thread (no limiter, no cancel scope, no context copy: about half the hand-off cost), which matters for the
ledger's writer and the tlog's fsync ticker, the two hops of every brokered request and settlement.
No limiter: each caller runs at most one call at a time (the ledger's writer flag, the tlog's flush lock).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import trio

if TYPE_CHECKING:
    import outcome

__all__ = ["run_in_worker_thread"]

_T = TypeVar("_T")


def _not_abortable(_: object) -> trio.lowlevel.Abort:
    return trio.lowlevel.Abort.FAILED


async def run_in_worker_thread(function: Callable[[], _T]) -> _T:
    """`function()` on a worker thread; returns its result or raises its exception. Not a cancellation point:
    once called, the caller waits for the function to finish, however the enclosing scopes are cancelled
    (like a shielded `trio.to_thread.run_sync`, and without its checkpoint before the thread starts)."""
    task = trio.lowlevel.current_task()
    token = trio.lowlevel.current_trio_token()

    def deliver(result: outcome.Outcome[_T]) -> None:
        token.run_sync_soon(trio.lowlevel.reschedule, task, result)

    trio.lowlevel.start_thread_soon(function, deliver)
    return await trio.lowlevel.wait_task_rescheduled(_not_abortable)  # type: ignore[no-any-return]
