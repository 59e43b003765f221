"""Setting a whole admission state aside: used when the operator starts a new ledger on purpose, so the old
tlog and snapshots (which describe another chain) are kept, untouched, under names start-up never reads."""

from __future__ import annotations

import os
from pathlib import Path

from tracker.admission.persistence._files import fsync_directory, sibling_name
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files

ORPHANED_SUFFIX = ".orphaned"


def admission_state_files(tlog_path: str, snapshot_prefix: str) -> list[Path]:
    """Every tlog (rotated and active, if not empty) and snapshot file start-up would read, sorted."""
    found: list[Path] = []
    if tlog_path:
        found.extend(path for path in enumerate_tlog_files(tlog_path) if path.stat().st_size > 0)
    if snapshot_prefix:
        found.extend(path for _, path in enumerate_snapshots(snapshot_prefix))
    return sorted(set(found))


def set_aside_admission_state(tlog_path: str, snapshot_prefix: str, now: float | None = None) -> list[Path]:
    """Rename every file of `admission_state_files` to `<name>.orphaned-<UTC time>[-N]` (nothing is
    overwritten or deleted; enumeration skips the non-numeric suffix) and return the new paths."""
    moved: list[Path] = []
    directories: set[Path] = set()
    for path in admission_state_files(tlog_path, snapshot_prefix):
        target = sibling_name(path, ORPHANED_SUFFIX, now)
        os.rename(path, target)
        moved.append(target)
        directories.add(path.parent)
    for directory in directories:
        fsync_directory(directory)
    return moved
