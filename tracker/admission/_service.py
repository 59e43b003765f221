"""`AdmissionService`: the front door of admission and its only Trio module (with the tlog façade in
`_tlog_trio.py`).

It owns the pure `AdmissionCore` and everything around it: start-up replay (snapshot + tlog + ledger
cross-check), persist-then-apply of every state-changing event, catch-up with the ledger, snapshots, the
tickers, the operator operations (each makes its mutation and appends its OPERATOR_OVERRIDE audit record,
then returns only once that record is written and fsynced) and the shutdown (`aclose`). The app, the admin
API and the CLI talk to this object only; the seq scheme and the exactly-once argument are in DESIGN.md
and persistence/_seq.py.

Live entries must arrive as L = position + 1. A duplicate (L <= position) is ignored; a jump, or a failed
append, marks admission "behind": later entries are not applied until the catch-up (run by the fsync ticker)
has read the missing ones through `entries_since`, so memory never skips an entry. Snapshots are deferred
meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import trio

from tracker._proto.admission_pb2 import SignedCreditAttestation
from tracker._ticks import ticks
from tracker.admission._errors import (
    AdmissionAheadOfLedgerError,
    NotReplayedError,
    SnapshotDeferredError,
    SnapshotError,
    TLogWriteError,
)
from tracker.admission._tlog_trio import AsyncTLogWriter
from tracker.admission.core._decision import DecisionResult, QueueTimeout
from tracker.admission.core._events import (
    LedgerEvent,
    LedgerEventKind,
    event_from_committed_entry,
    event_touches,
)
from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.admission.core._metrics import AdmissionMetrics
from tracker.admission.core._queue import QueueEntry
from tracker.admission.core._state import ConsumerCreditState, SeederHeartbeatState
from tracker.admission.core._views import AdmissionStatus, ConsumerView, QueueItemView
from tracker.admission.persistence._metrics import PersistenceMetrics
from tracker.admission.persistence._records import (
    BLOCKLIST_ADD,
    BLOCKLIST_REMOVE,
    encode_override_params,
    event_to_record,
)
from tracker.admission.persistence._replay import (
    ReplayReport,
    apply_tlog_tail,
    refuse_foreign_tlog_files,
    replay_from_disk,
)
from tracker.admission.persistence._seq import (
    ledger_seq_of,
    next_local_seq,
    tlog_seq_for_ledger,
)
from tracker.admission.persistence._snapshot_format import SnapshotData, encode_snapshot
from tracker.admission.persistence._snapshot_store import prune_snapshots, snapshot_path, store_snapshot
from tracker.admission.persistence._tlog_format import OperatorOverridePayload, SnapshotMarkPayload, TLogKind
from tracker.admission.persistence._tlog_reader import move_aside
from tracker.admission.persistence._tlog_writer import DEFAULT_MAX_PENDING_BYTES, DEFAULT_ROTATION_BYTES

if TYPE_CHECKING:
    from tracker.admission.persistence.bulk._engine import BulkReplay
    from tracker.config import AdmissionConfig
    from tracker.identity import TrackerIdentity
    from tracker.ledger import CommittedEntry
    from tracker.registry import Registry

__all__ = ["AdmissionService", "LedgerSource"]

_logger = logging.getLogger("tracker.admission.persistence")
CATCH_UP_PAGE = 1000
RECOMPUTE_PAGE_SIZE = 1000
AGGREGATE_PERIOD_S = 5.0
QUEUE_TIMEOUT_SWEEP_PERIOD_S = 1.0
# While start-up replay runs longer than this, a progress line is logged this often.
REPLAY_PROGRESS_PERIOD_S = 1.0
_DISPUTE_KINDS = (LedgerEventKind.DISPUTE_FILED, LedgerEventKind.DISPUTE_RESOLVED)


class LedgerSource(Protocol):
    """The ledger read interface of replay, catch-up and recompute (tracker.ledger.AsyncLedger): committed
    entries with seq > since_seq, ascending, at most `limit` (0 = all)."""

    async def entries_since(self, since_seq: int, limit: int = 0) -> Sequence[CommittedEntry]: ...


def _bulk_replay(consumers: dict[bytes, ConsumerCreditState]) -> BulkReplay:
    from tracker.admission.persistence.bulk._engine import BulkReplay  # numpy: only when there is data

    return BulkReplay(consumers)


def _events_touching(consumer_id: bytes, page: Sequence[CommittedEntry]) -> list[tuple[int, LedgerEvent]]:
    """(ledger seq, event) for every entry of `page` that changes `consumer_id`'s credit state."""
    touching = []
    for committed in page:
        event = event_from_committed_entry(committed)
        if event is not None and event_touches(event, consumer_id):
            touching.append((committed.seq, event))
    return touching


class AdmissionService:
    """Admission for the rest of the tracker. Lifecycle: `AdmissionService.create(...)` → `await
    startup_replay(ledger)` → subscribe `on_ledger_entry` to the ledger → run the tickers (`background_tasks`)
    in a nursery → `await aclose(final_snapshot=...)`.

    `config` is the `admission:` config section. `fast_replay` replays the tlog in bulk (numpy) with the same
    rules instead of calling `core.apply_event` per record. `persistence_metrics` holds the tlog/snapshot
    families (the core has its own `AdmissionMetrics`).
    """

    def __init__(
        self,
        core: AdmissionCore,
        config: AdmissionConfig,
        *,
        persistence_metrics: PersistenceMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rotation_bytes: int = DEFAULT_ROTATION_BYTES,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        catch_up_page: int = CATCH_UP_PAGE,
        fast_replay: bool = True,
    ) -> None:
        self.core = core
        """The pure core. Only admission and its tests touch it; everything else goes through the service."""
        self.config = config
        self.persistence_metrics = (
            persistence_metrics if persistence_metrics is not None else PersistenceMetrics()
        )
        self._clock = clock
        self._rotation_bytes = rotation_bytes
        self._max_pending_bytes = max_pending_bytes
        self._catch_up_page = catch_up_page
        self._fast_replay = fast_replay
        self.tlog_path: str = config.tlog_path
        self.snapshot_prefix: str = config.snapshot_path_prefix
        self._writer: AsyncTLogWriter | None = None
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
        self.last_snapshot_bytes = 0

    @classmethod
    def create(
        cls,
        config: AdmissionConfig,
        registry: Registry,
        identity: TrackerIdentity,
        *,
        metrics: AdmissionMetrics | None = None,
        persistence_metrics: PersistenceMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> AdmissionService:
        """Build the core (observing `registry`'s heartbeats and advertisements) and the service around it.
        Raises AdmissionConfigError for a configuration the core cannot use."""
        core = AdmissionCore(config, registry, identity, metrics=metrics, clock=clock)
        return cls(core, config, persistence_metrics=persistence_metrics, clock=clock)

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
    def writer(self) -> AsyncTLogWriter | None:
        return self._writer

    def decide(
        self, consumer_id: bytes, attestation: SignedCreditAttestation | None, now: float
    ) -> DecisionResult:
        """ADMIT / QUEUE / REJECT for one broker request (admission.md §5.1)."""
        return self.core.decide(consumer_id, attestation, now)

    def status(self) -> AdmissionStatus:
        return self.core.status()

    # --- the broker's queue path (rpc-broker §6.6) ----------------------------------------------------------

    def pop_ready_for_broker(self, now: float) -> QueueEntry | None:
        """Pop the queue head if its effective priority reaches the broker's floor at the current pressure."""
        return self.core.pop_ready(now)

    def cancel_queued(self, request_id: bytes) -> bool:
        """Remove a queued request (its consumer left or timed out); True when it was still queued."""
        return self.core.eject(request_id.hex()) > 0

    def queue_timeout_s(self) -> int:
        """How long a queued broker request may wait (`admission.queue_timeout_s`, 300 s when 0)."""
        return self.core.queue_timeout_s

    def queue_view(self, now: float | None = None) -> list[QueueItemView]:
        """The queue in heap-array order with effective priorities at `now` (default: the clock)."""
        return self.core.queue_view(now)

    def consumer_view(self, consumer_id: bytes, now: float | None = None) -> ConsumerView | None:
        """Local score and signals at `now` (default: the clock), or None for an unknown identity."""
        return self.core.consumer_view(consumer_id, now)

    def seeder_view(self, seeder_id: bytes) -> SeederHeartbeatState | None:
        return self.core.seeder_view(seeder_id)

    def supply_per_model(self) -> dict[str, float]:
        """Headroom per model of the latest supply aggregation (empty before the first)."""
        return dict(self.core.supply.per_model)

    def blocklist(self) -> list[str]:
        """Blocked peer ids, lowercase hex, sorted."""
        return self.core.blocklist()

    # --- start-up -----------------------------------------------------------------------------------------

    @staticmethod
    async def check_files(config: AdmissionConfig) -> None:
        """Refuse (TLogNotATLogError) a configured tlog path whose file is not a tlog — the ledger database,
        a text file — before anything opens it. Read-only; the app calls it before opening the ledger, so a
        tlog path naming the ledger leaves the ledger byte-identical."""
        if config.tlog_path:
            await trio.to_thread.run_sync(refuse_foreign_tlog_files, config.tlog_path)

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
        started = disk_done = time.perf_counter()
        report = ReplayReport()
        failure: Exception | None = None
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._log_replay_progress, report, started)
            try:
                await self._replay_disk(report)
                disk_done = time.perf_counter()
                await self._check_not_ahead_of_ledger(report)
                await self._replay_ledger(report)
            except Exception as error:  # re-raised as is below, not wrapped in the nursery's group
                failure = error
            finally:
                nursery.cancel_scope.cancel()
        if failure is not None:
            raise failure
        cross_check_s = time.perf_counter() - disk_done
        # Before any snapshot is written: one may take the name of a snapshot that failed to load.
        await self._set_unusable_snapshots_aside(report)
        if report.damage and self.snapshot_prefix and not self._behind:
            # The good prefix now lives in a repaired file and the rest of the damaged file is gone: capture
            # the recovered state at once so the next start-up does not depend on it.
            try:
                await self.snapshot_now()
            except SnapshotError as error:
                _logger.error("admission: snapshot after tlog repair failed", extra={"error": str(error)})
        duration_s = time.perf_counter() - started
        self.persistence_metrics.replay_duration.set(duration_s)
        self._log_replay(report, duration_s, cross_check_s)
        return report

    async def _replay_ledger(self, report: ReplayReport) -> None:
        """After the disk pass: open the tlog for appends, run the ledger cross-check, fsync."""
        if self.tlog_path:
            self._writer = await trio.to_thread.run_sync(
                partial(
                    AsyncTLogWriter.open,
                    self.tlog_path,
                    last_seq=report.last_seq,
                    rotation_bytes=self._rotation_bytes,
                    max_pending_bytes=self._max_pending_bytes,
                    metrics=self.persistence_metrics,
                )
            )
        self._replayed = True
        await self._fill_from_ledger(report)
        if ledger_seq_of(self._last_seq) < self._ledger_seq:
            self._last_seq = tlog_seq_for_ledger(self._ledger_seq)
        self.persistence_metrics.tlog_replay_gap_entries.set(report.cross_check_applied)
        if self._writer is not None:
            try:
                await self._writer.flush(fsync=True)
            except TLogWriteError as error:
                _logger.error("admission: flushing the tlog after replay failed", extra={"error": str(error)})

    async def _check_not_ahead_of_ledger(self, report: ReplayReport) -> None:
        """Every tlog/snapshot seq names the ledger position it was written at: the ledger must have that
        entry, or admission would count entries the ledger lost and seqs would be reused."""
        seen = ledger_seq_of(report.last_seq)
        source = self._ledger_source
        if source is None or seen == 0:
            return
        page = await source.entries_since(seen - 1, 1)
        if page and page[0].seq == seen:
            return
        raise AdmissionAheadOfLedgerError(
            f"admission: the admission files (tlog {self.tlog_path or '-'}, snapshots "
            f"{self.snapshot_prefix or '-'}) have seen ledger entry {seen}, but the ledger ends before it: "
            "the ledger was lost, replaced or restored from an older backup. Restore the ledger from a "
            f"backup that holds entry {seen} and check it with `trio-tracker ledger verify`, or move the "
            "admission files aside to rebuild admission from this ledger"
        )

    async def _set_unusable_snapshots_aside(self, report: ReplayReport) -> None:
        """After a successful start, move the snapshots that failed to load aside (`.damaged-<time>`, kept for
        forensics), so later start-ups do not trip over them again."""
        for path in report.unusable_snapshots:
            try:
                moved = await trio.to_thread.run_sync(move_aside, path)
            except OSError as error:
                _logger.error(
                    "admission: could not move an unusable snapshot aside",
                    extra={"path": str(path), "error": str(error)},
                )
                continue
            _logger.warning(
                "admission: unusable snapshot moved aside", extra={"path": str(path), "moved_to": str(moved)}
            )

    async def _log_replay_progress(self, report: ReplayReport, started: float) -> None:
        """Every REPLAY_PROGRESS_PERIOD_S until cancelled: where replay is (a large tlog takes seconds). Reads
        `report`, which the disk pass fills in a worker thread, and the ledger position."""
        async for _ in ticks(REPLAY_PROGRESS_PERIOD_S):
            phase = "ledger_cross_check" if report.phase == "done" else report.phase
            _logger.info(
                "admission: replay in progress",
                extra={
                    "phase": phase,
                    "elapsed_s": round(time.perf_counter() - started, 1),
                    "snapshot_seq": report.snapshot_seq,
                    "tlog_files_done": report.tlog_files_done,
                    "tlog_files": report.tlog_files,
                    "tlog_bytes": report.tlog_bytes,
                    "tlog_records_read": report.tlog_records_read,
                    "ledger_seq": self._ledger_seq,
                },
            )

    async def _replay_disk(self, report: ReplayReport) -> ReplayReport:
        """Snapshot + tlog (persistence/_replay.py) in a worker thread; take over its position and counts."""
        if self.snapshot_prefix:
            await trio.to_thread.run_sync(
                partial(os.makedirs, Path(self.snapshot_prefix).parent, exist_ok=True)
            )
        await trio.to_thread.run_sync(
            partial(
                replay_from_disk,
                tlog_path=self.tlog_path,
                snapshot_prefix=self.snapshot_prefix,
                install_snapshot=self._install_snapshot,
                apply_event=self.core.apply_event,
                bulk_factory=partial(_bulk_replay, self.core.consumers) if self._fast_replay else None,
                now=self._clock,
                report=report,
            )
        )
        self.replay_report = report
        self.snapshot_load_failures += report.snapshot_load_failures
        self.tlog_corruptions += len(report.damage)
        if report.degraded:
            self._set_degraded()
        if report.snapshot_load_failures:
            self.persistence_metrics.snapshot_load_failures.inc(report.snapshot_load_failures)
        if report.damage:
            self.persistence_metrics.tlog_corruption_records.inc(len(report.damage))
        if report.lost_local_records:
            self.persistence_metrics.tlog_local_records_lost.inc(report.lost_local_records)
        for added, peer_id in report.blocklist_changes:
            if added:
                self.core.blocklist_add(peer_id)
            else:
                self.core.blocklist_remove(peer_id)
        self._last_seq = report.last_seq
        self._ledger_seq = report.ledger_contiguous
        self._deferred_local = deque(report.deferred_local)
        return report

    async def _fill_from_ledger(self, report: ReplayReport) -> None:
        """The ledger cross-check: apply the committed entries the tlog never saw (or lost). Without a ledger,
        apply what the tlog still has after a hole, in order."""
        if self._ledger_source is not None:
            try:
                report.cross_check_applied, _ = await self._apply_from_ledger(report)
            except Exception as error:  # the ledger is another subsystem: retry from the fsync ticker
                _logger.error(
                    "admission: ledger cross-check failed",
                    extra={"ledger_seq": self._ledger_seq, "error": str(error)},
                )
                self._behind = True
        elif report.deferred_after_seq is not None:
            highest = await trio.to_thread.run_sync(
                apply_tlog_tail, self.tlog_path, report.deferred_after_seq, self.core.apply_event
            )
            self._deferred_local.clear()
            self._ledger_seq = max(self._ledger_seq, highest)

    def _log_replay(self, report: ReplayReport, duration_s: float, cross_check_s: float) -> None:
        _logger.info(
            "admission: replay done",
            extra={
                "snapshot": str(report.snapshot_path) if report.snapshot_path else None,
                "snapshot_seq": report.snapshot_seq,
                "tlog_records_applied": report.tlog_records_applied,
                "tlog_records_in_bulk": report.tlog_records_in_bulk,
                "duration_s": round(duration_s, 3),
                "disk_duration_s": round(report.duration_s, 3),
                "cross_check_duration_s": round(cross_check_s, 3),
                "ledger_cross_check_applied": report.cross_check_applied,
                "degraded": self.degraded_mode,
                "tlog_torn_tails_cut": report.torn_tails_cut,
                "tlog_damaged_files": len(report.damage),
                "tlog_local_records_lost": report.lost_local_records,
                "blocklist_changes_replayed": len(report.blocklist_changes),
                "last_seq": self._last_seq,
                "ledger_seq": self._ledger_seq,
            },
        )

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
        source = self._ledger_source
        assert source is not None
        applied = 0
        while True:
            page = await source.entries_since(self._ledger_seq, self._catch_up_page)
            for committed in page:
                ledger_seq = committed.seq
                if ledger_seq <= self._ledger_seq:
                    continue  # applied live while this page was being read
                self._apply_deferred_local(tlog_seq_for_ledger(ledger_seq))
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

    # --- live events (Trio thread) ------------------------------------------------------------------------

    def on_ledger_entry(self, committed: CommittedEntry) -> bool:
        """Ledger subscriber: persist (buffered) then apply one committed entry. Returns True when the entry
        is now reflected in memory. Duplicates are ignored; after a gap or a failed append the entry is
        left to the catch-up (it reads the ledger again), so no entry is skipped or applied twice."""
        if not self._replayed:
            raise NotReplayedError("admission: startup_replay must finish before ledger entries are applied")
        ledger_seq = committed.seq
        if ledger_seq <= self._ledger_seq:
            self.persistence_metrics.ledger_entries_skipped.labels(reason="duplicate").inc()
            return False
        if self._behind:
            self.persistence_metrics.ledger_entries_skipped.labels(reason="behind").inc()
            return False
        if ledger_seq != self._ledger_seq + 1 and self._ledger_source is not None:
            _logger.warning(
                "admission: ledger entry arrived out of order; fetching the missing entries",
                extra={"ledger_seq": ledger_seq, "expected_seq": self._ledger_seq + 1},
            )
            self._behind = True
            self.persistence_metrics.ledger_entries_skipped.labels(reason="behind").inc()
            return False
        return self._apply_ledger_entry(committed)

    def _apply_ledger_entry(self, committed: CommittedEntry, *, from_catch_up: bool = False) -> bool:
        ledger_seq = committed.seq
        seq = tlog_seq_for_ledger(ledger_seq)
        event = event_from_committed_entry(committed)
        record = event_to_record(event) if event is not None else None
        if event is None or record is None:
            self._ledger_seq = ledger_seq
            if seq > self._last_seq:
                self._last_seq = seq
            return True
        writer = self._writer
        if writer is not None and seq > self._last_seq:
            try:
                writer.append(seq, event.timestamp, record[0], record[1])
            except TLogWriteError as error:
                self._append_failed(error)
                if self._ledger_source is not None:
                    self._behind = True
                return False
        elif writer is not None and not from_catch_up:
            # Never reuse a seq: the entry stays ledger-only; the next start-up finds the hole and re-reads
            # it.
            _logger.error(
                "admission: ledger entry maps below the last tlog seq",
                extra={"ledger_seq": ledger_seq, "last_seq": self._last_seq},
            )
        # (From the cross-check, an entry below the last seq fills a hole left by a lost or damaged stretch of
        # the tlog; it stays in memory only, and the next start-up finds the same hole until a snapshot.)
        self.core.apply_event(event)
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
                seq = next_local_seq(self._last_seq)
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
                seq = next_local_seq(self._last_seq)
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
        self, operator_id: str, action: str, params: Mapping[str, object] | bytes, now: float | None = None
    ) -> int:
        """Append an OPERATOR_OVERRIDE audit record (kind 5, buffered; `params` as Go-encoded JSON, or its
        bytes) and return its writer ticket for `wait_durable` (0 without a tlog). Raises TLogWriteError on
        failure (counted and logged)."""
        writer = self._writer
        if writer is None:
            return 0
        ts = int(self._clock() if now is None else now)
        params_bytes = params if isinstance(params, bytes) else encode_override_params(params)
        payload = OperatorOverridePayload(operator_id, action, params_bytes, ts).encode()
        try:
            seq = next_local_seq(self._last_seq)
            writer.append(seq, ts, TLogKind.OPERATOR_OVERRIDE, payload)
        except TLogWriteError as error:
            self._append_failed(error)
            raise
        self._last_seq = seq
        return writer.last_ticket

    async def wait_durable(self, ticket: int) -> None:
        """Wait until the record `record_operator_override` returned `ticket` for is written and fsynced
        (sharing the write and the fsync with every other record waiting). Raises TLogWriteError (counted
        and logged) when the write or fsync fails; the record stays buffered and the fsync ticker retries."""
        writer = self._writer
        if writer is None or ticket <= 0:
            return
        try:
            await writer.wait_durable(ticket)
        except TLogWriteError as error:
            self._append_failed(error)
            raise

    def _append_failed(self, error: Exception) -> None:
        self.append_failures += 1
        self.persistence_metrics.tlog_append_failures.inc()
        _logger.error("admission: tlog append failed", extra={"error": str(error)})

    def _set_degraded(self) -> None:
        self.degraded_mode = True
        self.core.degraded_mode = True

    # --- operator operations: record, mutate, acknowledge when durable (admission.md §10) ----------------
    # The OPERATOR_OVERRIDE record is appended (buffered) and the mutation made in the same synchronous step,
    # so the buffer and memory never disagree; the caller is answered only once the record is fsynced. A
    # refused append raises before anything changes. A failed write raises TLogWriteError after the mutation:
    # the record stays buffered and memory keeps the change (both survive if a later write succeeds; `run`
    # exits 1 if the final flush fails), but the operator is told it is not durable.

    async def drain(self, count: int, *, operator_id: str) -> list[bytes]:
        """Pop up to `count` entries from the head of the queue; their consumer ids in pop order. Raises
        TLogWriteError when the audit record cannot be appended (nothing popped) or made durable."""
        ticket = self.record_operator_override(operator_id, "queue/drain", {"n": count})
        drained = [entry.consumer_id for entry in self.core.drain(count)]
        await self.wait_durable(ticket)
        return drained

    async def eject(self, request_id_text: str, *, operator_id: str) -> int:
        """Remove queue entries whose request id (hex, either case) equals the text; how many were removed.
        Raises TLogWriteError as `drain`."""
        ticket = self.record_operator_override(operator_id, "queue/eject", {"request_id": request_id_text})
        ejected = self.core.eject(request_id_text.lower())
        await self.wait_durable(ticket)
        return ejected

    async def blocklist_add(self, peer_id: bytes, *, operator_id: str, as_written: str) -> None:
        """Block attestations issued by `peer_id`; `as_written` is the id as the operator typed it (for the
        audit record, which start-up replays: the blocklist survives restarts). Raises TLogWriteError as
        `drain`."""
        ticket = self.record_operator_override(operator_id, BLOCKLIST_ADD, {"peer_id": as_written})
        self.core.blocklist_add(peer_id)
        await self.wait_durable(ticket)

    async def blocklist_remove(self, peer_id: bytes, *, operator_id: str, as_written: str) -> None:
        """Unblock `peer_id` (no error when it was not blocked). Raises TLogWriteError as `drain`."""
        ticket = self.record_operator_override(operator_id, BLOCKLIST_REMOVE, {"peer_id": as_written})
        self.core.blocklist_remove(peer_id)
        await self.wait_durable(ticket)

    async def operator_snapshot(self, *, operator_id: str) -> Path | None:
        """`snapshot_now()`, then the audit record (durable before returning). Raises SnapshotError (no
        record) or TLogWriteError."""
        path = await self.snapshot_now()
        await self.wait_durable(self.record_operator_override(operator_id, "snapshot", {}))
        return path

    async def recompute(self, consumer_id: bytes, *, operator_id: str, as_written: str) -> bool:
        """Rebuild the consumer's ledger-derived credit state from every committed ledger entry that admission
        has applied so far (dispute buckets, which the ledger does not carry, are kept), then record it.
        Returns False (and records nothing) when neither the ledger nor admission knows the identity.

        Reading the ledger yields to the event loop; meanwhile new entries keep being applied live. The
        rebuild therefore uses exactly the entries up to the position admission has reflected at the moment
        of the swap (read synchronously, with no checkpoint in between): no entry is counted twice or lost.
        """
        source = self._ledger_source
        touching: list[tuple[int, LedgerEvent]] = []
        read_through = 0
        while True:
            target = self._ledger_seq
            exhausted = False
            while source is not None and read_through < target:
                page = await source.entries_since(read_through, RECOMPUTE_PAGE_SIZE)
                if not page:
                    exhausted = True
                    break
                touching.extend(await trio.to_thread.run_sync(_events_touching, consumer_id, page))
                read_through = page[-1].seq
            target = self._ledger_seq
            if source is None or exhausted or read_through >= target:
                break
        events = [event for seq, event in touching if seq <= target]
        if self.core.recompute_consumer(consumer_id, events) is None:
            return False
        await self.wait_durable(
            self.record_operator_override(operator_id, "recompute", {"consumer_id": as_written})
        )
        return True

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
                # Never over other bytes under the same name (the same seq): see store_snapshot.
                await trio.to_thread.run_sync(store_snapshot, path, data)
            except SnapshotError as error:
                self.persistence_metrics.snapshot_emit_failures.inc()
                _logger.error("admission: snapshot failed", extra={"error": str(error)})
                raise
            retained = max(1, self.config.snapshots_retained)
            await trio.to_thread.run_sync(prune_snapshots, self.snapshot_prefix, retained)
            if writer is not None and not writer.closed:
                try:
                    writer.append(0, ts, TLogKind.SNAPSHOT_MARK, SnapshotMarkPayload(seq, str(path)).encode())
                except TLogWriteError as error:
                    _logger.warning("admission: SNAPSHOT_MARK append failed", extra={"error": str(error)})
            pm = self.persistence_metrics
            pm.snapshot_duration.observe(time.perf_counter() - started)
            pm.snapshot_last_success.set(time.time())
            pm.snapshot_bytes.set(len(data))
            self.last_snapshot_path = path
            self.last_snapshot_bytes = len(data)
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

    async def run_fsync_ticker(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Every `fsync_batch_window_ms` (at least 1 ms): write + fsync buffered records, then catch up with
        the ledger if behind. Errors are logged and counted; the ticker keeps running."""
        period = max(self.config.fsync_batch_window_ms, 1) / 1000.0
        task_status.started()
        failing = False
        async for _ in ticks(period):
            writer = self._writer
            if writer is not None and writer.needs_flush and not writer.closed:
                try:
                    await writer.flush(fsync=True)
                    if failing:
                        _logger.info("admission: tlog writes succeed again")
                    failing = False
                except TLogWriteError as error:
                    if not failing:
                        self.persistence_metrics.tlog_append_failures.inc()
                        _logger.error(
                            "admission: tlog flush failed (will retry)", extra={"error": str(error)}
                        )
                    failing = True
            if self._behind or self._verify_after_catch_up:
                try:
                    await self.catch_up()
                except Exception as error:  # the ledger is another subsystem; retry next tick
                    _logger.error(
                        "admission: ledger catch-up failed (will retry)", extra={"error": str(error)}
                    )

    async def run_snapshot_ticker(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Every `snapshot_interval_s`: `snapshot_now()`; failures are logged and counted."""
        interval = float(self.config.snapshot_interval_s)
        task_status.started()
        if interval <= 0 or not self.snapshot_prefix:
            await trio.sleep_forever()
        async for _ in ticks(interval):
            with contextlib.suppress(SnapshotError):  # logged and counted by snapshot_now
                await self.snapshot_now()

    async def run_aggregator(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Every 5 s: recompute supply and pressure from the registry and publish them (gauges, status)."""
        task_status.started()
        async for _ in ticks(AGGREGATE_PERIOD_S):
            self.core.aggregate(self._clock())

    async def run_queue_timeout_sweep(
        self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED
    ) -> None:
        """Every second: queue entries that waited `admission.queue_timeout_s` leave with REJECT
        QUEUE_TIMEOUT."""
        task_status.started()
        async for _ in ticks(QUEUE_TIMEOUT_SWEEP_PERIOD_S):
            expired: list[QueueTimeout] = self.core.sweep_queue_timeouts(self._clock())
            if expired:
                _logger.debug("admission: queue timeouts", extra={"rejected": len(expired)})

    def background_tasks(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        """(name, async task function) of every ticker, for the app's supervisor."""
        return [
            ("admission-aggregator", self.run_aggregator),
            ("admission-tlog-fsync", self.run_fsync_ticker),
            ("admission-snapshot", self.run_snapshot_ticker),
            ("admission-queue-timeout-sweep", self.run_queue_timeout_sweep),
        ]

    async def aclose(self, *, final_snapshot: bool = True) -> None:
        """Final snapshot (unless `final_snapshot` is False: after a forced exit or a crash the next start
        replays the tlog instead), then flush + fsync + close the tlog. Shielded from cancellation;
        idempotent. Raises TLogWriteError (counted, logged) when the final flush fails: records were lost, and
        `run` exits 1."""
        with trio.CancelScope(shield=True):
            if self._closed:
                return
            self._closed = True
            if final_snapshot and self._replayed and self.snapshot_prefix:
                # Seconds for a large region: say so before and after, so a quiet shutdown is not a hang.
                _logger.info(
                    "admission: writing the final snapshot",
                    extra={"consumers": len(self.core.consumers), "seq": self._last_seq},
                )
                started = time.perf_counter()
                try:
                    path = await self.snapshot_now()
                except SnapshotError as error:
                    _logger.error("admission: final snapshot failed", extra={"error": str(error)})
                else:
                    _logger.info(
                        "admission: final snapshot written",
                        extra={
                            "path": str(path),
                            "bytes": self.last_snapshot_bytes,
                            "duration_s": round(time.perf_counter() - started, 3),
                        },
                    )
            writer = self._writer
            if writer is not None:
                try:
                    await writer.aclose()
                except TLogWriteError as error:
                    self.persistence_metrics.tlog_append_failures.inc()
                    _logger.error(
                        "admission: the final tlog flush failed; buffered records lost",
                        extra={"error": str(error)},
                    )
                    raise TLogWriteError(
                        f"admission: the final tlog flush failed, buffered records were not written: {error}"
                    ) from error
