"""`AsyncTLogWriter`: the Trio face of the blocking tlog writer (persistence/_tlog_writer.py).

Batches are taken from the in-memory buffer and written in a worker thread, one at a time, under
`flush_lock`; the service's fsync ticker calls `flush()` every `admission.fsync_batch_window_ms`, a dispute
append (`append_durable_locked`) is written and fsynced before it returns, and `wait_durable(ticket)` waits
until one appended record is written and fsynced. Callers waiting together share a batch: while one batch is
in its worker thread, the records appended meanwhile queue on `flush_lock` (a fair lock) and go to disk in
the next batch, with one fsync; a waiter whose record went out in an earlier batch returns without I/O.
Used only by `_service.py`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import trio

from tracker._worker_thread import run_in_worker_thread
from tracker.admission._errors import TLogClosedError, TLogWriteError
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
        batch = self.take_pending()
        try:
            # Started at once, not cancellable: the batch is out of the buffer, so it must reach the file (or
            # go back on failure) whatever cancellation arrives meanwhile.
            await run_in_worker_thread(partial(self.write_batch, batch, fsync))
        except TLogWriteError:
            self.restore_pending(batch, drop_last_on_failure)
            raise

    async def wait_durable(self, ticket: int) -> None:
        """Return once the record with `ticket` (`last_ticket` right after its `append`) is written and
        fsynced, writing it (with whatever else is buffered) if no batch in flight carries it. Raises
        TLogWriteError when that write or fsync fails (the record stays buffered for the next attempt) and
        TLogClosedError when the writer closed without writing it."""
        while self.durable < ticket:
            async with self.flush_lock:
                if self.durable >= ticket:
                    return
                if self.closed:
                    raise TLogClosedError("admission/tlog: writer closed before the record was written")
                await self.flush_locked(fsync=True)
                if self.durable < ticket and not self.needs_flush:
                    raise TLogWriteError(f"admission/tlog: record {ticket} was dropped before it was written")

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
                batch = self.take_pending()
                try:
                    await trio.to_thread.run_sync(self.write_batch, batch, True)
                finally:
                    await trio.to_thread.run_sync(self.close_fd)
