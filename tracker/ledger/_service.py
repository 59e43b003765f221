"""The Trio façade of the ledger: `open_ledger(...)` → `AsyncLedger`.

All SQLite work runs off the Trio thread. Appends (and the consumer countersignatures of USAGE entries, which
share the writer and its group commit): when no batch is being written and none is queued, the caller hands
its lone write straight to a worker thread (no committer task, no events); otherwise it queues, and one
committer task hands the queue to a worker thread as one batch (group commit: every write queued while the
previous batch was being written goes into the next transaction, one fsync for all of them). Reads run on a
second worker thread (WAL lets them run beside the writer). Subscribers run on the Trio thread.

Signed balance snapshots need no read at all: a `BalanceView` (every identity's credits, loaded from the
projection at open) is advanced on the Trio thread with each committed entry, in commit order, before the
subscribers run; a snapshot is a dict lookup and one Ed25519 signature over the credits and the view's own
tip, which always belong together.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, TypeVar

import trio

from tracker._proto.balance_pb2 import SignedBalanceSnapshot
from tracker._ticks import ticks
from tracker._worker_thread import run_in_worker_thread
from tracker.ledger._balance_view import BalanceView
from tracker.ledger._errors import LedgerClosed, LedgerError
from tracker.ledger._ledger import Ledger
from tracker.ledger._merkle import SECONDS_PER_HOUR
from tracker.ledger._metrics import LedgerMetrics
from tracker.ledger._prepare import check_identity_id
from tracker.ledger._records import (
    BrokeredUsageRecord,
    CommittedEntry,
    CountersignatureRecord,
    CountersignatureRecorded,
    StarterGrantRequest,
    Tip,
    TransferInRecord,
    TransferOutRecord,
    UsageRecord,
    WriteRequest,
)
from tracker.ledger._store import DEFAULT_SYNCHRONOUS, BalanceRow

logger = logging.getLogger("tracker.ledger")

DEFAULT_MAX_BATCH_SIZE = 512
_T = TypeVar("_T")

Subscriber = Callable[[CommittedEntry], object]
"""Called on the Trio thread with each committed entry, in commit order; its return value is ignored."""

_KIND_OF_REQUEST = {
    StarterGrantRequest: "starter_grant",
    UsageRecord: "usage",
    TransferOutRecord: "transfer_out",
    TransferInRecord: "transfer_in",
    CountersignatureRecord: None,  # not an entry: no ledger_appends sample
}


class _PendingAppend:
    __slots__ = ("done", "kind", "request", "result", "started", "taken")

    def __init__(self, request: WriteRequest, started: float, done: trio.Event | None) -> None:
        self.request = request
        self.kind = _KIND_OF_REQUEST.get(type(request), "usage")
        self.started = started
        self.done = done
        self.result: CommittedEntry | CountersignatureRecorded | BaseException | None = None
        self.taken = False


class AsyncLedger:
    """Async access to a `Ledger` from Trio tasks. Obtain one from `open_ledger`; do not construct directly.

    Cancellation of an append: if the request was not yet handed to the committer it is withdrawn (nothing is
    written); once handed over it is committed or rejected regardless, and subscribers still see it."""

    def __init__(
        self,
        core: Ledger,
        *,
        metrics: LedgerMetrics | None,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        balance_view: BalanceView | None = None,
    ) -> None:
        self._core = core
        self._view = balance_view
        self._metrics = metrics
        self._max_batch_size = max_batch_size
        self._pending: deque[_PendingAppend] = deque()
        self._wakeup = trio.Event()
        self._writing = False
        self._last_batch_size = 1
        self._read_limiter = trio.CapacityLimiter(1)
        self._audit_limiter = trio.CapacityLimiter(1)
        self._subscribers: list[Subscriber] = []
        self._closing = False
        if metrics is not None:
            tip = core.tip()
            metrics.tip_seq.set(tip.seq if tip else 0)

    @property
    def core(self) -> Ledger:
        """The synchronous ledger underneath (blocking: never call it from the Trio thread)."""
        return self._core

    @property
    def tracker_public_key(self) -> bytes:
        return self._core.tracker_public_key

    @property
    def path(self) -> str:
        return self._core.path

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(committed)` on the Trio thread for every entry committed from now on, once, in
        commit order, after its transaction committed (before the appending caller resumes). Exceptions
        raised by the callback are logged and do not affect the ledger. Returns a function that
        unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # ---- appends ------------------------------------------------------------------------------------------

    async def issue_starter_grant(self, identity_id: bytes, amount: int) -> CommittedEntry:
        return await self._append(StarterGrantRequest(identity_id, amount))

    async def append_usage(self, record: UsageRecord) -> CommittedEntry:
        return await self._append(record)

    async def append_brokered_usage(self, record: BrokeredUsageRecord) -> CommittedEntry:
        return await self._append(record)

    async def append_transfer_out(self, record: TransferOutRecord) -> CommittedEntry:
        return await self._append(record)

    async def append_transfer_in(self, record: TransferInRecord) -> CommittedEntry:
        return await self._append(record)

    async def record_countersignature(self, seq: int, consumer_sig: bytes, recorded_at: int) -> bool:
        """Record the consumer's countersignature of USAGE entry `seq` (the caller verified it) in the
        countersignatures side table, durably (group-committed with the appends: concurrent records share
        one transaction and one fsync). True when newly recorded, False when the same signature already
        was; raises CountersignatureConflict when a different one was. Cancellation as for appends."""
        result = await self._write(CountersignatureRecord(seq, consumer_sig, recorded_at))
        assert isinstance(result, CountersignatureRecorded)
        return result.new

    async def _append(self, request: WriteRequest) -> CommittedEntry:
        result = await self._write(request)
        assert isinstance(result, CommittedEntry)
        return result

    async def _write(self, request: WriteRequest) -> CommittedEntry | CountersignatureRecorded:
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closing:
            raise LedgerClosed("ledger: closed")
        if self._writing or self._pending or self._last_batch_size > 1:
            done = trio.Event()
            pending = _PendingAppend(request, time.perf_counter(), done)
            self._pending.append(pending)
            self._wakeup.set()
            try:
                await done.wait()
            except trio.Cancelled:
                if not pending.taken:
                    self._pending.remove(pending)
                raise
        else:
            # Nothing to batch with, and the last batch was a lone append too (the callers of a group commit
            # come back together and must queue together): write it from this task, without the
            # committer's two task switches.
            pending = _PendingAppend(request, time.perf_counter(), None)
            pending.taken = True
            await self._write_batch([pending])
        result = pending.result
        if isinstance(result, BaseException):
            raise result
        assert result is not None
        return result

    async def _write_batch(self, batch: list[_PendingAppend]) -> None:
        """Write `batch` in one transaction on a worker thread and deliver the results. Not cancellable once
        started: the callers and the subscribers must learn what was committed, even when the ledger is being
        closed. Wakes the committer afterwards when appends queued up meanwhile."""
        self._writing = True
        try:
            try:
                results: Sequence[
                    CommittedEntry | CountersignatureRecorded | BaseException
                ] = await run_in_worker_thread(
                    partial(self._core.append_batch, [pending.request for pending in batch])
                )
            except Exception as error:
                logger.exception("ledger: append batch failed")
                results = [LedgerError(f"ledger: append batch failed: {error!r}") for _ in batch]
            self._deliver(batch, results)
        finally:
            self._writing = False
            self._last_batch_size = len(batch)
        if self._pending:
            self._wakeup.set()

    async def _run_committer(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        while True:
            if not self._pending or self._writing:
                self._wakeup = trio.Event()
                await self._wakeup.wait()
                continue
            # Callers woken together (by the last commit) may still be runnable: let them queue first, so
            # that they share this transaction instead of splitting it.
            await trio.lowlevel.cancel_shielded_checkpoint()
            if self._writing or not self._pending:
                continue
            batch: list[_PendingAppend] = []
            while self._pending and len(batch) < self._max_batch_size:
                pending = self._pending.popleft()
                pending.taken = True
                batch.append(pending)
            await self._write_batch(batch)
            await trio.lowlevel.checkpoint()  # the committer's cancellation point

    def _deliver(
        self,
        batch: list[_PendingAppend],
        results: Sequence[CommittedEntry | CountersignatureRecorded | BaseException],
    ) -> None:
        committed = 0
        for result in results:
            if isinstance(result, CommittedEntry):
                committed += 1
                if self._view is not None:
                    self._apply_to_view(result)
                for callback in tuple(self._subscribers):
                    try:
                        callback(result)
                    except Exception:
                        logger.exception(
                            "ledger: subscriber failed",
                            extra={"subscriber": repr(callback), "seq": result.seq},
                        )
        now = time.perf_counter()
        metrics = self._metrics
        for pending, result in zip(batch, results, strict=True):
            pending.result = result
            if pending.done is not None:
                pending.done.set()
            if metrics is not None and pending.kind is not None:
                metrics.observe_append(
                    pending.kind, isinstance(result, CommittedEntry), now - pending.started
                )
        if metrics is not None:
            metrics.batch_size.observe(len(batch))
            if committed:
                tip = self._core.tip()
                metrics.tip_seq.set(tip.seq if tip else 0)

    def _apply_to_view(self, committed: CommittedEntry) -> None:
        assert self._view is not None
        try:
            self._view.apply(committed)
        except ValueError:
            # Only an append that bypassed this façade can cause this; never certify from a stale view.
            logger.exception("ledger: balance view out of step; signed balances read from SQLite from now on")
            self._view = None

    def _fail_pending(self) -> None:
        while self._pending:
            pending = self._pending.popleft()
            pending.taken = True
            pending.result = LedgerClosed("ledger: closed before the append was committed")
            if pending.done is not None:
                pending.done.set()

    # ---- reads --------------------------------------------------------------------------------------------

    async def _read(self, function: Callable[..., _T], *args: Any) -> _T:
        return await trio.to_thread.run_sync(function, *args, limiter=self._read_limiter)

    async def tip(self) -> Tip | None:
        """The last committed entry (None for an empty chain); served from memory."""
        return self._core.tip()

    async def signed_balance(self, identity_id: bytes) -> SignedBalanceSnapshot:
        """A tracker-signed snapshot of the identity's credits at the last entry delivered to subscribers,
        valid for 600 s. Served from the in-memory balance view on the Trio thread (no I/O)."""
        view = self._view
        if view is None:
            return await self._read(self._core.signed_balance, identity_id)
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closing:
            raise LedgerClosed("ledger: closed")
        identity_id = check_identity_id("identity_id", identity_id)
        return self._core.sign_balance_snapshot(
            identity_id, view.credits(identity_id), view.tip_seq, view.tip_hash
        )

    async def balance(self, identity_id: bytes) -> BalanceRow | None:
        return await self._read(self._core.balance, identity_id)

    async def credits(self, identity_id: bytes) -> int:
        """The identity's credits at the last entry delivered to subscribers (0 when no entry touched it),
        from the in-memory balance view (no I/O); read from SQLite only if the view fell out of step."""
        view = self._view
        if view is None:
            row = await self.balance(identity_id)
            return 0 if row is None else row.credits
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._closing:
            raise LedgerClosed("ledger: closed")
        return view.credits(identity_id)

    async def entry_by_seq(self, seq: int) -> CommittedEntry | None:
        return await self._read(self._core.entry_by_seq, seq)

    async def entry_by_hash(self, entry_hash: bytes) -> CommittedEntry | None:
        return await self._read(self._core.entry_by_hash, entry_hash)

    async def entries_since(self, since_seq: int, limit: int = 0) -> list[CommittedEntry]:
        return await self._read(self._core.entries_since, since_seq, limit)

    async def assert_chain_integrity(self, since_seq: int = 0, until_seq: int = 0) -> int:
        return await trio.to_thread.run_sync(
            self._core.assert_chain_integrity, since_seq, until_seq, limiter=self._audit_limiter
        )

    async def merkle_root(self, hour: int) -> tuple[bytes, bytes] | None:
        return await self._read(self._core.merkle_root, hour)

    async def rollup_hour(self, hour: int) -> bytes | None:
        root = await self._read(self._core.rollup_hour, hour)
        if root is not None and self._metrics is not None:
            self._metrics.merkle_roots.inc()
        return root


@asynccontextmanager
async def open_ledger(
    path: str | os.PathLike[str],
    identity: object,
    *,
    clock: Callable[[], float] = time.time,
    metrics: LedgerMetrics | None = None,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    synchronous: str = DEFAULT_SYNCHRONOUS,
) -> AsyncIterator[AsyncLedger]:
    """Open the ledger at `path` (config `ledger.storage_path`), signing with `identity` (a TrackerIdentity).
    On exit, appends still queued fail with LedgerClosed, the batch in flight finishes, and the database is
    closed. Raises LedgerStorageError when the file cannot be opened. `synchronous` is the SQLite pragma:
    FULL (the default, durable across power loss) or NORMAL (the Go setting, only for benchmarks): see
    LedgerStore.open."""
    if max_batch_size < 1:
        raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
    core = await trio.to_thread.run_sync(
        lambda: Ledger.open(path, identity, clock=clock, synchronous=synchronous)
    )
    try:
        credits, tip = await trio.to_thread.run_sync(core.balances_at_tip)
    except BaseException:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(core.close)
        raise
    ledger = AsyncLedger(
        core, metrics=metrics, max_batch_size=max_batch_size, balance_view=BalanceView(credits, tip)
    )
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(ledger._run_committer)
            try:
                yield ledger
            finally:
                ledger._closing = True
                nursery.cancel_scope.cancel()
    finally:
        ledger._closing = True
        ledger._fail_pending()
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(core.close)


async def run_merkle_rollup(
    ledger: AsyncLedger,
    interval_minutes: float,
    *,
    clock: Callable[[], float] = time.time,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Ticker for the app's nursery: every `interval_minutes` (no immediate first tick) roll up the hour that
    just ended, floor(now/3600) − 1 (skipped while now < 7200). Idempotent; errors are logged, not raised.
    Returns at once when interval_minutes <= 0."""
    task_status.started()
    if interval_minutes <= 0:
        return
    async for _ in ticks(interval_minutes * 60):
        now = clock()
        if now < 2 * SECONDS_PER_HOUR:
            continue
        hour = math.floor(now / SECONDS_PER_HOUR) - 1
        try:
            await ledger.rollup_hour(hour)
        except Exception:
            logger.exception("ledger: merkle rollup failed", extra={"hour": hour})
