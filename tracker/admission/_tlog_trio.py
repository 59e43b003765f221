"""`AsyncTLogWriter`: the Trio face of the blocking tlog writer (persistence/_tlog_writer.py).

Batches are taken from the in-memory buffer and written in a worker thread, one at a time, under
`flush_lock`; the service's fsync ticker calls `flush()` every `admission.fsync_batch_window_ms`, and a
dispute append (`append_durable_locked`) is written and fsynced before it returns. Used only by
`_service.py`.
"""

from __future__ import annotations

from typing import Any

import trio

from tracker.admission._errors import TLogWriteError
from tracker.admission.persistence._tlog_writer import TLogWriter

__all__ = ["AsyncTLogWriter"]


class AsyncTLogWriter(TLogWriter):
    """A `TLogWriter` whose batch writes run in worker threads. Open with `AsyncTLogWriter.open(...)` (file
    I/O: call it from a worker thread)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flush_lock = trio.Lock()
        """Held while a batch is taken from the buffer and written; a durable append takes it first."""

    async def flush(self, fsync: bool = True) -> None:
        """Write the buffer (and fsync) in a worker thread. Raises TLogWriteError (bytes stay buffered)."""
        async with self.flush_lock:
            await self.flush_locked(fsync)

    async def flush_locked(self, fsync: bool = True, *, drop_last_on_failure: int = 0) -> None:
        """`flush` for a caller already holding `flush_lock`. With `drop_last_on_failure` = N, the last N
        buffered bytes (a durable append whose caller will report failure) are discarded, not kept, on
        failure."""
        if not self.needs_flush or self.closed:
            return
        data, last_seq, records = self.take_pending()
        try:
            await trio.to_thread.run_sync(self.write_batch, data, last_seq, records, fsync)
        except TLogWriteError:
            if drop_last_on_failure:
                self.restore_pending(data[: len(data) - drop_last_on_failure], records - 1)
            else:
                self.restore_pending(data, records)
            raise

    async def append_durable_locked(self, seq: int, ts: int, kind: int, payload: bytes) -> None:
        """Append and write+fsync before returning (dispute kinds). The caller holds `flush_lock`, so the
        frame is the last one of the batch; on failure it is removed from the buffer and TLogWriteError is
        raised."""
        size = self.append(seq, ts, kind, payload)
        await self.flush_locked(fsync=True, drop_last_on_failure=size)

    async def aclose(self) -> None:
        """Flush, fsync and close in a worker thread; shielded from cancellation. Appends made after this
        starts are refused (TLogClosedError), so nothing is lost between the last flush and the close."""
        with trio.CancelScope(shield=True):
            async with self.flush_lock:
                if self.closed:
                    return
                self.begin_close()
                data, last_seq, records = self.take_pending()
                try:
                    await trio.to_thread.run_sync(self.write_batch, data, last_seq, records, True)
                finally:
                    await trio.to_thread.run_sync(self.close_fd)
