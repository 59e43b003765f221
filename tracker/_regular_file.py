"""Bounded reads of files named by the operator (config, identity key, offline-inspected files).

A path may name a FIFO (an open would wait for a writer forever), a device (`/dev/zero` never ends), a
directory or a symlink to any of them. Every such file is opened with O_NONBLOCK (so opening a FIFO returns
at once), checked with fstat on the open descriptor (no race between check and read) and refused unless it
is a regular file; reads stop at a size limit. Errors are OSError subclasses carrying the path, so callers
that already report `open <path>: <reason>` need no new branch. Imports nothing from the package.
"""

from __future__ import annotations

import errno
import os
import stat

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class NotRegularFileError(OSError):
    """The path names a FIFO, device, socket or directory (through symlinks too), not a regular file."""


class FileTooLargeError(OSError):
    """The regular file is larger than the caller's limit."""


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular_file(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of the regular file at `path` (symlinks followed). Raises IsADirectoryError
    for a directory, NotRegularFileError for a FIFO/device/socket, the plain OSError of `open` otherwise.
    The caller closes the descriptor."""
    fd = os.open(path, _OPEN_FLAGS)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(
                errno.EINVAL, f"not a regular file: it is {_kind(mode)}", os.fspath(path)
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_regular_file(path: str | os.PathLike[str]) -> None:
    """Raise as `open_regular_file` does unless `path` names a readable regular file."""
    os.close(open_regular_file(path))


def read_regular_file(path: str | os.PathLike[str], limit: int) -> bytes:
    """The whole content of the regular file at `path`, at most `limit` bytes. Raises FileTooLargeError past
    the limit (checked on the size and again on what was read: the file may grow), and what
    `open_regular_file` raises."""
    fd = open_regular_file(path)
    try:
        if os.fstat(fd).st_size > limit:
            raise FileTooLargeError(errno.EFBIG, f"file is larger than {limit} bytes", os.fspath(path))
        chunks: list[bytes] = []
        remaining = limit + 1
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise FileTooLargeError(errno.EFBIG, f"file is larger than {limit} bytes", os.fspath(path))
    return data
