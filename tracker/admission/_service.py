"""`PersistentAdmission`: the persistence wrapper around `AdmissionCore` — persist-then-apply of every
state-changing event into the tlog, snapshots, start-up replay with the ledger cross-check, Trio tickers.

Exactly-once scheme (README "Deliberate differences": newest good snapshot + tlog + ledger cross-check ==
every committed ledger entry applied once; seqs never go backwards). tlog and snapshot bytes are Go's; only
the *values* of seq are ours:

* The record derived from committed ledger entry L carries tlog seq `L << 20` (`tlog_seq_for_ledger`).
* A local record (dispute, operator override, an event that did not come from the ledger) takes the next
  seq after the highest one used: `(L << 20) + n`, L = the ledger position at that moment (n < 2**20).
* So seqs increase strictly in file order and every seq tells the ledger position it was written at
  (`seq >> 20`). A snapshot is stamped and named with the highest seq it contains; it is only taken when
  memory has no ledger holes and no durable append is in flight, so "seq <= S" means "in the snapshot".
* Replay applies the records with seq > S in order (each at most once: seqs must increase) while the
  ledger-derived ones are contiguous (L = previous + 1). At the first hole (a lost or damaged stretch of
  tlog) it stops applying: the ledger entries after the hole are re-read from the ledger in order
  (`entries_since`), and the local records after it are merged in at their positions — the resulting state
  is the one the tracker had, with every ledger entry applied once. Entries beyond the end of the tlog are
  appended to it (seq L << 20: they were never written, so nothing is written twice); entries filling a
  hole stay in memory only and are found again by the next start-up until a snapshot covers them.
* Live entries must arrive as L = position + 1. A duplicate (L <= position) is ignored; a jump, or a failed
  append, marks admission "behind": later entries are not applied until the catch-up (run by the fsync
  ticker) has read the missing ones through `entries_since`, so memory never skips an entry. Snapshots are
  deferred meanwhile.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import trio

from tracker.admission._errors import NotReplayedError, SnapshotDeferredError, SnapshotError, TLogWriteError
from tracker.admission.core._events import LedgerEvent, LedgerEventKind, event_from_committed_entry
from tracker.admission.core._state import ConsumerCreditState, SeederHeartbeatState
from tracker.admission.persistence._metrics import PersistenceMetrics
from tracker.admission.persistence._records import event_to_record
from tracker.admission.persistence._replay import (
    LEDGER_SEQ_SHIFT,
    LOCAL_SEQ_MASK,
    ReplayReport,
    apply_tlog_tail,
    replay_from_disk,
)
from tracker.admission.persistence._snapshot_format import SnapshotData, encode_snapshot
from tracker.admission.persistence._snapshot_store import prune_snapshots, snapshot_path, write_snapshot_file
from tracker.admission.persistence._tlog_format import OperatorOverridePayload, SnapshotMarkPayload, TLogKind
from tracker.admission.persistence._tlog_writer import (
    DEFAULT_MAX_PENDING_BYTES,
    DEFAULT_ROTATION_BYTES,
    TLogWriter,
)

if TYPE_CHECKING:
    from tracker.admission.persistence.bulk._engine import BulkReplay

__all__ = [
    "AdmissionStateCore",
    "LedgerSource",
    "NotReplayedError",
    "PersistentAdmission",
    "SnapshotDeferredError",
]

_logger = logging.getLogger("tracker.admission.persistence")
CATCH_UP_PAGE = 1000
_DISPUTE_KINDS = (LedgerEventKind.DISPUTE_FILED, LedgerEventKind.DISPUTE_RESOLVED)


class AdmissionStateCore(Protocol):
    """What persistence needs from the admission core (H3's `AdmissionCore` satisfies it)."""

    consumers: dict[bytes, ConsumerCreditState]
    seeders: dict[bytes, SeederHeartbeatState]

    def apply_event(self, event: LedgerEvent) -> None: ...


class LedgerSource(Protocol):
    """The ledger read interface used by the cross-check and catch-up: `entries_since(since_seq, limit)` →
    committed entries with seq > since_seq, ascending (sync or async)."""

    def entries_since(self, since_seq: int, limit: int = 0) -> Any: ...


def _core_applies_pure_ledger_rules(core: object) -> bool:
    """Bulk replay (`BulkReplay`) may stand in for `core.apply_event` only when that is exactly
    the pure `apply_ledger_event` on `core.consumers` — true for H3's AdmissionCore."""
    from tracker.admission.core._gatekeeper import AdmissionCore

    return getattr(type(core), "apply_event", None) is AdmissionCore.apply_event


def _bulk_replay(consumers: dict[bytes, ConsumerCreditState]) -> BulkReplay:
    from tracker.admission.persistence.bulk._engine import (
        BulkReplay,  # numpy: only when there is something to replay
    )

    return BulkReplay(consumers)


class PersistentAdmission:
    """Persistence around an admission core. Lifecycle: construct → `await startup_replay(ledger)` → subscribe
    `on_ledger_entry` to the ledger → run `run_fsync_ticker` / `run_snapshot_ticker` in a nursery → `await
    aclose()` (final flush + fsync + snapshot).

    `config` is the `admission:` config section (tlog_path, snapshot_path_prefix, snapshot_interval_s,
    snapshots_retained, fsync_batch_window_ms). `fast_replay` (default: on for AdmissionCore) replays the tlog
    in bulk with the same rules instead of calling `core.apply_event` per record. `metrics` is the core's
    AdmissionMetrics (defaults to `core.metrics`); `persistence_metrics` the extra tlog/snapshot families.
    """

    def __init__(
        self,
        core: AdmissionStateCore,
        config: Any,
        *,
        metrics: Any | None = None,
        persistence_metrics: PersistenceMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rotation_bytes: int = DEFAULT_ROTATION_BYTES,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        catch_up_page: int = CATCH_UP_PAGE,
        fast_replay: bool | None = None,
    ) -> None:
        self.core = core
        self.config = config
        self.metrics = metrics if metrics is not None else getattr(core, "metrics", None)
        self.persistence_metrics = (
            persistence_metrics if persistence_metrics is not None else PersistenceMetrics()
        )
        self._clock = clock
        self._rotation_bytes = rotation_bytes
        self._max_pending_bytes = max_pending_bytes
        self._catch_up_page = catch_up_page
        self._fast_replay = _core_applies_pure_ledger_rules(core) if fast_replay is None else fast_replay
        self.tlog_path: str = str(getattr(config, "tlog_path", "") or "")
        self.snapshot_prefix: str = str(getattr(config, "snapshot_path_prefix", "") or "")
        self._writer: TLogWriter | None = None
        self._ledger_source: LedgerSource | None = None
        self._replayed = False
        self._closed = False
        self._last_seq = 0  # highest seq used (tlog records, snapshots)
        self._ledger_seq = 0  # every committed ledger entry <= this is reflected in memory (unless behind)
        self._behind = False
        self._verify_after_catch_up = False
        self._deferred_local: deque[tuple[int, LedgerEvent]] = deque()
        self._snapshot_lock = trio.Lock()
        self._catch_up_lock = trio.Lock()
        self.degraded_mode = False
        self.tlog_corruptions = 0
        self.snapshot_load_failures = 0
        self.append_failures = 0
        self.replay_report: ReplayReport | None = None
        self.last_snapshot_path: Path | None = None

    # --- read-only views ----------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """Highest tlog/snapshot seq used so far (monotonic across restarts)."""
        return self._last_seq

    @property
    def ledger_seq(self) -> int:
        """Ledger position reflected in memory."""
        return self._ledger_seq

    @property
    def behind(self) -> bool:
        """True while committed ledger entries are waiting for the catch-up."""
        return self._behind

    @property
    def writer(self) -> TLogWriter | None:
        return self._writer

    # --- start-up -----------------------------------------------------------------------------------------

    async def startup_replay(self, ledger_source: LedgerSource | None = None) -> ReplayReport:
        """Rebuild the core's state from disk and the ledger, then open the tlog for appends.

        Steps: newest readable snapshot (older on failure; all unreadable → degraded), tlog records after it
        (torn tail cut, damaged file moved aside, degraded), ledger cross-check for entries the tlog never
        saw. Call once, before events flow. OSError from the data directory propagates (start-up must
        fail loudly).
        """
        if self._replayed:
            raise RuntimeError("admission: startup_replay already ran")
        if ledger_source is not None:
            self._ledger_source = ledger_source
        if self.snapshot_prefix:
            await trio.to_thread.run_sync(
                partial(os.makedirs, Path(self.snapshot_prefix).parent, exist_ok=True)
            )
        report = await trio.to_thread.run_sync(
            partial(
                replay_from_disk,
                tlog_path=self.tlog_path,
                snapshot_prefix=self.snapshot_prefix,
                install_snapshot=self._install_snapshot,
                apply_event=self.core.apply_event,
                bulk_factory=partial(_bulk_replay, self.core.consumers) if self._fast_replay else None,
                now=self._clock,
            )
        )
        self.replay_report = report
        self.snapshot_load_failures += report.snapshot_load_failures
        self.tlog_corruptions += len(report.damage)
        if report.degraded:
            self._set_degraded()
        metrics = self.metrics
        if metrics is not None:
            if report.snapshot_load_failures:
                metrics.snapshot_load_failures.inc(report.snapshot_load_failures)
            if report.damage:
                metrics.tlog_corruption_records.inc(len(report.damage))
        self._last_seq = report.last_seq
        self._ledger_seq = report.ledger_contiguous
        self._deferred_local = deque(report.deferred_local)
        if self.tlog_path:
            self._writer = await trio.to_thread.run_sync(
                partial(
                    TLogWriter.open,
                    self.tlog_path,
                    last_seq=report.last_seq,
                    rotation_bytes=self._rotation_bytes,
                    max_pending_bytes=self._max_pending_bytes,
                    metrics=self.persistence_metrics,
                )
            )
        self._replayed = True
        if self._ledger_source is not None:
            try:
                report.cross_check_applied, _ = await self._apply_from_ledger(report)
            except Exception as error:  # the ledger is another subsystem: retry from the fsync ticker
                _logger.error(
                    "admission: ledger cross-check failed after seq %d: %s", self._ledger_seq, error
                )
                self._behind = True
        elif report.deferred_after_seq is not None:
            # No ledger to fill the hole with: apply what the tlog still has after it, in order.
            highest = await trio.to_thread.run_sync(
                apply_tlog_tail, self.tlog_path, report.deferred_after_seq, self.core.apply_event
            )
            self._deferred_local.clear()
            self._ledger_seq = max(self._ledger_seq, highest)
        if self._last_seq >> LEDGER_SEQ_SHIFT < self._ledger_seq:
            self._last_seq = self._ledger_seq << LEDGER_SEQ_SHIFT
        if metrics is not None:
            metrics.tlog_replay_gap_entries.set(report.cross_check_applied)
        if self._writer is not None:
            try:
                await self._writer.flush(fsync=True)
            except TLogWriteError as error:
                _logger.error("admission: flushing the tlog after replay failed: %s", error)
        self.persistence_metrics.replay_duration.set(report.duration_s)
        if report.damage and self.snapshot_prefix and not self._behind:
            # The good prefix now lives in a repaired file and the rest of the damaged file is gone: capture
            # the recovered state at once so the next start-up does not depend on it.
            try:
                await self.snapshot_now()
            except SnapshotError as error:
                _logger.error("admission: snapshot after tlog repair failed: %s", error)
        _logger.info(
            "admission: replay done",
            extra={
                "snapshot": str(report.snapshot_path) if report.snapshot_path else None,
                "snapshot_seq": report.snapshot_seq,
                "tlog_records_applied": report.tlog_records_applied,
                "tlog_records_in_bulk": report.tlog_records_in_bulk,
                "duration_s": round(report.duration_s, 3),
                "ledger_cross_check_applied": report.cross_check_applied,
                "degraded": self.degraded_mode,
                "last_seq": self._last_seq,
                "ledger_seq": self._ledger_seq,
            },
        )
        return report

    def _install_snapshot(self, snapshot: SnapshotData) -> None:
        consumers = self.core.consumers
        consumers.clear()
        consumers.update(snapshot.consumers)
        seeders = self.core.seeders
        seeders.clear()
        seeders.update(snapshot.seeders)

    async def _apply_from_ledger(self, report: ReplayReport | None = None) -> tuple[int, bool]:
        """Read committed entries after the ledger position and apply them in order (persist-then-apply for
        the ones past the end of the tlog; hole fills stay in memory only), merging in the local records that
        replay deferred at their positions. Returns (entries applied, reached the end of the ledger)."""
        applied = 0
        while True:
            page = await self._fetch_entries(self._ledger_seq, self._catch_up_page)
            for committed in page:
                ledger_seq = int(committed.seq)
                if ledger_seq <= self._ledger_seq:
                    continue  # applied live while this page was being read
                self._apply_deferred_local(ledger_seq << LEDGER_SEQ_SHIFT)
                persisted_before = self._last_seq
                if not self._apply_ledger_entry(committed, from_catch_up=True):
                    return applied, False
                applied += 1
                if report is not None and self._last_seq > persisted_before:
                    report.cross_check_persisted += 1
            if len(page) < self._catch_up_page:
                break
        self._apply_deferred_local(None)
        return applied, True

    def _apply_deferred_local(self, before_seq: int | None) -> None:
        deferred = self._deferred_local
        while deferred and (before_seq is None or deferred[0][0] < before_seq):
            _, event = deferred.popleft()
            self.core.apply_event(event)

    async def _fetch_entries(self, since_seq: int, limit: int) -> list[Any]:
        source = self._ledger_source
        assert source is not None
        method = source.entries_since
        if inspect.iscoroutinefunction(method):
            return list(await method(since_seq, limit))
        result = await trio.to_thread.run_sync(method, since_seq, limit)
        if inspect.isawaitable(result):
            result = await result
        return list(result)

    # --- live events (Trio thread) ------------------------------------------------------------------------

    def on_ledger_entry(self, committed: Any) -> bool:
        """Ledger subscriber: persist (buffered) then apply one committed entry. Returns True when the entry
        is now reflected in memory. Duplicates are ignored; after a gap or a failed append the entry is
        left to the catch-up (it reads the ledger again), so no entry is skipped or applied twice."""
        if not self._replayed:
            raise NotReplayedError("admission: startup_replay must finish before ledger entries are applied")
        ledger_seq = int(committed.seq)
        if ledger_seq <= self._ledger_seq:
            self.persistence_metrics.ledger_entries_skipped.labels(reason="duplicate").inc()
            return False
        if self._behind:
            self.persistence_metrics.ledger_entries_skipped.labels(reason="behind").inc()
            return False
        if ledger_seq != self._ledger_seq + 1 and self._ledger_source is not None:
            _logger.warning(
                "admission: ledger entry %d arrived after %d; fetching the missing entries",
                ledger_seq,
                self._ledger_seq,
            )
            self._behind = True
            self.persistence_metrics.ledger_entries_skipped.labels(reason="behind").inc()
            return False
        return self._apply_ledger_entry(committed)

    def _apply_ledger_entry(self, committed: Any, *, from_catch_up: bool = False) -> bool:
        ledger_seq = int(committed.seq)
        seq = ledger_seq << LEDGER_SEQ_SHIFT
        event = event_from_committed_entry(committed)
        record = event_to_record(event) if event is not None else None
        if record is None:
            self._ledger_seq = ledger_seq
            if seq > self._last_seq:
                self._last_seq = seq
            return True
        writer = self._writer
        if writer is not None and seq > self._last_seq:
            try:
                writer.append(seq, event.timestamp, record[0], record[1])  # type: ignore[union-attr]
            except TLogWriteError as error:
                self._append_failed(error)
                if self._ledger_source is not None:
                    self._behind = True
                return False
        elif writer is not None and not from_catch_up:
            # Never reuse a seq: the entry stays ledger-only; the next start-up finds the hole and re-reads
            # it.
            _logger.error(
                "admission: ledger entry %d maps below the last tlog seq %d", ledger_seq, self._last_seq
            )
        # (From the cross-check, an entry below the last seq fills a hole left by a lost or damaged stretch of
        # the tlog; it stays in memory only, and the next start-up finds the same hole until a snapshot.)
        self.core.apply_event(event)  # type: ignore[arg-type]
        self._ledger_seq = ledger_seq
        if seq > self._last_seq:
            self._last_seq = seq
        return True

    def on_ledger_event(self, event: LedgerEvent) -> bool:
        """Persist (buffered, fsynced by the ticker) then apply an event that has no ledger seq. Dispute kinds
        need `await on_dispute_event(event)` (fsync before apply). Returns True when applied."""
        if event.kind in _DISPUTE_KINDS:
            raise ValueError("admission: dispute events are durable: use `await on_dispute_event(event)`")
        if not self._replayed:
            raise NotReplayedError("admission: startup_replay must finish before events are applied")
        record = event_to_record(event)
        if record is None:
            return False
        writer = self._writer
        if writer is not None:
            try:
                seq = self._next_local_seq()
                writer.append(seq, event.timestamp, record[0], record[1])
            except TLogWriteError as error:
                self._append_failed(error)
                return False
            self._last_seq = seq
        self.core.apply_event(event)
        return True

    async def on_dispute_event(self, event: LedgerEvent) -> bool:
        """Append the event, flush and fsync the tlog, then apply it (any kind; meant for disputes, whose only
        copy is the tlog). Returns False (not applied, counted, logged) when the write fails."""
        if not self._replayed:
            raise NotReplayedError("admission: startup_replay must finish before events are applied")
        record = event_to_record(event)
        if record is None:
            return False
        writer = self._writer
        if writer is None:
            self.core.apply_event(event)
            return True
        async with writer.flush_lock:
            try:
                seq = self._next_local_seq()
            except TLogWriteError as error:
                self._append_failed(error)
                return False
            self._last_seq = seq  # later events must get higher seqs while this one is being written
            try:
                await writer.append_durable_locked(seq, event.timestamp, record[0], record[1])
            except TLogWriteError as error:
                self._append_failed(error)
                return False
            self.core.apply_event(event)
        return True

    def record_operator_override(
        self, operator_id: str, action: str, params: dict[str, Any] | bytes, now: float | None = None
    ) -> None:
        """Append an OPERATOR_OVERRIDE audit record (kind 5, batched). Raises TLogWriteError on failure."""
        writer = self._writer
        if writer is None:
            return
        ts = int(self._clock() if now is None else now)
        if isinstance(params, bytes):
            params_bytes = params
        else:
            params_bytes = json.dumps(params, separators=(",", ":")).encode()
        payload = OperatorOverridePayload(operator_id, action, params_bytes, ts).encode()
        seq = self._next_local_seq()
        writer.append(seq, ts, TLogKind.OPERATOR_OVERRIDE, payload)
        self._last_seq = seq

    def _next_local_seq(self) -> int:
        seq = self._last_seq + 1
        if seq & LOCAL_SEQ_MASK == 0:
            raise TLogWriteError(
                f"admission/tlog: more than {LOCAL_SEQ_MASK} local records since ledger seq "
                f"{self._last_seq >> LEDGER_SEQ_SHIFT}; waiting for the next ledger entry"
            )
        return seq

    def _append_failed(self, error: Exception) -> None:
        self.append_failures += 1
        self.persistence_metrics.tlog_append_failures.inc()
        _logger.error("admission: tlog append failed; event not applied: %s", error)

    def _set_degraded(self) -> None:
        self.degraded_mode = True
        if hasattr(self.core, "degraded_mode"):
            self.core.degraded_mode = True  # type: ignore[attr-defined]

    # --- catch-up -----------------------------------------------------------------------------------------

    async def catch_up(self) -> int:
        """Read the ledger after the current position and apply what memory is missing (persist-then-apply).
        The fsync ticker calls it while admission is behind. Returns how many entries were applied."""
        if self._ledger_source is None:
            return 0
        async with self._catch_up_lock:
            was_behind = self._behind
            applied, complete = await self._apply_from_ledger()
            if complete:
                # Entries committed while the last page was read were skipped as "behind": check once more.
                self._verify_after_catch_up = was_behind
                self._behind = False
            return applied

    # --- snapshots ----------------------------------------------------------------------------------------

    async def snapshot_now(self, now: float | None = None) -> Path | None:
        """Write a snapshot of the current state (encode and file I/O in worker threads), prune to
        `snapshots_retained`, append a SNAPSHOT_MARK. Returns the path (None without a snapshot prefix).
        Raises SnapshotError (counted in admission_snapshot_emit_failures_total)."""
        if not self.snapshot_prefix:
            return None
        if not self._replayed:
            raise NotReplayedError("admission: startup_replay must finish before snapshots")
        async with self._snapshot_lock:
            started = time.perf_counter()
            writer = self._writer
            try:
                if writer is not None:
                    async with writer.flush_lock:
                        seq, ts, consumers, seeders = self._capture(now)
                else:
                    seq, ts, consumers, seeders = self._capture(now)
                path = snapshot_path(self.snapshot_prefix, seq)
                data = await trio.to_thread.run_sync(encode_snapshot, seq, ts, consumers, seeders)
                await trio.to_thread.run_sync(write_snapshot_file, path, data)
            except SnapshotError as error:
                if self.metrics is not None:
                    self.metrics.snapshot_emit_failures.inc()
                _logger.error("admission: snapshot failed: %s", error)
                raise
            retained = int(getattr(self.config, "snapshots_retained", 3) or 3)
            await trio.to_thread.run_sync(prune_snapshots, self.snapshot_prefix, retained)
            if writer is not None and not writer.closed:
                try:
                    writer.append(0, ts, TLogKind.SNAPSHOT_MARK, SnapshotMarkPayload(seq, str(path)).encode())
                except TLogWriteError as error:
                    _logger.warning("admission: SNAPSHOT_MARK append failed: %s", error)
            pm = self.persistence_metrics
            pm.snapshot_duration.observe(time.perf_counter() - started)
            pm.snapshot_last_success.set(time.time())
            pm.snapshot_bytes.set(len(data))
            self.last_snapshot_path = path
            return path

    def _capture(
        self, now: float | None
    ) -> tuple[int, int, dict[bytes, ConsumerCreditState], dict[bytes, SeederHeartbeatState]]:
        if self._behind:
            raise SnapshotDeferredError(
                f"admission/snapshot: deferred: ledger entries after seq {self._ledger_seq} are still being "
                "caught up"
            )
        ts = int(self._clock() if now is None else now)
        consumers = {key: state.copy() for key, state in self.core.consumers.items()}
        seeders = {key: state.copy() for key, state in self.core.seeders.items()}
        return self._last_seq, ts, consumers, seeders

    # --- tickers and shutdown -----------------------------------------------------------------------------

    async def flush(self, fsync: bool = True) -> None:
        """Write (and fsync) the buffered tlog records now. Raises TLogWriteError."""
        if self._writer is not None:
            await self._writer.flush(fsync=fsync)

    async def run_fsync_ticker(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Every `fsync_batch_window_ms` (at least 1 ms): write + fsync buffered records, then catch up with
        the ledger if behind. Errors are logged and counted; the ticker keeps running."""
        window_ms = int(getattr(self.config, "fsync_batch_window_ms", 5) or 0)
        period = max(window_ms, 1) / 1000.0
        task_status.started()
        failing = False
        while True:
            await trio.sleep(period)
            writer = self._writer
            if writer is not None and writer.needs_flush and not writer.closed:
                try:
                    await writer.flush(fsync=True)
                    if failing:
                        _logger.info("admission: tlog writes succeed again")
                    failing = False
                except TLogWriteError as error:
                    if not failing:
                        _logger.error("admission: tlog flush failed (will retry): %s", error)
                    failing = True
            if self._behind or self._verify_after_catch_up:
                try:
                    await self.catch_up()
                except Exception as error:  # the ledger is another subsystem; retry next tick
                    _logger.error("admission: ledger catch-up failed (will retry): %s", error)

    async def run_snapshot_ticker(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Every `snapshot_interval_s`: `snapshot_now()`; failures are logged and counted."""
        interval = float(getattr(self.config, "snapshot_interval_s", 600) or 0)
        task_status.started()
        if interval <= 0 or not self.snapshot_prefix:
            await trio.sleep_forever()
        while True:
            await trio.sleep(interval)
            with contextlib.suppress(SnapshotError):  # logged and counted by snapshot_now
                await self.snapshot_now()

    async def aclose(self) -> None:
        """Final snapshot, then flush + fsync + close the tlog. Shielded from cancellation; idempotent."""
        with trio.CancelScope(shield=True):
            if self._closed:
                return
            self._closed = True
            if self._replayed and self.snapshot_prefix:
                try:
                    await self.snapshot_now()
                except SnapshotError as error:
                    _logger.error("admission: final snapshot failed: %s", error)
            if self._writer is not None:
                try:
                    await self._writer.aclose()
                except TLogWriteError as error:
                    _logger.error("admission: closing the tlog failed: %s", error)
