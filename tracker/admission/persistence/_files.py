"""Durable file writes shared by the tlog and snapshot code: a whole-buffer write + fsync, the directory
fsync that makes a rename or a new file survive a crash, and moving a file aside under a new name (never
deleting or overwriting anything). Blocking; callers run them in worker threads."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

__all__ = ["DAMAGED_SUFFIX", "fsync_directory", "move_aside", "sibling_name", "write_durably"]

DAMAGED_SUFFIX = ".damaged"


def write_durably(path: Path, data: bytes) -> None:
    """Create or truncate `path` (mode 0644), write all of `data` and fsync it. OSError propagates."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Best effort: some filesystems cannot open or fsync a directory; the file data is synced already."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def sibling_name(path: Path, suffix: str, now: float | None) -> Path:
    """`<name><suffix>-<UTC time>[-N]`, a name that does not exist yet (non-numeric: enumeration skips it)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}{suffix}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}{suffix}-{stamp}-{counter}")
        counter += 1
    return target


def move_aside(path: Path, now: float | None = None, suffix: str = DAMAGED_SUFFIX) -> Path:
    """Rename a file to `<name><suffix>-<UTC time>[-N]` (a damaged one by default; never overwriting anything)
    and return the new path. The name has a non-numeric suffix, so tlog and snapshot enumeration skip it."""
    target = sibling_name(path, suffix, now)
    os.rename(path, target)
    fsync_directory(path.parent)
    return target
