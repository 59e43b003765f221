"""One tracker per data directory: an exclusive `flock` on `.trio-tracker.lock` in every directory that holds
the tracker's state (the ledger's, the admission tlog's and the snapshots' directories), taken before any of
those files is opened and held until the process exits. The file holds the holder's pid (informational: the
lock, not the file's existence, is what counts, so a stale file after a crash never blocks a start).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

LOCK_FILE_NAME = ".trio-tracker.lock"


class StateDirectoryLocked(Exception):
    """Another process holds the lock of a state directory; the message names its pid."""


def _lock_one(directory: Path) -> int:
    path = directory / LOCK_FILE_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            raise StateDirectoryLocked(
                f"{directory} is in use by another trio-tracker (pid {holder}, lock {path}); stop it first, "
                "or give this tracker its own data directory"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def state_directories(paths: Iterable[str]) -> list[Path]:
    """The distinct directories (symlinks resolved) holding the given state files, sorted."""
    return sorted({Path(os.path.realpath(path)).parent for path in paths if path})


@contextlib.contextmanager
def hold_state_lock(paths: Iterable[str]) -> Iterator[list[Path]]:
    """Hold the lock of every directory of `paths` for the duration of the block. Raises
    StateDirectoryLocked (another tracker) or OSError (e.g. the directory does not exist)."""
    directories = state_directories(paths)
    descriptors: list[int] = []
    try:
        for directory in directories:
            descriptors.append(_lock_one(directory))
        yield [directory / LOCK_FILE_NAME for directory in directories]
    finally:
        for fd in descriptors:
            os.close(fd)  # releases the flock; the file stays (its pid line is only informational)
