"""Snapshot consumer entries read in place as numpy records (admission.md §8.1), for bulk start-up replay.

Kept apart from `_snapshot_format` so that numpy is imported only when there is a snapshot to replay.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tracker._regular_file import open_regular_file
from tracker.admission._errors import SnapshotFormatError, SnapshotReadError
from tracker.admission.core._state import DAY_BUCKET_COUNT, SeederHeartbeatState
from tracker.admission.persistence._snapshot_format import (
    CONSUMER_ENTRY_SIZE,
    decode_seeders,
    snapshot_layout,
)

__all__ = ["CONSUMER_ENTRY_DTYPE", "SnapshotColumns", "decode_snapshot_columns", "open_snapshot_columns"]

BUCKET_DTYPE = np.dtype([("total", "<u4"), ("a", "<u4"), ("b", "<u4"), ("day_stamp", "<i8")])
CONSUMER_ENTRY_DTYPE = np.dtype(
    [
        ("id", "V32"),
        ("first_seen_at", "<i8"),
        ("last_balance_seen", "<i8"),
        ("buckets", BUCKET_DTYPE, (DAY_BUCKET_COUNT, 3)),  # [day index][settlement, dispute, flow]
    ]
)
"""One consumer entry as a numpy record."""
assert CONSUMER_ENTRY_DTYPE.itemsize == CONSUMER_ENTRY_SIZE


@dataclass(slots=True)
class SnapshotColumns:
    """A validated snapshot whose consumer entries are left in place: `consumer_entries` is a numpy array
    of CONSUMER_ENTRY_DTYPE viewing the snapshot buffer (valid while that buffer is). Seeders are decoded."""

    seq: int
    ts: int
    consumer_entries: np.ndarray
    seeders: dict[bytes, SeederHeartbeatState]
    trailing_bytes: int = 0


def decode_snapshot_columns(data: bytes | mmap.mmap) -> SnapshotColumns:
    """Validate snapshot bytes (the checks and errors of `decode_snapshot`) without decoding consumers."""
    layout = snapshot_layout(data)
    entries = np.frombuffer(
        data, CONSUMER_ENTRY_DTYPE, count=layout.consumer_count, offset=layout.consumers_at
    )
    return SnapshotColumns(
        layout.seq, layout.ts, entries, decode_seeders(data, layout), trailing_bytes=layout.trailing_bytes
    )


@contextlib.contextmanager
def open_snapshot_columns(path: Path) -> Iterator[SnapshotColumns]:
    """Memory-map and validate one snapshot; its consumer entries are read in place until the block ends.
    Raises SnapshotFormatError (bad bytes) or SnapshotReadError (I/O)."""
    try:
        # only a regular file (a FIFO or device would block or never end); closed below, after the mapping
        handle = open(open_regular_file(path), "rb")  # noqa: SIM115
    except OSError as error:
        raise SnapshotReadError(f"admission/snapshot: read {path}: {error}") from error
    with handle:
        try:
            size = os.fstat(handle.fileno()).st_size
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) if size else None
        except OSError as error:
            raise SnapshotReadError(f"admission/snapshot: read {path}: {error}") from error
        if mapped is None:
            raise SnapshotFormatError("admission/snapshot: too short (0 bytes)")
        try:
            yield decode_snapshot_columns(mapped)
        finally:
            with contextlib.suppress(BufferError):  # a view still alive: the mapping closes with it
                mapped.close()
