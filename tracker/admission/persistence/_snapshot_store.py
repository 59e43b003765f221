"""Snapshot files on disk (admission.md §8.2): naming `<prefix>.<%020d seq>`, enumeration, crash-safe writes
(`.tmp` → fsync → rename → directory fsync), loading with typed errors, and retention pruning.

Every function here is blocking file I/O; the Trio layer runs them in worker threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from pathlib import Path

from tracker._regular_file import open_regular_file
from tracker.admission._errors import SnapshotReadError, SnapshotWriteError
from tracker.admission.persistence._files import fsync_directory, write_durably
from tracker.admission.persistence._snapshot_format import (
    ConsumerFactory,
    SnapshotData,
    decode_snapshot,
)

__all__ = [
    "SnapshotReadError",
    "SnapshotWriteError",
    "enumerate_snapshots",
    "prune_snapshots",
    "read_snapshot_file",
    "snapshot_path",
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
