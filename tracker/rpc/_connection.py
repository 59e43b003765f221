"""One QUIC connection driven from Trio: feeds datagrams into aioquic's sans-IO `QuicConnection`, turns its
events into per-stream buffers, sends what it has to send, and runs its timer as a Trio deadline.

Rules of this module:
- Every call into the `QuicConnection` happens on the Trio thread from the methods here; after each call
  `_after_quic()` drains events and wakes `run()`, which transmits, so no state change is left unsent.
- Received bytes are bounded: per stream (one frame plus its header, `stream_buffer_limit`) and per
  connection (`connection_buffer_limit`). A stream over its cap is stopped and reset; a connection over its
  cap is closed.
  (aioquic grows flow-control windows on its own, so these caps are what bounds memory.)
- This module knows frames, not messages: no protobuf, no peers, no RPC methods.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import trio
from aioquic.quic import events
from aioquic.quic.connection import NetworkAddress, QuicConnection

from tracker.rpc._wire import FRAME_HEADER_SIZE, FrameReader, encode_frame

logger = logging.getLogger("tracker.rpc")

SendDatagram = Callable[[bytes, NetworkAddress], None]
CLOSE_CODE = 0  # every application close uses code 0 and a reason (rpc-broker §1.1)


class StreamClosed(Exception):
    """The stream ended (reset, truncated frame, connection gone) before the expected bytes arrived."""


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    max_frame_size: int
    stream_buffer_limit: int
    connection_buffer_limit: int

    @classmethod
    def for_frame_size(cls, max_frame_size: int, connection_frames: int = 8) -> ConnectionLimits:
        """Per stream: one frame, its header and a push tag; per connection: `connection_frames` of those."""
        per_stream = max_frame_size + FRAME_HEADER_SIZE + 1
        return cls(max_frame_size, per_stream, per_stream * connection_frames)


class QuicStream:
    """One bidirectional stream. Reads are frame-oriented; writes are immediate (aioquic buffers them)."""

    def __init__(self, connection: QuicConnectionDriver, stream_id: int) -> None:
        self.stream_id = stream_id
        self._connection = connection
        self._reader = FrameReader(connection.limits.max_frame_size)
        self._wakeup: trio.Event | None = None  # made when a reader waits (most streams never do)
        self._eof = False
        self._reset = False
        self._discarding = False
        self.sent_fin = False

    # ---- fed by the connection -----------------------------------------------------------------------------

    def _feed(self, data: bytes, end_stream: bool) -> None:
        if data and not self._discarding:
            self._reader.feed(data)
            self._connection._buffered += len(data)
            if self._reader.buffered > self._connection.limits.stream_buffer_limit:
                self._connection._buffered -= self._reader.buffered
                self._reader = FrameReader(self._connection.limits.max_frame_size)
                self.abort()
        if end_stream:
            self._eof = True
        self._wake()

    def _on_reset(self) -> None:
        self._reset = True
        self._wake()

    def _wake(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    @property
    def finished(self) -> bool:
        """Both directions are done (our FIN sent or aborted; the peer's FIN or reset received)."""
        return (self.sent_fin or self._discarding) and (self._eof or self._reset)

    # ---- reads --------------------------------------------------------------------------------------------

    def _take_buffered(self, take: Callable[[], object]) -> object:
        before = self._reader.buffered
        try:
            return take()
        finally:
            self._connection._buffered -= before - self._reader.buffered

    async def _wait(self) -> None:
        if self._connection.terminated.is_set():
            raise StreamClosed("connection closed")
        if self._reset or self._discarding:
            raise StreamClosed("stream reset")
        self._wakeup = trio.Event()
        await self._wakeup.wait()
        self._wakeup = None

    async def receive_frame(self) -> bytes | None:
        """The next frame body; None on a clean end of stream before any header byte. Raises FrameTooLarge
        when a header declares more than the limit (nothing of the body is read), StreamClosed on a reset,
        a truncated frame or a closed connection."""
        while True:
            body = self._take_buffered(self._reader.next_frame)
            if body is not None:
                return body  # type: ignore[return-value]
            if self._eof:
                if self._reader.buffered:
                    raise StreamClosed("truncated frame")
                return None
            await self._wait()

    async def receive_tag(self) -> int | None:
        """The single raw byte before a push frame; None on a clean end of stream."""
        while True:
            tag = self._take_buffered(self._reader.take_byte)
            if tag is not None:
                return tag  # type: ignore[return-value]
            if self._eof:
                return None
            await self._wait()

    # ---- writes -------------------------------------------------------------------------------------------

    def send(self, data: bytes, *, end_stream: bool = False) -> None:
        """Queue `data` (and a FIN) for sending; a no-op after our FIN, an abort or connection close."""
        if self.sent_fin or self._connection.terminated.is_set():
            return
        self.sent_fin = end_stream
        connection = self._connection
        connection.quic.send_stream_data(self.stream_id, data, end_stream)
        connection._wake()  # a write queues no event: only the sender has work
        connection._forget_if_finished(self)

    def send_frame(self, body: bytes, *, end_stream: bool = False) -> None:
        """Send one frame. Raises FrameTooLarge (sending nothing) when `body` exceeds the frame limit."""
        self.send(encode_frame(body, self._connection.limits.max_frame_size), end_stream=end_stream)

    def finish(self) -> None:
        self.send(b"", end_stream=True)

    def abort(self) -> None:
        """Stop reading (STOP_SENDING) and reset our side; further bytes from the peer are dropped."""
        if self._discarding or self._connection.terminated.is_set():
            self._discarding = True
            return
        self._discarding = True

        def stop(quic: QuicConnection) -> None:
            # Only bidirectional streams are used; a peer's unidirectional stream can only be stopped. A
            # stream whose both halves are done is already gone from the library (ValueError).
            with contextlib.suppress(ValueError):
                if not (self._eof or self._reset):
                    quic.stop_stream(self.stream_id, CLOSE_CODE)
                if not self.sent_fin and not self.stream_id & 0x2:
                    quic.reset_stream(self.stream_id, CLOSE_CODE)

        self._connection._call(stop)
        self.sent_fin = True
        self._wake()
        self._connection._forget_if_finished(self)

    def stop_reading(self) -> None:
        """Ask the peer to stop sending (after a FRAME reply) and drop what still arrives; our side stays
        as it is."""
        if self._discarding or self._connection.terminated.is_set():
            return
        self._discarding = True
        self._connection._buffered -= self._reader.buffered
        self._reader = FrameReader(self._connection.limits.max_frame_size)
        if not (self._eof or self._reset):
            self._connection._call(lambda quic: quic.stop_stream(self.stream_id, CLOSE_CODE))
        self._connection._forget_if_finished(self)


class QuicConnectionDriver:
    """Drives one `QuicConnection`. The owner (an endpoint) calls `datagram_received` for each datagram routed
    here and runs `run()` in the connection's nursery; `run()` returns once the connection is terminated.
    New peer-initiated streams arrive on `incoming` (a stream's first data creates it), or, once an owner
    called `deliver_streams_to(callback)`, are handed to the callback as they are created."""

    def __init__(
        self,
        quic: QuicConnection,
        send_datagram: SendDatagram,
        limits: ConnectionLimits,
        *,
        on_connection_id_issued: Callable[[bytes], None] = lambda cid: None,
        on_connection_id_retired: Callable[[bytes], None] = lambda cid: None,
    ) -> None:
        self.quic = quic
        self.limits = limits
        self._send_datagram = send_datagram
        self._on_cid_issued = on_connection_id_issued
        self._on_cid_retired = on_connection_id_retired
        self._streams: dict[int, QuicStream] = {}
        self._buffered = 0
        # `run()` parks itself in `_sender`; `_wake()` reschedules it (or leaves `_wake_pending` when it is
        # busy). The library's timer lives in one long-lived cancel scope whose deadline is moved after each
        # transmit: no Event and no cancel scope are built per wakeup.
        self._sender: trio.lowlevel.Task | None = None
        self._wake_pending = False
        self._timer_scope: trio.CancelScope | None = None
        self.handshake_complete = trio.Event()
        self.terminated = trio.Event()
        self.closing = trio.Event()  # set by a local close() or by termination
        self.local_close_reason: str | None = None
        self.close_error_code: int | None = None
        self.close_reason: str = ""
        self.alpn_protocol: str | None = None
        self.remote_address: NetworkAddress | None = None
        self._incoming_send, self.incoming = trio.open_memory_channel[QuicStream](math.inf)
        self._on_stream: Callable[[QuicStream], None] | None = None

    def deliver_streams_to(self, callback: Callable[[QuicStream], None] | None) -> None:
        """Hand each new peer-initiated stream to `callback(stream)` as it is created, on the Trio thread,
        from inside the event processing (it must not call into the connection: it may only schedule work),
        starting with those already waiting on `incoming`; None goes back to `incoming`. Saves a channel
        hop and a task switch per stream."""
        self._on_stream = callback
        if callback is not None:
            while True:
                try:
                    stream = self.incoming.receive_nowait()
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
                callback(stream)

    # ---- input --------------------------------------------------------------------------------------------

    def datagram_received(self, data: bytes, address: NetworkAddress) -> None:
        if self.remote_address is None:
            self.remote_address = address
        self._call(lambda quic: quic.receive_datagram(data, address, trio.current_time()))

    def _call(self, operation: Callable[[QuicConnection], object]) -> None:
        if self.terminated.is_set():
            return
        operation(self.quic)
        self._after_quic()

    def _after_quic(self) -> None:
        # Sending is left to the `run()` task, woken here: it runs after the tasks made runnable in the same
        # scheduler batch, so many streams' writes (and acks for a batch of datagrams) leave in few packets.
        self._process_events()
        self._wake()

    def _wake(self) -> None:
        sender = self._sender
        if sender is not None:
            self._sender = None
            trio.lowlevel.reschedule(sender)
        else:
            self._wake_pending = True

    def _transmit(self) -> None:
        for data, address in self.quic.datagrams_to_send(now=trio.current_time()):
            self._send_datagram(data, address)

    def _process_events(self) -> None:
        quic = self.quic
        while (event := quic.next_event()) is not None:
            if isinstance(event, events.StreamDataReceived):
                self._stream_for_event(event.stream_id)._feed(event.data, event.end_stream)
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    self._forget_if_finished(stream)
            elif isinstance(event, events.StreamReset):
                stream = self._streams.get(event.stream_id)
                if stream is not None:
                    stream._on_reset()
                    self._forget_if_finished(stream)
            elif isinstance(event, events.HandshakeCompleted):
                self.alpn_protocol = event.alpn_protocol
                self.handshake_complete.set()
            elif isinstance(event, events.ConnectionIdIssued):
                self._on_cid_issued(event.connection_id)
            elif isinstance(event, events.ConnectionIdRetired):
                self._on_cid_retired(event.connection_id)
            elif isinstance(event, events.ConnectionTerminated):
                self._terminate(event.error_code, event.reason_phrase)
        if self._buffered > self.limits.connection_buffer_limit and not self.terminated.is_set():
            self.close("buffer limit exceeded")

    def _stream_for_event(self, stream_id: int) -> QuicStream:
        stream = self._streams.get(stream_id)
        if stream is None:
            stream = QuicStream(self, stream_id)
            self._streams[stream_id] = stream
            if self._on_stream is not None:
                self._on_stream(stream)
            else:
                self._incoming_send.send_nowait(stream)
        return stream

    def _forget_if_finished(self, stream: QuicStream) -> None:
        if stream.finished and self._streams.get(stream.stream_id) is stream:
            del self._streams[stream.stream_id]

    def _terminate(self, error_code: int, reason: str) -> None:
        if self.terminated.is_set():
            return
        self.close_error_code = error_code
        self.close_reason = reason
        self.terminated.set()
        self.closing.set()
        self._incoming_send.close()
        for stream in self._streams.values():
            stream._wake()

    # ---- output -------------------------------------------------------------------------------------------

    def connect(self, address: NetworkAddress) -> None:
        """Client mode: start the handshake towards `address`."""
        self.remote_address = address
        self._call(lambda quic: quic.connect(address, now=trio.current_time()))

    def open_stream(self) -> QuicStream:
        """A new locally-initiated bidirectional stream. Its id is reserved at once (an empty write), so two
        opens in a row never share an id."""
        if self.terminated.is_set():
            raise StreamClosed("connection closed")
        stream_id = self.quic.get_next_available_stream_id()
        stream = QuicStream(self, stream_id)
        self._streams[stream_id] = stream
        self._call(lambda quic: quic.send_stream_data(stream_id, b""))
        return stream

    def close(self, reason: str, error_code: int = CLOSE_CODE) -> None:
        """Close with an application error code and reason; idempotent."""
        if self.terminated.is_set() or self.closing.is_set():
            return
        self.local_close_reason = reason
        self.closing.set()
        self._call(lambda quic: quic.close(error_code=error_code, reason_phrase=reason))
        self._transmit()  # at once: the caller may be about to cancel `run()`

    @property
    def stream_count(self) -> int:
        return len(self._streams)

    @property
    def buffered_bytes(self) -> int:
        return self._buffered

    # ---- timer --------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Send what the library has to send and run its timer, until the connection is terminated (idle
        timeout, close, peer close)."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._run_timer)
            while not self.terminated.is_set():
                self._transmit()
                self._arm_timer()
                await self._wait_for_wake()
                # Let the tasks woken with us (stream readers about to answer) write first: their replies
                # then leave in the same packets as the acknowledgements.
                await trio.lowlevel.checkpoint()
            nursery.cancel_scope.cancel()
        self._transmit()

    def _arm_timer(self) -> None:
        scope = self._timer_scope
        if scope is not None:
            deadline = self.quic.get_timer()
            deadline = math.inf if deadline is None else deadline
            if scope.deadline != deadline:  # moving a deadline re-registers it with the run loop
                scope.deadline = deadline

    async def _wait_for_wake(self) -> None:
        if self._wake_pending or self.terminated.is_set():
            self._wake_pending = False
            return
        self._sender = trio.lowlevel.current_task()

        def abort(_: object) -> trio.lowlevel.Abort:
            self._sender = None
            return trio.lowlevel.Abort.SUCCEEDED

        await trio.lowlevel.wait_task_rescheduled(abort)

    async def _run_timer(self) -> None:
        while not self.terminated.is_set():
            deadline = self.quic.get_timer()
            with trio.CancelScope(deadline=math.inf if deadline is None else deadline) as scope:
                self._timer_scope = scope
                await trio.sleep_forever()
            self._timer_scope = None
            # Only the deadline ends the sleep (a cancellation of run() propagates out of the scope).
            self.quic.handle_timer(now=trio.current_time())
            self._process_events()
            # run() transmits what the timer made due (an ACK, a probe, a retransmission, a held pong) after
            # a checkpoint, so writes of tasks runnable now leave in the same packets.
            self._wake()
