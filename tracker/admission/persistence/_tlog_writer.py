"""The admission tlog writer: cheap in-memory appends, batched write+fsync, synchronous dispute durability,
size-based rotation to `<path>.<last_seq>` (never overwriting a file).

Appends only encode a frame into an in-memory buffer (no syscall), so the event hot path stays cheap. The
buffer is written by `write_batch` (blocking), which the Trio façade (admission/_tlog_trio.py) runs in a
worker thread, in order, under its flush lock; no Trio here. A failed write is rolled back on disk (truncate
to the size before it) and its bytes stay buffered for the next attempt, so no frame is ever half-written in
the middle of the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from tracker.admission._errors import TLogClosedError, TLogWriteError
from tracker.admission.persistence._files import fsync_directory
from tracker.admission.persistence._metrics import PersistenceMetrics
from tracker.admission.persistence._tlog_format import (
    FRAME_CRC,
    FRAME_LENGTH,
    FRAME_SEQ_TS_KIND,
    MAX_FRAME_LENGTH,
    MIN_FRAME_LENGTH,
    crc32c,
)

__all__ = [
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_ROTATION_BYTES",
    "Batch",
    "TLogClosedError",
    "TLogWriteError",
    "TLogWriter",
]

DEFAULT_ROTATION_BYTES = 1 << 30
DEFAULT_MAX_PENDING_BYTES = 64 << 20

_U64 = 0xFFFFFFFFFFFFFFFF
_logger = logging.getLogger("tracker.admission.tlog")
_SEQ_TS_KIND = FRAME_SEQ_TS_KIND
_LENGTH = FRAME_LENGTH
_CRC = FRAME_CRC
_MAX_PAYLOAD = MAX_FRAME_LENGTH - MIN_FRAME_LENGTH


@dataclass(frozen=True, slots=True)
class Batch:
    """Buffered frames taken for one write: their bytes, highest seq, record count, and the ticket of the
    last record (the tickets of a batch are the highest not yet written, up to this one)."""

    data: bytes
    last_seq: int
    records: int
    ticket: int


class TLogWriter:
    """Appends frames to the active tlog file at `path`.

    Construct with `TLogWriter.open(path, ...)` (does file I/O: call it from a worker thread inside Trio).
    `last_seq` must be the highest seq already persisted anywhere (tlog files or snapshots) so rotation names
    and `last_seq` stay monotonic across restarts.
    """

    def __init__(
        self,
        path: Path,
        fd: int,
        *,
        size: int,
        last_seq: int,
        rotation_bytes: int,
        max_pending_bytes: int,
        metrics: PersistenceMetrics | None,
    ) -> None:
        self.path = Path(path)
        self._fd: int | None = fd
        self._file_size = size
        self._rotation_bytes = rotation_bytes
        self._max_pending_bytes = max_pending_bytes
        self._metrics = metrics
        self._pending = bytearray()
        self._pending_records = 0
        self._last_seq_written = last_seq
        self.last_seq = last_seq
        """Highest seq appended so far (buffered or written)."""
        self._unsynced = False
        self._closing = False
        self._file_lock = threading.Lock()
        self._appended = 0  # tickets: the n-th record appended has ticket n
        self._written = 0  # highest ticket written to the file
        self.durable = 0
        """Highest ticket written and fsynced: a record is durable once its ticket (`last_ticket` right after
        its `append`) is <= this."""

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        last_seq: int = 0,
        rotation_bytes: int = DEFAULT_ROTATION_BYTES,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        metrics: PersistenceMetrics | None = None,
    ) -> Self:
        """Open (creating, mode 0644) the active file for appending. Blocking file I/O."""
        path = Path(path)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        size = os.fstat(fd).st_size
        return cls(
            path,
            fd,
            size=size,
            last_seq=last_seq,
            rotation_bytes=rotation_bytes,
            max_pending_bytes=max_pending_bytes,
            metrics=metrics,
        )

    # --- hot path -----------------------------------------------------------------------------------------

    def append(self, seq: int, ts: int, kind: int, payload: bytes) -> int:
        """Encode one frame into the buffer; returns its size. No I/O. Raises TLogWriteError when the
        writer is closed or more than `max_pending_bytes` are waiting for a write that keeps failing."""
        if self._fd is None or self._closing:
            raise TLogClosedError("admission/tlog: writer is closed")
        pending = self._pending
        if len(pending) > self._max_pending_bytes:
            raise TLogWriteError(
                f"admission/tlog: {len(pending)} bytes are waiting to be written to {self.path}; "
                "refusing new appends until the disk accepts writes again"
            )
        if len(payload) > _MAX_PAYLOAD:
            raise TLogWriteError(
                f"admission/tlog: a {len(payload)}-byte record is larger than a frame may be "
                f"({MAX_FRAME_LENGTH} bytes)"
            )
        body = _SEQ_TS_KIND.pack(seq, ts & _U64, kind) + payload
        pending += _LENGTH.pack(len(body) + 4)
        pending += body
        pending += _CRC.pack(crc32c(body))
        self._pending_records += 1
        self._appended += 1
        if seq > self.last_seq:
            self.last_seq = seq
        return len(body) + 8

    @property
    def last_ticket(self) -> int:
        """The ticket of the last record appended (records are numbered 1, 2, … in append order)."""
        return self._appended

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    @property
    def needs_flush(self) -> bool:
        """True when there are buffered bytes or written bytes that were not fsynced yet."""
        return bool(self._pending) or self._unsynced

    @property
    def closed(self) -> bool:
        return self._fd is None

    # --- batch I/O (worker thread) ------------------------------------------------------------------------

    def take_pending(self) -> Batch:
        """Detach the buffer as a batch (its last record is the last one appended)."""
        batch = Batch(bytes(self._pending), self.last_seq, self._pending_records, self._appended)
        self._pending.clear()
        self._pending_records = 0
        return batch

    def restore_pending(self, batch: Batch, drop_last: int = 0) -> None:
        """Put a batch whose write failed back in front of the buffer (called on the thread that appends),
        without its last `drop_last` bytes (one record whose caller reports the failure) if asked."""
        data = batch.data[: len(batch.data) - drop_last] if drop_last else batch.data
        if data:
            self._pending[0:0] = data
            self._pending_records += batch.records - (1 if drop_last else 0)

    def write_batch(self, batch: Batch, fsync: bool) -> None:
        """Write the batch (whole frames) to the active file, fsync if asked, rotate if the file is big
        enough. Blocking; thread-safe. On failure the file is truncated back to its size before the write and
        TLogWriteError is raised (the caller keeps the bytes)."""
        data, last_seq, records = batch.data, batch.last_seq, batch.records
        with self._file_lock:
            fd = self._fd
            if fd is None:
                raise TLogClosedError("admission/tlog: writer is closed")
            started = time.perf_counter()
            before = self._file_size
            try:
                if data:
                    view = memoryview(data)
                    while view:
                        written = os.write(fd, view)
                        view = view[written:]
                    self._file_size = before + len(data)
                    self._unsynced = True
                if fsync and self._unsynced:
                    os.fsync(fd)
                    self._unsynced = False
            except OSError as error:
                self._file_size = before
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, before)
                raise TLogWriteError(f"admission/tlog: write to {self.path} failed: {error}") from error
            if data:
                self._last_seq_written = max(self._last_seq_written, last_seq)
                self._written = max(self._written, batch.ticket)
            if not self._unsynced:
                self.durable = max(self.durable, self._written)
            metrics = self._metrics
            if metrics is not None:
                if data:
                    metrics.tlog_bytes_written.inc(len(data))
                    metrics.tlog_records_appended.inc(records)
                if fsync:
                    metrics.tlog_fsyncs.inc()
                    metrics.tlog_fsync_duration.observe(time.perf_counter() - started)
            if self._file_size >= self._rotation_bytes:
                try:
                    self._rotate_locked()
                except OSError as error:
                    # The batch itself is on disk; a failed rotation only means the active file keeps growing.
                    _logger.error(
                        "admission: tlog rotation failed", extra={"path": str(self.path), "error": str(error)}
                    )
                    if self._fd is None:
                        self._fd = os.open(
                            self.path,
                            os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0),
                            0o644,
                        )
                        self._file_size = os.fstat(self._fd).st_size

    def _rotate_locked(self) -> None:
        fd = self._fd
        assert fd is not None
        if self._unsynced:
            os.fsync(fd)
            self._unsynced = False
        os.close(fd)
        self._fd = None
        suffix = self._last_seq_written
        target = self.path.with_name(f"{self.path.name}.{suffix}")
        while target.exists():  # never overwrite an older rotated file
            suffix += 1
            target = self.path.with_name(f"{self.path.name}.{suffix}")
        os.rename(self.path, target)
        self._fd = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644
        )
        self._file_size = 0
        fsync_directory(self.path.parent)
        if self._metrics is not None:
            self._metrics.tlog_rotations.inc()

    def flush_sync(self, fsync: bool = True) -> None:
        """Write the buffer now (blocking; for tools, tests and shutdown outside Trio)."""
        batch = self.take_pending()
        try:
            self.write_batch(batch, fsync)
        except TLogWriteError:
            self.restore_pending(batch)
            raise

    def close_sync(self) -> None:
        """Flush, fsync and close (blocking, idempotent)."""
        if self._fd is None:
            return
        self.flush_sync(fsync=True)
        self.close_fd()

    def begin_close(self) -> None:
        """Refuse every later append (TLogClosedError): shutdown has begun."""
        self._closing = True

    def close_fd(self) -> None:
        """Close the file without writing the buffer (blocking, idempotent)."""
        with self._file_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
