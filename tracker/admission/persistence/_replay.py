"""Start-up replay from disk (admission.md §9 plus docs/protocol.md): newest readable snapshot
(older ones on failure; all unreadable → degraded), then the tlog records after it, repairing the tlog on disk
(a torn tail cut off and kept in a sibling file; a damaged file moved aside untouched with every valid frame
rewritten under the original name), and the admin blocklist changes from every OPERATOR_OVERRIDE record.

This module is blocking file I/O plus pure apply calls; `AdmissionService.startup_replay` runs it in a
worker thread before anything else touches the state, then does the ledger cross-check on the Trio thread. The
seq scheme it relies on is in `_seq.py` and ../DESIGN.md.
"""

from __future__ import annotations

import gc
import logging
import mmap
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tracker.admission._errors import SnapshotError, TLogError, TLogNotATLogError
from tracker.admission.core._events import LedgerEvent
from tracker.admission.persistence._files import fsync_directory, write_durably
from tracker.admission.persistence._records import blocklist_change, record_to_event
from tracker.admission.persistence._seq import (
    LEDGER_SEQ_SHIFT,
    LEDGER_SEQ_STEP,
    LOCAL_SEQ_MASK,
    ledger_seq_of,
)
from tracker.admission.persistence._snapshot_format import SnapshotData
from tracker.admission.persistence._snapshot_store import enumerate_snapshots, read_snapshot_file
from tracker.admission.persistence._tlog_format import SETTLEMENT_PAYLOAD, SETTLEMENT_PAYLOAD_SIZE, TLogKind
from tracker.admission.persistence._tlog_reader import (
    RunTaker,
    TLogScan,
    cut_torn_tail,
    enumerate_tlog_files,
    move_aside,
    next_frame_offset,
    read_file_bytes,
    scan_tlog_bytes,
)

if TYPE_CHECKING:  # numpy is imported only when there is something to replay in bulk
    from tracker.admission.persistence.bulk._engine import BulkReplay

__all__ = [
    "ReplayReport",
    "TLogDamage",
    "apply_tlog_tail",
    "refuse_foreign_tlog_files",
    "replay_from_disk",
]

_logger = logging.getLogger("tracker.admission.replay")

_SETTLEMENT = SETTLEMENT_PAYLOAD
_SETTLEMENT_KIND = int(TLogKind.SETTLEMENT)
_OVERRIDE_KIND = int(TLogKind.OPERATOR_OVERRIDE)


@dataclass(slots=True)
class TLogDamage:
    """One damaged tlog file: where the good prefix ends and where the original bytes were moved."""

    path: Path
    offset: int
    reason: str  # "damaged_frames" or "truncated_mid_stream"
    moved_to: Path | None
    ranges: list[tuple[int, int]] = field(default_factory=list)  # damaged [start, end) byte ranges
    records_recovered: int = 0


@dataclass(slots=True)
class ReplayReport:
    """What start-up replay found and did."""

    snapshot_path: Path | None = None
    snapshot_seq: int = 0
    snapshot_load_failures: int = 0
    snapshot_errors: list[str] = field(default_factory=list)
    degraded: bool = False
    tlog_files: int = 0
    tlog_records_read: int = 0
    tlog_records_applied: int = 0
    tlog_records_in_bulk: int = 0  # of those, applied as part of a whole run (BulkReplay)
    torn_tails_cut: int = 0
    torn_tails_kept: list[Path] = field(default_factory=list)  # sibling files holding the bytes that were cut
    damage: list[TLogDamage] = field(default_factory=list)
    lost_local_records: int = (
        0  # local records (disputes, overrides) lost in damaged ranges, not in the snapshot
    )
    unusable_snapshots: list[Path] = field(default_factory=list)
    # Admin blocklist changes from OPERATOR_OVERRIDE records, in file order, from every tlog file (also
    # before the snapshot: the snapshot format, Go's, has no blocklist): (added, peer id).
    blocklist_changes: list[tuple[bool, bytes]] = field(default_factory=list)
    payload_errors: int = 0
    last_seq: int = 0  # highest seq seen in any snapshot or tlog record
    applied_seq: int = 0  # highest seq whose effect is in memory
    ledger_contiguous: int = 0  # every ledger entry <= this is reflected in memory
    # First hole in the ledger-derived records (a lost or damaged stretch of tlog): records with seq > this
    # were
    # NOT applied by the disk pass. Ledger entries after the hole are re-read from the ledger in order; the
    # local
    # records after it are kept here to be merged in at their positions.
    deferred_after_seq: int | None = None
    deferred_local: list[tuple[int, LedgerEvent]] = field(default_factory=list)
    deferred_records: int = 0
    floor: int = 0  # highest seq considered so far (records at or below it are never applied again)
    cross_check_applied: int = 0
    cross_check_persisted: int = 0
    duration_s: float = 0.0  # of the disk pass (snapshot + tlog + repair)
    # Progress, read from another thread while the disk pass runs: the step under way ("snapshot", "tlog",
    # "repair", "done"), and how far the tlog scan got (whole files; records are counted above).
    phase: str = "pending"
    tlog_bytes: int = 0
    tlog_files_done: int = 0


def load_newest_snapshot(
    prefix: str, report: ReplayReport, bulk: BulkReplay | None = None
) -> SnapshotData | None:
    """Try snapshots newest → oldest; the first readable one wins. Failures are counted in `report`; if files
    exist but none is readable, `report.degraded` is set. With `bulk`, the consumers go straight into it
    (the returned SnapshotData then has none)."""
    snapshots = enumerate_snapshots(prefix)
    for _, path in reversed(snapshots):
        try:
            if bulk is None:
                data = read_snapshot_file(path)
            else:
                from tracker.admission.persistence.bulk._columns import open_snapshot_columns

                with open_snapshot_columns(path) as columns:
                    bulk.adopt_snapshot(columns)
                    data = SnapshotData(
                        columns.seq, columns.ts, {}, columns.seeders, trailing_bytes=columns.trailing_bytes
                    )
                    del columns  # the entries view the mapping, which closes now
        except SnapshotError as error:
            report.snapshot_load_failures += 1
            report.snapshot_errors.append(str(error))
            report.unusable_snapshots.append(path)
            _logger.error(
                "admission: snapshot unusable, trying an older one",
                extra={"path": str(path), "error": str(error)},
            )
            continue
        report.snapshot_path = path
        report.snapshot_seq = data.seq
        return data
    if snapshots:
        report.degraded = True
        _logger.error(
            "admission: no snapshot is readable; running in degraded mode",
            extra={"snapshots": len(snapshots), "prefix": prefix},
        )
    return None


def replay_from_disk(
    *,
    tlog_path: str,
    snapshot_prefix: str,
    install_snapshot: Callable[[SnapshotData], None],
    apply_event: Callable[[LedgerEvent], None],
    bulk_factory: Callable[[], BulkReplay] | None = None,
    repair: bool = True,
    now: Callable[[], float] = time.time,
    report: ReplayReport | None = None,
) -> ReplayReport:
    """Load the newest usable snapshot and replay the tlog after it. Blocking.

    Pass a fresh `report` to watch the progress fields from another thread while this runs.

    Records with seq <= the snapshot seq (or <= an earlier applied record) are skipped, so nothing is applied
    twice. With `repair`, the active file's torn tail is cut off, and a file with a mid-file CRC failure (or a
    torn frame in a rotated file) is moved aside while its good prefix is rewritten under the original name.
    With `bulk_factory` (called only when there is a snapshot or a non-empty tlog file), the snapshot and
    the records go into a BulkReplay (same rules, in columns; long runs as a whole) instead of
    `apply_event`, and it is finished before returning. OSError from listing directories propagates.
    """
    # Replay allocates millions of short-lived, acyclic objects; the cyclic collector would rescan the growing
    # state over and over (~15 % of the time). Nothing else runs during start-up replay.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _replay_from_disk(
            tlog_path=tlog_path,
            snapshot_prefix=snapshot_prefix,
            install_snapshot=install_snapshot,
            apply_event=apply_event,
            bulk_factory=bulk_factory,
            repair=repair,
            now=now,
            report=report if report is not None else ReplayReport(),
        )
    finally:
        if gc_was_enabled:
            gc.enable()


def _replay_from_disk(
    *,
    tlog_path: str,
    snapshot_prefix: str,
    install_snapshot: Callable[[SnapshotData], None],
    apply_event: Callable[[LedgerEvent], None],
    bulk_factory: Callable[[], BulkReplay] | None,
    repair: bool,
    now: Callable[[], float],
    report: ReplayReport,
) -> ReplayReport:
    started = time.perf_counter()
    bulk = bulk_factory() if bulk_factory is not None and _has_data(tlog_path, snapshot_prefix) else None
    report.phase = "snapshot"
    snapshot = load_newest_snapshot(snapshot_prefix, report, bulk) if snapshot_prefix else None
    if snapshot is not None:
        install_snapshot(snapshot)
        report.last_seq = report.applied_seq = snapshot.seq
        report.ledger_contiguous = ledger_seq_of(snapshot.seq)
    if tlog_path:
        report.phase = "tlog"
        plan = _scan_tlog_files(tlog_path, report, apply_event, bulk)
        report.phase = "repair"
        _repair(plan, report, now if repair else None)
    if bulk is not None:
        report.tlog_records_in_bulk = bulk.records_in_runs
        bulk.finish()
    report.phase = "done"
    report.duration_s = time.perf_counter() - started
    return report


@dataclass(slots=True)
class _Repair:
    """What the scan found wrong with one tlog file: a torn tail to cut (`reason` None: the active file's
    normal end after a crash) or damage (`reason` set): the good prefix is kept, the original set aside."""

    path: Path
    scan: TLogScan
    reason: str | None
    good_prefix: bytes = b""


def _scan_tlog_files(
    tlog_path: str,
    report: ReplayReport,
    apply_event: Callable[[LedgerEvent], None],
    bulk: BulkReplay | None,
) -> list[_Repair]:
    """Apply the records of every tlog file after the snapshot, in seq order (each at most once; everything
    after the first hole or damage is deferred), and return the repairs the files need. Reads only."""
    files = enumerate_tlog_files(tlog_path)
    report.tlog_files = len(files)
    report.tlog_bytes = sum(path.stat().st_size for path in files)
    report.floor = report.applied_seq

    def defer() -> None:  # a hole in the ledger-derived records: the ledger fills it
        if report.deferred_after_seq is None:
            report.deferred_after_seq = report.applied_seq

    settle = bulk.settlement if bulk is not None else None
    apply_any = bulk.apply if bulk is not None else apply_event
    unpack_settlement = _SETTLEMENT.unpack_from

    def on_record(seq: int, ts: int, kind: int, payload: bytes) -> None:
        report.tlog_records_read += 1
        if seq > report.last_seq:
            report.last_seq = seq
        if kind == _OVERRIDE_KIND:
            try:
                change = blocklist_change(payload)
            except TLogError as error:
                report.payload_errors += 1
                _logger.warning(
                    "admission: tlog record skipped",
                    extra={"seq": seq, "kind": kind, "error": str(error)},
                )
                change = None
            if change is not None:
                report.blocklist_changes.append(change)
        if seq <= report.floor:
            return  # already in the snapshot (or out of order): never apply twice
        report.floor = seq
        ledger_derived = seq & LOCAL_SEQ_MASK == 0
        if report.deferred_after_seq is None and (
            seq >> LEDGER_SEQ_SHIFT != report.ledger_contiguous + 1
            if ledger_derived
            # a local record belongs after the ledger entry it was written at: entries missing before it
            # (a snapshot lost with the records it covered) come from the ledger first
            else seq >> LEDGER_SEQ_SHIFT > report.ledger_contiguous
        ):
            defer()
        if (
            kind == _SETTLEMENT_KIND
            and settle is not None
            and report.deferred_after_seq is None
            and len(payload) >= SETTLEMENT_PAYLOAD_SIZE
        ):
            consumer, seeder, cost, flags = unpack_settlement(payload)
            settle(consumer, seeder, cost, flags, ts)  # the hot path: settlements, in bulk
        else:
            try:
                event = record_to_event(kind, ts, payload)
            except TLogError as error:
                report.payload_errors += 1
                _logger.warning(
                    "admission: tlog record skipped",
                    extra={"seq": seq, "kind": kind, "error": str(error)},
                )
                return
            if event is None:
                return
            if report.deferred_after_seq is not None:
                report.deferred_records += 1
                if not ledger_derived:
                    report.deferred_local.append((seq, event))
                return
            apply_any(event)
        report.applied_seq = seq
        report.tlog_records_applied += 1
        if ledger_derived:
            report.ledger_contiguous = seq >> LEDGER_SEQ_SHIFT

    plan: list[_Repair] = []
    for index, path in enumerate(files):
        is_active = index == len(files) - 1 and path.name == Path(tlog_path).name
        try:
            with read_file_bytes(path) as data:
                take_run = _bulk_run_taker(data, report, bulk) if bulk is not None else None
                scan = scan_tlog_bytes(data, on_record, path, take_run)
                del take_run  # it holds `data`
                if scan.not_a_tlog:
                    refuse_foreign_tlog_files(tlog_path)
                reason = _damage_reason(scan, is_active)
                if reason is not None:
                    plan.append(_Repair(path, scan, reason, _valid_frames(data, scan)))
                elif scan.truncated:
                    plan.append(_Repair(path, scan, None))
        except OSError as error:
            raise OSError(f"admission: read tlog {path}: {error}") from error
        report.tlog_files_done = index + 1
    return plan


def _repair(plan: list[_Repair], report: ReplayReport, now: Callable[[], float] | None) -> None:
    """Carry out the repairs, in file order (`now` None: report the damage, change nothing on disk)."""
    for item in plan:
        scan = item.scan
        if item.reason is not None:
            report.degraded = True
            lost = sum(1 for seq in scan.lost_local_seqs if seq > report.snapshot_seq)  # not in the snapshot
            report.lost_local_records += lost
            offset = scan.corrupt_offset if scan.corrupt_offset is not None else scan.good_end
            moved_to = (
                _set_damaged_file_aside(item.path, item.good_prefix, now()) if now is not None else None
            )
            report.damage.append(
                TLogDamage(item.path, offset, item.reason, moved_to, list(scan.damage), scan.records)
            )
            _logger.error(
                "admission: tlog damaged; valid records recovered, original moved aside",
                extra={
                    "path": str(item.path),
                    "offset": offset,
                    "reason": item.reason,
                    "damaged_ranges": len(scan.damage),
                    "records_recovered": scan.records,
                    "local_records_lost": lost,
                    "moved_to": str(moved_to) if moved_to is not None else None,
                },
            )
        elif now is not None:
            kept = cut_torn_tail(item.path, scan.good_end, now())
            report.torn_tails_cut += 1
            report.torn_tails_kept.append(kept)
            _logger.warning(
                "admission: tlog ended in a torn frame; cut it off",
                extra={
                    "path": str(item.path),
                    "bytes_cut": scan.size - scan.good_end,
                    "offset": scan.good_end,
                    "kept_in": str(kept),
                },
            )


def _valid_frames(data: bytes | mmap.mmap, scan: TLogScan) -> bytes:
    """The file's bytes without its damaged ranges and torn tail: every valid frame, in order."""
    end = scan.good_end if scan.truncated else scan.size
    kept: list[bytes] = []
    position = 0
    for start, stop in scan.damage:
        kept.append(bytes(data[position : min(start, end)]))
        position = stop
    if position < end:
        kept.append(bytes(data[position:end]))
    return b"".join(kept)


def _has_data(tlog_path: str, snapshot_prefix: str) -> bool:
    """Is there a snapshot or a non-empty tlog file to replay?"""
    if snapshot_prefix and enumerate_snapshots(snapshot_prefix):
        return True
    return bool(tlog_path) and any(path.stat().st_size for path in enumerate_tlog_files(tlog_path))


def _bulk_run_taker(data: bytes | mmap.mmap, report: ReplayReport, bulk: BulkReplay) -> RunTaker:
    """The `take_run` hook of `scan_tlog_bytes` that applies runs of the next contiguous ledger-derived
    records (not waiting behind a hole) to `bulk` as a whole, when they are long enough; shorter runs are
    left to `on_record`, one by one."""
    from tracker.admission.persistence.bulk import _engine as _replay_bulk

    shortest_run = _replay_bulk.MIN_BULK_RUN
    find_ledger_run = _replay_bulk.find_ledger_run
    step = LEDGER_SEQ_STEP
    look_from = 0  # after a short run: the offset from which to look again

    def take_run(offset: int, seq: int) -> tuple[int, int, int] | None:
        nonlocal look_from
        if (
            offset < look_from
            or report.deferred_after_seq is not None
            or seq <= report.floor
            or seq & LOCAL_SEQ_MASK
            or seq >> LEDGER_SEQ_SHIFT != report.ledger_contiguous + 1
        ):
            return None
        run = find_ledger_run(data, offset, seq, step)
        count = len(run)
        end = run.end
        if count < shortest_run:
            look_from = end
            return None
        bulk.apply_ledger_run(run)
        del run  # it views `data`
        last = seq + (count - 1) * step
        report.tlog_records_read += count
        report.tlog_records_applied += count
        report.ledger_contiguous += count
        report.floor = report.applied_seq = last
        report.last_seq = max(report.last_seq, last)
        return end, count, last

    return take_run


def apply_tlog_tail(tlog_path: str, after_seq: int, apply_event: Callable[[LedgerEvent], None]) -> int:
    """Second disk pass when the ledger cannot fill a hole: apply every record with seq > `after_seq` in file
    order (each seq at most once). Returns the highest ledger seq among them. Blocking."""
    floor = after_seq
    highest_ledger = 0

    def on_record(seq: int, ts: int, kind: int, payload: bytes) -> None:
        nonlocal floor, highest_ledger
        if seq <= floor:
            return
        floor = seq
        try:
            event = record_to_event(kind, ts, payload)
        except TLogError:
            return
        if event is None:
            return
        apply_event(event)
        if seq & LOCAL_SEQ_MASK == 0:
            highest_ledger = max(highest_ledger, seq >> LEDGER_SEQ_SHIFT)

    for path in enumerate_tlog_files(tlog_path):
        with read_file_bytes(path) as data:
            scan_tlog_bytes(data, on_record, path)
    return highest_ledger


def refuse_foreign_tlog_files(tlog_path: str) -> None:
    """Raise TLogNotATLogError if a file where a tlog is expected (`tlog_path` and its rotated files) holds
    not one valid frame, e.g. a tlog path that names the ledger database or a text file. Read-only and cheap
    for a real tlog (its first frame decides); run before anything else opens the files. Blocking."""
    for path in enumerate_tlog_files(tlog_path):
        with read_file_bytes(path) as data:
            if not data or next_frame_offset(data, 0) == 0 or not scan_tlog_bytes(data).not_a_tlog:
                continue
            raise TLogNotATLogError(
                f"admission/tlog: {path} is not an admission tlog (not one valid frame in its "
                f"{len(data)} bytes); check admission.tlog_path (the file was left unchanged)"
            )


def _damage_reason(scan: TLogScan, is_active: bool) -> str | None:
    if scan.damage:
        return "damaged_frames"
    if scan.truncated and not is_active:
        return "truncated_mid_stream"
    return None


def _set_damaged_file_aside(path: Path, good_prefix: bytes, now: float) -> Path:
    """Move the damaged file aside untouched and put its valid frames back under the original name
    (crash-safe order: they are written and fsynced to a temporary name first)."""
    repair_tmp = path.with_name(path.name + ".repair.tmp")
    write_durably(repair_tmp, good_prefix)
    moved_to = move_aside(path, now)
    os.rename(repair_tmp, path)
    fsync_directory(path.parent)
    return moved_to
