"""Reading admission tlog files (admission.md §7.5): file enumeration, frame scanning, and the on-disk repairs
start-up performs — cutting off a torn tail and moving a damaged file aside (renamed, never deleted).

A short final frame is the normal end after a crash (`truncated`); a complete frame with a bad CRC is damage
(`corrupt_offset`). Scanning never raises on bad bytes: it reports how far the good prefix goes.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tracker.admission.persistence._tlog_format import (
    FRAME_CRC,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_OVERHEAD,
    MIN_FRAME_LENGTH,
    crc32c,
)

__all__ = [
    "DAMAGED_SUFFIX",
    "RunTaker",
    "TLogScan",
    "cut_torn_tail",
    "enumerate_tlog_files",
    "move_aside",
    "read_file_bytes",
    "scan_tlog_bytes",
    "scan_tlog_file",
]

DAMAGED_SUFFIX = ".damaged"
_HEADER = FRAME_HEADER
_CRC = FRAME_CRC
_DIGITS = re.compile(r"[0-9]+")

RecordSink = Callable[[int, int, int, bytes], None]
"""Called once per good frame with (seq, ts, kind, payload)."""

RunTaker = Callable[[int, int], "tuple[int, int, int] | None"]
"""Offered every complete frame, as (offset, seq), before its CRC is checked: may take a run of frames from
there (checking them itself) and return (offset after the run, frames taken, highest seq among them)."""


@dataclass(slots=True)
class TLogScan:
    """What a scan of one tlog file found."""

    path: Path | None
    size: int
    good_end: int  # offset just past the last good frame
    records: int
    truncated: bool  # the bytes after good_end are a torn (short) frame
    corrupt_offset: int | None  # offset of the first complete frame with a bad CRC, if any
    first_seq: int | None = None
    last_seq: int | None = None  # highest seq seen

    @property
    def clean(self) -> bool:
        return not self.truncated and self.corrupt_offset is None


def scan_tlog_bytes(
    data: bytes | mmap.mmap,
    on_record: RecordSink | None = None,
    path: Path | None = None,
    take_run: RunTaker | None = None,
) -> TLogScan:
    """Walk the frames of one file's bytes from offset 0, calling `on_record` for each good frame (but those
    `take_run` takes), and stop at the first truncated or corrupt frame."""
    size = len(data)
    offset = 0
    records = 0
    first_seq: int | None = None
    last_seq = -1
    truncated = False
    corrupt_offset: int | None = None
    unpack_header = _HEADER.unpack_from
    unpack_crc = _CRC.unpack_from
    crc = crc32c
    while offset < size:
        if size - offset < FRAME_OVERHEAD:
            truncated = True
            break
        length, seq, ts, kind = unpack_header(data, offset)
        end = offset + 4 + length
        if length < MIN_FRAME_LENGTH or end > size:
            truncated = True
            break
        taken = take_run(offset, seq) if take_run is not None else None
        if taken is not None:
            offset, count, top = taken
            if first_seq is None:
                first_seq = seq
            last_seq = max(last_seq, top)
            records += count
            continue
        if crc(data[offset + 4 : end - 4]) != unpack_crc(data, end - 4)[0]:
            corrupt_offset = offset
            break
        if on_record is not None:
            on_record(seq, ts, kind, data[offset + FRAME_HEADER_SIZE : end - 4])
        if first_seq is None:
            first_seq = seq
        if seq > last_seq:
            last_seq = seq
        records += 1
        offset = end
    return TLogScan(
        path=path,
        size=size,
        good_end=offset,
        records=records,
        truncated=truncated,
        corrupt_offset=corrupt_offset,
        first_seq=first_seq,
        last_seq=last_seq if last_seq >= 0 else None,
    )


@contextlib.contextmanager
def read_file_bytes(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, memory-mapped (empty files give b"")."""
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            yield b""
            return
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            yield mapped
        finally:
            with contextlib.suppress(BufferError):  # a numpy view still alive: the mapping closes with it
                mapped.close()


def scan_tlog_file(path: Path, on_record: RecordSink | None = None) -> TLogScan:
    """`scan_tlog_bytes` over a file (blocking I/O). OSError propagates."""
    with read_file_bytes(path) as data:
        return scan_tlog_bytes(data, on_record, path)


def enumerate_tlog_files(base: str | os.PathLike[str]) -> list[Path]:
    """Rotated files `<base>.<decimal>` in ascending numeric order, then the active file `<base>` if present.
    Other suffixes (moved-aside damaged files, temporary files) are ignored. A missing directory gives []."""
    base = Path(base)
    directory = base.parent
    name = base.name
    rotated: list[tuple[int, Path]] = []
    active: Path | None = None
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return []
    prefix = name + "."
    for entry in entries:
        if entry.name == name:
            active = Path(entry.path)
        elif entry.name.startswith(prefix):
            suffix = entry.name[len(prefix) :]
            if _DIGITS.fullmatch(suffix):
                rotated.append((int(suffix), Path(entry.path)))
    rotated.sort(key=lambda item: item[0])
    files = [path for _, path in rotated]
    if active is not None:
        files.append(active)
    return files


def cut_torn_tail(path: Path, good_end: int) -> None:
    """Truncate the file to `good_end` and fsync it, so frames appended later are readable."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, good_end)
        os.fsync(fd)
    finally:
        os.close(fd)


def move_aside(path: Path, now: float | None = None) -> Path:
    """Rename a damaged file to `<name>.damaged-<UTC time>[-N]` (never overwriting anything) and return the
    new path. The name has a non-numeric suffix, so tlog and snapshot enumeration skip it."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}{DAMAGED_SUFFIX}-{stamp}-{counter}")
        counter += 1
    os.rename(path, target)
    return target
