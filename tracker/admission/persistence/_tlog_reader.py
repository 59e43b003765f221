"""Reading admission tlog files (admission.md §7.5): file enumeration, frame scanning, and the on-disk repairs
start-up performs — cutting off a torn tail (its bytes kept in a `.torn-<time>` sibling) and moving a damaged
file aside (renamed, never deleted).

A partial final frame after the last valid frame, within one maximum frame of the end, is the normal end
after a crash (`truncated`). Anything else that is not a valid frame (a length out of range or a CRC
mismatch with valid frames after it, a file that does not start with a valid frame) is damage: the scan
resynchronises on the next valid frame and reports the damaged byte ranges. Scanning never raises on bad
bytes.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tracker._regular_file import open_regular_file
from tracker.admission.persistence._files import (
    DAMAGED_SUFFIX,
    move_aside,
    sibling_name,
    write_durably,
)
from tracker.admission.persistence._seq import LEDGER_SEQ_SHIFT, LOCAL_SEQ_MASK
from tracker.admission.persistence._tlog_format import (
    FRAME_CRC,
    FRAME_HEADER,
    FRAME_HEADER_SIZE,
    FRAME_LENGTH,
    FRAME_OVERHEAD,
    MAX_FRAME_LENGTH,
    MIN_FRAME_LENGTH,
    crc32c,
)

__all__ = [
    "DAMAGED_SUFFIX",
    "TORN_SUFFIX",
    "RunTaker",
    "TLogScan",
    "cut_torn_tail",
    "enumerate_tlog_files",
    "move_aside",
    "next_frame_offset",
    "read_file_bytes",
    "scan_tlog_bytes",
    "scan_tlog_file",
]

TORN_SUFFIX = ".torn"
_HEADER = FRAME_HEADER
_CRC = FRAME_CRC
_LENGTH = FRAME_LENGTH
_DIGITS = re.compile(r"[0-9]+")

RecordSink = Callable[[int, int, int, bytes], None]
"""Called once per good frame with (seq, ts, kind, payload)."""

RunTaker = Callable[[int, int], "tuple[int, int, int] | None"]
"""Offered every complete frame, as (offset, seq), before its CRC is checked: may take a run of frames from
there (checking them itself) and return (offset after the run, frames taken, highest seq among them)."""


@dataclass(slots=True)
class TLogScan:
    """What a scan of one tlog file found.

    Every valid frame is reported, including those after damage: a frame that is not valid (a length out of
    range, a CRC mismatch) is skipped by resynchronising on the next offset whose header and CRC check, so
    one damaged frame costs one record. The bytes after the last valid frame are a torn tail (`truncated`)
    only when they are shorter than one maximum frame; otherwise they are damage too.
    """

    path: Path | None
    size: int
    good_end: int  # offset just past the last valid frame (0 if none)
    records: int
    truncated: bool  # the bytes after good_end are a torn (partial) final frame
    damage: list[tuple[int, int]] = field(default_factory=list)
    """[start, end) byte ranges that hold no valid frame."""
    first_seq: int | None = None
    last_seq: int | None = None  # highest seq seen
    lost_local_seqs: list[int] = field(default_factory=list)
    """Seqs of the local records (disputes, overrides) the damaged ranges held, as far as can be told: the
    headers of the frames in a range whose length fields still tile it exactly, else the local numbers the
    seq numbering skips around it (a lower bound)."""

    @property
    def corrupt_offset(self) -> int | None:
        """Offset of the first damaged range, if any."""
        return self.damage[0][0] if self.damage else None

    @property
    def lost_local_records(self) -> int:
        return len(self.lost_local_seqs)

    @property
    def not_a_tlog(self) -> bool:
        """Not one valid frame and no torn first frame: the file is something else (a database, text)."""
        return self.records == 0 and bool(self.damage) and self.damage[0][0] == 0

    @property
    def clean(self) -> bool:
        return not self.truncated and not self.damage


def _plausible_length(length: int) -> bool:
    return MIN_FRAME_LENGTH <= length <= MAX_FRAME_LENGTH


def next_frame_offset(data: bytes | mmap.mmap, start: int) -> int | None:
    """The first offset >= `start` where a complete frame with a length in range and a matching CRC begins,
    or None. A length <= MAX_FRAME_LENGTH (1 MiB) starts with a zero byte, so only offsets of zero bytes are
    tried."""
    size = len(data)
    unpack_length = _LENGTH.unpack_from
    unpack_crc = _CRC.unpack_from
    offset = start
    while True:
        offset = data.find(b"\x00", offset, size - FRAME_OVERHEAD + 1)
        if offset < 0:
            return None
        (length,) = unpack_length(data, offset)
        end = offset + 4 + length
        if (
            _plausible_length(length)
            and end <= size
            and crc32c(data[offset + 4 : end - 4]) == unpack_crc(data, end - 4)[0]
        ):
            return offset
        offset += 1


def _is_torn_tail(data: bytes | mmap.mmap, offset: int) -> bool:
    """Can the bytes from `offset` to the end (no valid frame among them) be a partial final frame? Only
    within one maximum frame of the end; at offset 0 (no valid frame before) only if they start like a frame
    (a length in range) or are all zero (a first write whose data never reached the disk)."""
    remaining = len(data) - offset
    if remaining > 4 + MAX_FRAME_LENGTH:
        return False
    if offset > 0 or remaining < 4:
        return True
    (length,) = _LENGTH.unpack_from(data, 0)
    return _plausible_length(length) or not any(data[:remaining])


def _lost_local_seqs(
    data: bytes | mmap.mmap, start: int, end: int, before: int | None, after: int
) -> list[int]:
    """The local seqs a damaged range [start, end) held (see `TLogScan.lost_local_seqs`); `before`/`after`
    are the seqs of the valid records around it (`before` None at the start of the file, `after` 0 when the
    next one is a SNAPSHOT_MARK)."""
    walked = _walk_headers(data, start, end)
    if walked is not None:
        return [seq for seq in walked if seq & LOCAL_SEQ_MASK]
    if not after & LOCAL_SEQ_MASK:
        return []
    position = after >> LEDGER_SEQ_SHIFT
    first = 1
    if before is not None and before >> LEDGER_SEQ_SHIFT == position:
        first = (before & LOCAL_SEQ_MASK) + 1
    return list(range((position << LEDGER_SEQ_SHIFT) + first, after))


def _walk_headers(data: bytes | mmap.mmap, start: int, end: int) -> list[int] | None:
    """Seqs of the frames whose length fields tile [start, end) exactly (damage that spared the lengths),
    or None."""
    seqs = []
    offset = start
    while offset < end:
        if end - offset < FRAME_OVERHEAD:
            return None
        length, seq, _, _ = _HEADER.unpack_from(data, offset)
        if not _plausible_length(length) or offset + 4 + length > end:
            return None
        seqs.append(seq)
        offset += 4 + length
    return seqs


def scan_tlog_bytes(
    data: bytes | mmap.mmap,
    on_record: RecordSink | None = None,
    path: Path | None = None,
    take_run: RunTaker | None = None,
) -> TLogScan:
    """Walk the frames of one file's bytes from offset 0, calling `on_record` for each valid frame (but those
    `take_run` takes), resynchronising after a damaged one, up to a torn tail."""
    size = len(data)
    offset = 0
    records = 0
    first_seq: int | None = None
    last_seq = -1
    previous_seq: int | None = None  # seq of the last valid frame read (file order)
    truncated = False
    damage: list[tuple[int, int]] = []
    lost: list[int] = []
    damaged_since: int | None = None  # start of the damaged range being skipped
    unpack_header = _HEADER.unpack_from
    unpack_crc = _CRC.unpack_from
    crc = crc32c
    while offset < size:
        if size - offset >= FRAME_OVERHEAD:
            length, seq, ts, kind = unpack_header(data, offset)
            end = offset + 4 + length
            if MIN_FRAME_LENGTH <= length <= MAX_FRAME_LENGTH and end <= size:
                taken = take_run(offset, seq) if take_run is not None else None
                if taken is not None:
                    if damaged_since is not None:
                        damage.append((damaged_since, offset))
                        lost += _lost_local_seqs(data, damaged_since, offset, previous_seq, seq)
                        damaged_since = None
                    offset, count, top = taken
                    if first_seq is None:
                        first_seq = seq
                    last_seq = max(last_seq, top)
                    previous_seq = top
                    records += count
                    continue
                if crc(data[offset + 4 : end - 4]) == unpack_crc(data, end - 4)[0]:
                    if damaged_since is not None:
                        damage.append((damaged_since, offset))
                        lost += _lost_local_seqs(data, damaged_since, offset, previous_seq, seq)
                        damaged_since = None
                    if on_record is not None:
                        on_record(seq, ts, kind, data[offset + FRAME_HEADER_SIZE : end - 4])
                    if first_seq is None:
                        first_seq = seq
                    if seq > last_seq:
                        last_seq = seq
                    if seq:
                        previous_seq = seq
                    records += 1
                    offset = end
                    continue
        # No valid frame here: resynchronise on the next one, or classify the rest of the file.
        resync = next_frame_offset(data, offset + 1)
        if resync is None:
            if damaged_since is None and _is_torn_tail(data, offset):
                truncated = True
            else:
                damage.append((offset if damaged_since is None else damaged_since, size))
            break
        if damaged_since is None:
            damaged_since = offset
        offset = resync
    good_end = offset if truncated else (damage[-1][0] if damage and damage[-1][1] == size else offset)
    return TLogScan(
        path=path,
        size=size,
        good_end=good_end,
        records=records,
        truncated=truncated,
        damage=damage,
        first_seq=first_seq,
        last_seq=last_seq if last_seq >= 0 else None,
        lost_local_seqs=lost,
    )


@contextlib.contextmanager
def read_file_bytes(path: Path) -> Iterator[bytes | mmap.mmap]:
    """The file's bytes, memory-mapped (empty files give b""). Only a regular file is opened (a FIFO or a
    device would block or never end): NotRegularFileError (an OSError) otherwise."""
    with open(open_regular_file(path), "rb") as handle:
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


def cut_torn_tail(path: Path, good_end: int, now: float | None = None) -> Path:
    """Copy the bytes after `good_end` to a sibling file `<name>.torn-<UTC time>` (fsynced), then truncate the
    file to `good_end` and fsync it, so frames appended later are readable. Returns the sibling's path."""
    with open(path, "rb") as handle:
        handle.seek(good_end)
        tail = handle.read()
    kept = sibling_name(path, TORN_SUFFIX, now)
    write_durably(kept, tail)
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, good_end)
        os.fsync(fd)
    finally:
        os.close(fd)
    return kept
