"""Start-up replay from disk (admission.md §9 plus README "Deliberate differences"): newest readable snapshot
(older ones on failure; all unreadable → degraded), then the tlog records after it, repairing the tlog on disk
as it goes (torn tail cut off; a damaged file moved aside with its good prefix kept under the original name).

This module is blocking file I/O plus pure apply calls; `PersistentAdmission.startup_replay` runs it in a worker
thread before anything else touches the state, then does the ledger cross-check on the Trio thread. The seq
scheme it relies on is described in `_persistent.py`.
"""

from __future__ import annotations

import bisect
import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tracker.admission._events import LedgerEvent
from tracker.admission._persist_records import record_to_event
from tracker.admission._snapshot_format import SnapshotData, SnapshotError
from tracker.admission._snapshot_store import enumerate_snapshots, read_snapshot_file
from tracker.admission._tlog_format import TLogError
from tracker.admission._tlog_reader import (
    TLogScan,
    cut_torn_tail,
    enumerate_tlog_files,
    move_aside,
    read_file_bytes,
    scan_tlog_bytes,
)

__all__ = [
    "LEDGER_SEQ_SHIFT",
    "LOCAL_SEQ_MASK",
    "LedgerSeqSet",
    "ReplayReport",
    "TLogDamage",
    "ledger_seq_of",
    "replay_from_disk",
    "tlog_seq_for_ledger",
]

_logger = logging.getLogger("tracker.admission.replay")

LEDGER_SEQ_SHIFT = 20
"""tlog seq of the record derived from ledger entry L = L << 20; local records take the next free seq."""
LOCAL_SEQ_MASK = (1 << LEDGER_SEQ_SHIFT) - 1


def tlog_seq_for_ledger(ledger_seq: int) -> int:
    return ledger_seq << LEDGER_SEQ_SHIFT


def ledger_seq_of(tlog_seq: int) -> int:
    """The ledger position a tlog/snapshot seq reflects."""
    return tlog_seq >> LEDGER_SEQ_SHIFT


def is_ledger_derived(tlog_seq: int) -> bool:
    return tlog_seq > 0 and tlog_seq & LOCAL_SEQ_MASK == 0


class LedgerSeqSet:
    """A set of ledger seqs kept as sorted, merged [start, end] intervals (they are almost always contiguous)."""

    __slots__ = ("_ends", "_starts")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []

    def add(self, seq: int) -> None:
        if self._ends and self._ends[-1] + 1 == seq:
            self._ends[-1] = seq
            return
        if self._ends and self._ends[-1] >= seq and seq in self:
            return
        index = bisect.bisect_left(self._starts, seq)
        self._starts.insert(index, seq)
        self._ends.insert(index, seq)

    def __contains__(self, seq: int) -> bool:
        index = bisect.bisect_right(self._starts, seq) - 1
        return index >= 0 and self._ends[index] >= seq

    def __len__(self) -> int:
        return sum(end - start + 1 for start, end in zip(self._starts, self._ends, strict=True))

    def max(self) -> int:
        return self._ends[-1] if self._ends else 0


@dataclass(slots=True)
class TLogDamage:
    """One damaged tlog file: where the good prefix ends and where the original bytes were moved."""

    path: Path
    offset: int
    reason: str  # "crc_mismatch" or "truncated_mid_stream"
    moved_to: Path | None


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
    torn_tails_cut: int = 0
    damage: list[TLogDamage] = field(default_factory=list)
    payload_errors: int = 0
    last_seq: int = 0  # highest seq seen in any snapshot or tlog record
    applied_seq: int = 0  # highest seq whose effect is in memory
    ledger_contiguous: int = 0  # every ledger entry <= this is reflected in memory
    ledger_seen: LedgerSeqSet = field(
        default_factory=LedgerSeqSet
    )  # ledger entries > contiguous already applied
    cross_check_applied: int = 0
    cross_check_persisted: int = 0
    duration_s: float = 0.0


def load_newest_snapshot(prefix: str, report: ReplayReport) -> SnapshotData | None:
    """Try snapshots newest → oldest; the first readable one wins. Failures are counted in `report`; if files
    exist but none is readable, `report.degraded` is set."""
    snapshots = enumerate_snapshots(prefix)
    for _, path in reversed(snapshots):
        try:
            data = read_snapshot_file(path)
        except SnapshotError as error:
            report.snapshot_load_failures += 1
            report.snapshot_errors.append(str(error))
            _logger.error("admission: snapshot %s unusable, trying an older one: %s", path, error)
            continue
        report.snapshot_path = path
        report.snapshot_seq = data.seq
        return data
    if snapshots:
        report.degraded = True
        _logger.error(
            "admission: none of the %d snapshots under %s is readable; running in degraded mode",
            len(snapshots),
            prefix,
        )
    return None


def replay_from_disk(
    *,
    tlog_path: str,
    snapshot_prefix: str,
    install_snapshot: Callable[[SnapshotData], None],
    apply_event: Callable[[LedgerEvent], None],
    repair: bool = True,
    now: Callable[[], float] = time.time,
) -> ReplayReport:
    """Load the newest usable snapshot and replay the tlog after it. Blocking.

    Records with seq <= the snapshot seq (or <= an earlier applied record) are skipped, so nothing is applied
    twice. With `repair`, the active file's torn tail is cut off, and a file with a mid-file CRC failure (or a
    torn frame in a rotated file) is moved aside while its good prefix is rewritten under the original name.
    OSError from listing directories propagates.
    """
    started = time.perf_counter()
    report = ReplayReport()
    snapshot = load_newest_snapshot(snapshot_prefix, report) if snapshot_prefix else None
    if snapshot is not None:
        install_snapshot(snapshot)
        report.last_seq = report.applied_seq = snapshot.seq
        report.ledger_contiguous = ledger_seq_of(snapshot.seq)
    if tlog_path:
        files = enumerate_tlog_files(tlog_path)
        report.tlog_files = len(files)
        gap_seen = False

        def on_record(seq: int, ts: int, kind: int, payload: bytes) -> None:
            nonlocal gap_seen
            report.tlog_records_read += 1
            if seq > report.last_seq:
                report.last_seq = seq
            if seq <= report.applied_seq:
                return  # already in the snapshot (or out of order: never apply twice)
            try:
                event = record_to_event(kind, ts, payload)
            except TLogError as error:
                report.payload_errors += 1
                _logger.warning("admission: tlog record seq=%d kind=%d skipped: %s", seq, kind, error)
                return
            if event is None:
                return
            apply_event(event)
            report.applied_seq = seq
            report.tlog_records_applied += 1
            if seq & LOCAL_SEQ_MASK == 0:
                ledger_seq = seq >> LEDGER_SEQ_SHIFT
                if not gap_seen and ledger_seq == report.ledger_contiguous + 1:
                    report.ledger_contiguous = ledger_seq
                else:
                    gap_seen = True
                    report.ledger_seen.add(ledger_seq)

        for index, path in enumerate(files):
            is_active = index == len(files) - 1 and path.name == Path(tlog_path).name
            try:
                with read_file_bytes(path) as data:
                    scan = scan_tlog_bytes(data, on_record, path)
                    damage_reason = _damage_reason(scan, is_active)
                    if damage_reason is not None:
                        gap_seen = True
                        good_prefix = bytes(data[: scan.good_end])
            except OSError as error:
                raise OSError(f"admission: read tlog {path}: {error}") from error
            if damage_reason is not None:
                report.degraded = True
                offset = scan.corrupt_offset if scan.corrupt_offset is not None else scan.good_end
                moved_to = _set_damaged_file_aside(path, good_prefix, now()) if repair else None
                report.damage.append(TLogDamage(path, offset, damage_reason, moved_to))
                _logger.error(
                    "admission: tlog %s damaged at offset %d (%s): kept %d good records, original moved to %s",
                    path,
                    offset,
                    damage_reason,
                    scan.records,
                    moved_to,
                )
            elif scan.truncated and repair:
                cut_torn_tail(path, scan.good_end)
                report.torn_tails_cut += 1
                _logger.warning(
                    "admission: tlog %s ended in a torn frame; cut %d bytes at offset %d",
                    path,
                    scan.size - scan.good_end,
                    scan.good_end,
                )
    report.duration_s = time.perf_counter() - started
    return report


def _damage_reason(scan: TLogScan, is_active: bool) -> str | None:
    if scan.corrupt_offset is not None:
        return "crc_mismatch"
    if scan.truncated and not is_active:
        return "truncated_mid_stream"
    return None


def _set_damaged_file_aside(path: Path, good_prefix: bytes, now: float) -> Path:
    """Move the damaged file aside and put its good prefix back under the original name (crash-safe order:
    the prefix is written and fsynced to a temporary name first)."""
    repair_tmp = path.with_name(path.name + ".repair.tmp")
    fd = os.open(repair_tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(good_prefix)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    moved_to = move_aside(path, now)
    os.rename(repair_tmp, path)
    with contextlib.suppress(OSError):
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return moved_to
