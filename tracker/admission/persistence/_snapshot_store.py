"""Snapshot files on disk (admission.md §8.2): naming `<prefix>.<%020d seq>`, enumeration, crash-safe writes
(`.tmp` → fsync → rename → directory fsync), loading with typed errors, and retention pruning.

A snapshot whose name is taken already (the same seq: nothing was recorded since, e.g. the snapshot taken
right after a tlog repair, or a periodic one on an idle tracker) never silently replaces other bytes
(`store_snapshot`): a file holding the same state stays as it is; one that is not a readable snapshot, or
holds other credit state than the tracker has at that seq (bytes it cannot explain), is moved aside first
(`.damaged-<time>`: kept, never pruned, listed by `admission inspect`); only a readable snapshot of the same
position whose seeder heartbeat counters are older is replaced. Retention counts snapshot files, so none of
this changes how many are kept.

Every function here is blocking file I/O; the Trio layer runs them in worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from tracker._regular_file import open_regular_file
from tracker.admission._errors import SnapshotError, SnapshotReadError, SnapshotWriteError
from tracker.admission.persistence._files import fsync_directory, move_aside, write_durably
from tracker.admission.persistence._snapshot_format import (
    CONSUMER_ENTRY_SIZE,
    SEEDER_ENTRY_SIZE,
    ConsumerFactory,
    SnapshotData,
    SnapshotLayout,
    decode_snapshot,
    snapshot_layout,
)

__all__ = [
    "SnapshotReadError",
    "SnapshotWriteError",
    "StoredSnapshot",
    "enumerate_snapshots",
    "prune_snapshots",
    "read_snapshot_file",
    "snapshot_path",
    "store_snapshot",
    "write_snapshot_file",
]

_logger = logging.getLogger("tracker.admission.snapshot")
_DIGITS = re.compile(r"[0-9]+")
DEFAULT_RETAINED = 3


def snapshot_path(prefix: str | os.PathLike[str], seq: int) -> Path:
    """`<prefix>.<seq as 20 zero-padded digits>`."""
    prefix = Path(prefix)
    return prefix.with_name(f"{prefix.name}.{seq:020d}")


def enumerate_snapshots(prefix: str | os.PathLike[str]) -> list[tuple[int, Path]]:
    """(seq, path) of every `<prefix>.<decimal>` file, ascending by seq. `.tmp` files, moved-aside files and
    other suffixes are skipped; a missing directory gives []. Other OSErrors propagate."""
    prefix = Path(prefix)
    head = prefix.name + "."
    found: list[tuple[int, Path]] = []
    try:
        entries = list(os.scandir(prefix.parent))
    except FileNotFoundError:
        return []
    for entry in entries:
        if entry.name.startswith(head):
            suffix = entry.name[len(head) :]
            if _DIGITS.fullmatch(suffix):
                found.append((int(suffix), Path(entry.path)))
    found.sort(key=lambda item: (item[0], item[1].name))
    return found


def read_snapshot_file(path: Path, consumer_factory: ConsumerFactory | None = None) -> SnapshotData:
    """Read and decode one snapshot. Raises SnapshotFormatError (bad bytes) or SnapshotReadError (I/O)."""
    try:
        with open(open_regular_file(path), "rb") as handle:  # a FIFO or device is refused, never read
            data = handle.read()
    except OSError as error:
        raise SnapshotReadError(f"admission/snapshot: read {path}: {error}") from error
    return decode_snapshot(data, consumer_factory)


def write_snapshot_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: `<path>.tmp` (mode 0644), fsync, rename, fsync the directory."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        write_durably(tmp, data)
        os.rename(tmp, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise SnapshotWriteError(f"admission/snapshot: write {path}: {error}") from error
    fsync_directory(path.parent)


@dataclass(frozen=True)
class StoredSnapshot:
    """What `store_snapshot` did: `written` False when the file on disk already held the same state (kept
    byte-identical); `moved_aside` names where other bytes found under the snapshot's name now are."""

    path: Path
    written: bool
    moved_aside: Path | None = None


def store_snapshot(path: Path, data: bytes, now: float | None = None) -> StoredSnapshot:
    """Write snapshot `data` (valid snapshot bytes) to `path` without destroying bytes found there: see the
    module docstring. Raises SnapshotWriteError."""
    path = Path(path)
    try:
        with open(open_regular_file(path), "rb") as handle:  # a FIFO or device is refused, never read
            existing = handle.read()
    except FileNotFoundError:
        existing = None
    except OSError:  # not a regular file (or unreadable): moved aside below, never written over
        existing = b""
    moved_aside = None
    if existing is not None:
        same_consumers, same_seeders = _same_state(existing, data)
        if same_consumers and same_seeders:
            return StoredSnapshot(path, written=False)
        if not same_consumers:
            try:
                moved_aside = move_aside(path, now)
            except OSError as error:
                raise SnapshotWriteError(f"admission/snapshot: move {path} aside: {error}") from error
            _logger.warning(
                "admission: a file under the new snapshot's name moved aside",
                extra={
                    "path": str(path),
                    "moved_to": str(moved_aside),
                    "readable": _readable(existing),  # False: not a snapshot; True: other credit state
                },
            )
    write_snapshot_file(path, data)
    return StoredSnapshot(path, written=True, moved_aside=moved_aside)


def _readable(data: bytes) -> bool:
    try:
        snapshot_layout(data)
    except SnapshotError:
        return False
    return True


def _same_state(existing: bytes, new: bytes) -> tuple[bool, bool]:
    """(same consumer state, same seeder state) of the snapshot bytes `existing` and the valid `new`, whatever
    their `ts` and entry order (Go writes entries in map order); (False, False) for unreadable `existing`."""
    try:
        old_layout = snapshot_layout(existing)
    except SnapshotError:
        return False, False
    new_layout = snapshot_layout(new)
    if old_layout.seq != new_layout.seq or old_layout.trailing_bytes:
        return False, False
    old_consumers, old_seeders = _entries(existing, old_layout)
    new_consumers, new_seeders = _entries(new, new_layout)
    return (
        _same_entries(old_consumers, new_consumers, CONSUMER_ENTRY_SIZE),
        _same_entries(old_seeders, new_seeders, SEEDER_ENTRY_SIZE),
    )


def _entries(data: bytes, layout: SnapshotLayout) -> tuple[memoryview, memoryview]:
    """The consumer and the seeder entries of a validated snapshot, as views."""
    view = memoryview(data)
    consumers_end = layout.consumers_at + layout.consumer_count * CONSUMER_ENTRY_SIZE
    seeders_end = layout.seeders_at + layout.seeder_count * SEEDER_ENTRY_SIZE
    return view[layout.consumers_at : consumers_end], view[layout.seeders_at : seeders_end]


def _same_entries(old: memoryview, new: memoryview, size: int) -> bool:
    if old == new:  # the same order: the usual case
        return True
    if len(old) != len(new):
        return False
    return sorted(bytes(old[at : at + size]) for at in range(0, len(old), size)) == sorted(
        bytes(new[at : at + size]) for at in range(0, len(new), size)
    )


def prune_snapshots(prefix: str | os.PathLike[str], keep: int) -> list[Path]:
    """Delete the oldest snapshots beyond the newest `keep` (3 when keep <= 0); returns the deleted paths.
    Removal errors are logged and skipped."""
    if keep <= 0:
        keep = DEFAULT_RETAINED
    deleted: list[Path] = []
    snapshots = enumerate_snapshots(prefix)
    for _, path in snapshots[: max(0, len(snapshots) - keep)]:
        try:
            os.unlink(path)
            deleted.append(path)
        except OSError as error:
            _logger.warning(
                "admission: snapshot prune failed", extra={"path": str(path), "error": str(error)}
            )
    return deleted
