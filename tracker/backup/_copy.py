"""Copying one live data file into the backup directory: plain files, the SQLite ledger (backup API from a
read-only connection: one read transaction, so the copy is the database at one commit), the admission tlog
(rotated files plus the active one, safe against a rotation during the copy, a torn last frame cut off) and
the snapshots. Blocking I/O; every copy is fsynced."""

from __future__ import annotations

import mmap
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from tracker.backup._admission_files import (
    SnapshotError,
    TLogScan,
    enumerate_snapshots,
    enumerate_tlog_files,
    scan_tlog_file,
    snapshot_layout,
)

__all__ = [
    "CopiedTLog",
    "check_snapshot",
    "copy_file",
    "copy_ledger",
    "copy_snapshots",
    "copy_tlog",
    "fsync_path",
]

_MAX_ROTATION_RETRIES = 20


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_file(source: Path, target: Path, mode: int | None = None) -> None:
    """Copy bytes (not metadata), optionally chmod, fsync. OSError propagates."""
    with open(source, "rb") as reader, open(target, "xb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
        writer.flush()
        if mode is not None:
            os.fchmod(writer.fileno(), mode)
        os.fsync(writer.fileno())


def copy_ledger(source: Path, target: Path) -> None:
    """The whole database as of one commit, via the SQLite online backup API in a single step (the source's
    WAL is read, writers are not blocked). The copy uses the rollback journal (one self-contained file);
    the tracker switches it back to WAL when it opens it."""
    if not source.is_file():
        raise FileNotFoundError(f"no ledger database at {source} (has the tracker run yet?)")
    reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    try:
        writer = sqlite3.connect(str(target))
        try:
            reader.backup(writer)
            writer.execute("PRAGMA journal_mode = DELETE")
        finally:
            writer.close()
    finally:
        reader.close()
    os.chmod(target, 0o600)
    fsync_path(target)


@dataclass(slots=True)
class CopiedTLog:
    """The tlog files now in the backup (oldest first) and what a scan of each copy found."""

    sources: list[Path]
    targets: list[Path]
    scans: list[TLogScan]
    torn_bytes_cut: int


def copy_tlog(base: Path, directory: Path) -> CopiedTLog:
    """Copy `<base>.<N>` (rotated, immutable) and `<base>` (active, being appended to).

    A rotation during the copy renames the active file to a new `<base>.<N>`: the listing is taken again
    after the active file was copied, and if a new rotated file appeared the round repeats (the active copy
    is dropped; the new rotated file holds its bytes). The active copy may end in a frame the tracker was
    writing at that instant: it is cut at the last complete frame (start-up replay would do the same)."""
    copied: dict[str, Path] = {}
    for _ in range(_MAX_ROTATION_RETRIES):
        files = enumerate_tlog_files(base)
        rotated = [path for path in files if path.name != base.name]
        for path in rotated:
            if path.name not in copied:
                copy_file(path, directory / path.name, 0o600)
                copied[path.name] = path
        active_target = directory / base.name
        active_copied = False
        if base.exists():
            try:
                copy_file(base, active_target, 0o600)
                active_copied = True
            except FileNotFoundError:  # renamed by a rotation between exists() and open()
                pass
        after = [path for path in enumerate_tlog_files(base) if path.name != base.name]
        if {path.name for path in after} <= set(copied) and (active_copied or not base.exists()):
            break
        if active_copied:
            os.unlink(active_target)
    else:
        raise OSError(f"the tlog {base} kept rotating during the copy ({_MAX_ROTATION_RETRIES} tries)")
    sources = [copied[path.name] for path in rotated]
    targets = [directory / path.name for path in rotated]
    if active_copied:
        sources.append(base)
        targets.append(active_target)
    scans: list[TLogScan] = []
    torn = 0
    for index, target in enumerate(targets):
        scan = scan_tlog_file(target)
        is_active = active_copied and index == len(targets) - 1
        if is_active and scan.truncated and scan.corrupt_offset is None:
            torn += scan.size - scan.good_end
            os.truncate(target, scan.good_end)
            fsync_path(target)
            scan = scan_tlog_file(target)
        scans.append(scan)
    return CopiedTLog(sources, targets, scans, torn)


def check_snapshot(path: Path) -> int:
    """The seq in a snapshot file's header after checking magic, version, trailer CRC-32C and entry counts
    (the entries are not decoded). Raises SnapshotError or OSError."""
    with open(path, "rb") as handle:
        if os.fstat(handle.fileno()).st_size == 0:
            raise SnapshotError("admission/snapshot: empty file")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            layout = snapshot_layout(data)
    if layout.trailing_bytes:
        raise SnapshotError(f"admission/snapshot: {layout.trailing_bytes} bytes after the last entry")
    return layout.seq


def copy_snapshots(
    prefix: Path, directory: Path
) -> tuple[list[tuple[Path, Path, int]], list[dict[str, str]]]:
    """Copy every snapshot `<prefix>.<seq>` that checks out: ([(source, target, seq)], skipped). A snapshot
    pruned by the tracker while listing is skipped silently; a damaged one is left out with its reason
    (start-up replay would skip it too)."""
    kept: list[tuple[Path, Path, int]] = []
    skipped: list[dict[str, str]] = []
    for _, source in enumerate_snapshots(prefix):
        target = directory / source.name
        try:
            copy_file(source, target, 0o600)
        except FileNotFoundError:
            continue
        try:
            seq = check_snapshot(target)
        except SnapshotError as error:
            os.unlink(target)
            skipped.append({"source": str(source), "reason": str(error)})
            continue
        kept.append((source, target, seq))
    return kept, skipped
