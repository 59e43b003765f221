"""The plugin RPC listener: QUIC + mutual TLS on one UDP socket, peer sessions, the stream model and pushes.

Per connection (one nursery, cancelled when the connection starts closing): a handshake timeout, the
identity checks in the Go order, supersede-on-reconnect, then one task per client stream. A client stream is
classified by its first frame (spec README, "how the heartbeat stream is found"): a HeartbeatPing makes it
the heartbeat stream (ping → pong until EOF), anything else is one unary RPC (RpcRequest → RpcResponse →
FIN).

The server knows nothing of ledgers or brokers: it hands `(peer, method, payload)` to an `RpcHandler` and
writes back the bytes it returns.
"""

from __future__ import annotations

import logging
import socket
import time
from dataclasses import dataclass
from typing import Protocol

import trio
from aioquic.quic.configuration import QuicConfiguration
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf.message import DecodeError

from tracker._proto.rpc_pb2 import HeartbeatPing, HeartbeatPong
from tracker.rpc._aioquic import check_private_api, peer_certificates
from tracker.rpc._certs import PeerCertificateError, certificate_pin, check_peer_certificates
from tracker.rpc._connection import ConnectionLimits, QuicConnectionDriver, QuicStream, StreamClosed
from tracker.rpc._endpoint import DEFAULT_MAX_CONNECTIONS, QuicServerEndpoint, ServerSettings, UdpEndpoint
from tracker.rpc._metrics import RpcMetrics
from tracker.rpc._peers import Peer, PeerConnection, PeerTable
from tracker.rpc._wire import (
    DEFAULT_MAX_FRAME_SIZE,
    FrameTooLarge,
    RpcStatus,
    encode_frame,
    error_response,
    frame_error_response,
    is_heartbeat_frame,
    parse_request,
)

logger = logging.getLogger("tracker.rpc")

ALPN = "tokenbay/1"
HANDSHAKE_TIMEOUT_S = 10.0
CLOSE_GRACE_S = 2.0  # after "server close": time for CONNECTION_CLOSE to go out before the sockets go


class RpcHandler(Protocol):
    """What the transport calls. `handle_rpc` returns the serialized RpcResponse; an exception becomes an
    INTERNAL / PANIC reply. The other hooks run on the Trio thread and must not block."""

    async def handle_rpc(self, peer: Peer, method: int, payload: bytes) -> bytes: ...

    def peer_connected(self, peer: Peer) -> None: ...

    def peer_disconnected(self, peer: Peer) -> None: ...

    def heartbeat(self, peer: Peer) -> None: ...


@dataclass(frozen=True, slots=True)
class RpcServerSettings:
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    idle_timeout_s: float = 60.0
    max_incoming_streams: int = 1024
    handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S
    max_connections: int = DEFAULT_MAX_CONNECTIONS

    @classmethod
    def from_server_config(cls, server: object) -> RpcServerSettings:
        """From a config `server` section (max_frame_size, idle_timeout_s, max_incoming_streams)."""
        return cls(
            max_frame_size=server.max_frame_size,  # type: ignore[attr-defined]
            idle_timeout_s=float(server.idle_timeout_s),  # type: ignore[attr-defined]
            max_incoming_streams=server.max_incoming_streams,  # type: ignore[attr-defined]
        )


def server_configuration(
    certificate: x509.Certificate, private_key: Ed25519PrivateKey, idle_timeout_s: float
) -> QuicConfiguration:
    """TLS 1.3 with ALPN tokenbay/1; no tickets (no handler is given), hence no 0-RTT; no datagrams."""
    return QuicConfiguration(
        is_client=False,
        alpn_protocols=[ALPN],
        certificate=certificate,
        private_key=private_key,
        idle_timeout=idle_timeout_s,
    )


def _is_client_bidi(stream_id: int) -> bool:
    return stream_id % 4 == 0


class RpcServer:
    """Serve the plugin RPC on a bound UDP socket. Run `serve()` in a nursery (`await nursery.start(...)`);
    call `drain(grace_s)` to shut down gracefully, then cancel."""

    def __init__(
        self,
        sock: socket.socket,
        certificate: x509.Certificate,
        private_key: Ed25519PrivateKey,
        handler: RpcHandler,
        settings: RpcServerSettings | None = None,
        *,
        metrics: RpcMetrics | None = None,
    ) -> None:
        check_private_api()
        self.settings = settings or RpcServerSettings()
        self.handler = handler
        self.metrics = metrics or RpcMetrics(None)
        self.pin = certificate_pin(certificate)
        self.peers = PeerTable()
        self._endpoint = QuicServerEndpoint(
            sock,
            ServerSettings(
                configuration=server_configuration(certificate, private_key, self.settings.idle_timeout_s),
                limits=ConnectionLimits.for_frame_size(self.settings.max_frame_size),
                max_incoming_streams=self.settings.max_incoming_streams,
                max_connections=self.settings.max_connections,
            ),
            self._serve_connection,
        )

    @property
    def local_address(self) -> tuple[str, int]:
        return self._endpoint.udp.local_address

    @property
    def connection_count(self) -> int:
        return len(self._endpoint.connections)

    @property
    def udp(self) -> UdpEndpoint:
        """The socket side (datagram counters for benchmarks and tests)."""
        return self._endpoint.udp

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; then every connection still open is closed with "server close" (the close
        is sent at once) and the socket is closed. `task_status.started()` once datagrams are read."""
        try:
            await self._endpoint.serve(task_status=task_status)
        finally:
            for driver in list(self._endpoint.connections):
                driver.close("server close")
            self._endpoint.udp.sock.close()

    async def drain(self, grace_s: float) -> None:
        """Stop accepting connections, give in-flight RPCs up to `grace_s` to finish, then close every
        connection with code 0 "server close" (cancelling what still runs) and wait briefly for the closes
        to be sent."""
        self._endpoint.stop_accepting()
        with trio.move_on_after(grace_s):
            while any(connection.in_flight for connection in self.peers.connections()):
                await trio.sleep(0.02)
        drivers = list(self._endpoint.connections)
        for driver in drivers:
            driver.close("server close")
        with trio.move_on_after(CLOSE_GRACE_S):
            for driver in drivers:
                await driver.terminated.wait()

    # ---- pushes -------------------------------------------------------------------------------------------

    async def push(self, identity_id: bytes, tag: int, body: bytes, timeout_s: float) -> bytes | None:
        """Open a server stream to a connected peer, write `tag` then one frame of `body`, and return the one
        reply frame; None when the peer is not connected, the stream fails, or `timeout_s` passes."""
        connection = self.peers.get(identity_id)
        if connection is None:
            self.metrics.push(tag, "no_peer")
            return None
        stream: QuicStream | None = None
        outcome = "timeout"
        with trio.move_on_after(timeout_s):
            try:
                stream = connection.driver.open_stream()
                stream.send(bytes([tag]) + encode_frame(body, self.settings.max_frame_size))
                reply = await stream.receive_frame()
                stream.finish()
                self.metrics.push(tag, "replied" if reply is not None else "failed")
                return reply
            except (StreamClosed, FrameTooLarge):
                outcome = "failed"
        if stream is not None:
            stream.abort()
        self.metrics.push(tag, outcome)
        return None

    # ---- connections --------------------------------------------------------------------------------------

    async def _serve_connection(self, driver: QuicConnectionDriver) -> None:
        try:
            with trio.move_on_after(self.settings.handshake_timeout_s):
                await driver.handshake_complete.wait()
        finally:
            if driver.closing.is_set() and not driver.handshake_complete.is_set():
                self.metrics.handshake("failed")  # TLS refused it (ALPN, certificate verify, …)
        if not driver.handshake_complete.is_set():
            self.metrics.handshake("timeout")
            driver.close("handshake timeout")
            return
        try:
            key = check_peer_certificates(peer_certificates(driver.quic))
        except PeerCertificateError as error:
            self.metrics.handshake("refused")
            logger.info("rpc: refused", extra={"address": driver.remote_address, "reason": error.reason})
            driver.close(error.reason)
            return
        self.metrics.handshake("ok")
        address = driver.remote_address or ("", 0)
        connection = PeerConnection(Peer.from_key(key, (str(address[0]), int(address[1]))), driver)
        superseded = self.peers.add(connection)
        if superseded is not None:
            superseded.driver.close("superseded")
        self.metrics.connections.inc()
        logger.info(
            "rpc: peer connected",
            extra={"peer_id": key.canonical_id.hex(), "address": connection.peer.address},
        )
        self.handler.peer_connected(connection.peer)
        try:
            async with trio.open_nursery() as nursery:

                def on_stream(stream: QuicStream) -> None:
                    # Called from the driver's event processing: only schedules.
                    if _is_client_bidi(stream.stream_id):
                        nursery.start_soon(self._serve_stream, connection, stream)
                    else:
                        nursery.start_soon(_refuse_stream, stream)

                driver.deliver_streams_to(on_stream)
                try:
                    await driver.terminated.wait()
                finally:
                    driver.deliver_streams_to(None)
        finally:
            self.metrics.connections.dec()
            if self.peers.remove(connection):
                self.handler.peer_disconnected(connection.peer)
            logger.info("rpc: peer disconnected", extra={"peer_id": key.canonical_id.hex()})

    async def _serve_stream(self, connection: PeerConnection, stream: QuicStream) -> None:
        try:
            first = await stream.receive_frame()
        except FrameTooLarge as error:
            self._reply(stream, frame_error_response(str(error)).SerializeToString(deterministic=True))
            stream.stop_reading()
            return
        except StreamClosed:
            stream.abort()
            return
        if first is None:
            stream.finish()
        elif is_heartbeat_frame(first):
            await self._heartbeat_loop(connection, stream, first)
        else:
            await self._serve_rpc(connection, stream, first)

    async def _heartbeat_loop(self, connection: PeerConnection, stream: QuicStream, body: bytes) -> None:
        while True:
            ping = HeartbeatPing()
            try:
                ping.ParseFromString(body)
            except DecodeError as error:
                logger.warning(
                    "rpc: heartbeat bad frame",
                    extra={"address": connection.peer.address, "error": str(error)},
                )
                stream.abort()
                return
            connection.last_heartbeat = time.time()
            self.metrics.heartbeats.inc()
            self.handler.heartbeat(connection.peer)
            stream.send_frame(HeartbeatPong(seq=ping.seq).SerializeToString(deterministic=True))
            try:
                next_body = await stream.receive_frame()
            except (FrameTooLarge, StreamClosed) as error:
                if not connection.driver.closing.is_set():  # a disconnect is logged once, as such
                    logger.warning(
                        "rpc: heartbeat ended",
                        extra={"address": connection.peer.address, "error": str(error)},
                    )
                stream.abort()
                return
            if next_body is None:
                stream.finish()
                return
            body = next_body

    async def _serve_rpc(self, connection: PeerConnection, stream: QuicStream, body: bytes) -> None:
        started = time.perf_counter()
        try:
            request = parse_request(body)
        except DecodeError as error:
            response = frame_error_response(f"unmarshal: {error}").SerializeToString(deterministic=True)
            self._reply(stream, response)
            self.metrics.rpc(0, RpcStatus.INVALID, time.perf_counter() - started)
            return
        connection.in_flight += 1
        try:
            response = await self.handler.handle_rpc(connection.peer, request.method, request.payload)
        except Exception:
            logger.exception("rpc: handler panicked", extra={"method": request.method})
            response = error_response(RpcStatus.INTERNAL, "PANIC", "handler panicked").SerializeToString(
                deterministic=True
            )
        finally:
            connection.in_flight -= 1
        self._reply(stream, response)
        self.metrics.rpc(request.method, _status_of(response), time.perf_counter() - started)

    def _reply(self, stream: QuicStream, response: bytes) -> None:
        try:
            stream.send_frame(response, end_stream=True)
        except FrameTooLarge as error:
            logger.error("rpc: response not sent", extra={"stream_id": stream.stream_id, "error": str(error)})
            stream.finish()


async def _refuse_stream(stream: QuicStream) -> None:
    stream.abort()


def _status_of(response: bytes) -> int:
    # RpcResponse field 1 (status) is the first byte pair when present: 0x08, varint < 128.
    if len(response) >= 2 and response[0] == 0x08:
        return response[1]
    return 0


__all__ = ["ALPN", "RpcHandler", "RpcServer", "RpcServerSettings"]
