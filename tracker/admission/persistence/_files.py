"""Durable file writes shared by the tlog and snapshot code: a whole-buffer write + fsync, and the directory
fsync that makes a rename or a new file survive a crash. Blocking; callers run them in worker threads."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["fsync_directory", "write_durably"]


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
