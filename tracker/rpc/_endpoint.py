"""The UDP side of the transport: one Trio task owns the socket, reads datagrams in batches and routes each to
its connection by destination connection id; sends are non-blocking `sendto` calls (a full socket buffer
drops the datagram, which QUIC's loss recovery resends). Server mode accepts connections from Initial
packets; client mode drives a single outgoing connection over the same code.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio
from aioquic.buffer import Buffer  # type: ignore[attr-defined]  # re-exported from aioquic._buffer
from aioquic.quic.configuration import SMALLEST_MAX_DATAGRAM_SIZE, QuicConfiguration
from aioquic.quic.connection import NetworkAddress
from aioquic.quic.packet import QuicPacketType, encode_quic_version_negotiation, pull_quic_header

from tracker.rpc._aioquic import TrackerQuicConnection
from tracker.rpc._connection import ConnectionLimits, QuicConnectionDriver

logger = logging.getLogger("tracker.rpc")

MAX_DATAGRAM_READ = 65_535
RECEIVE_BATCH = 64
RECEIVE_BUFFER_BYTES = 4 << 20  # absorbs a reconnect wave's handshakes between two reads
DEFAULT_MAX_CONNECTIONS = 10_000
ConnectionHandler = Callable[[QuicConnectionDriver], Awaitable[None]]


def bind_udp(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket bound to (host, port). Raises OSError (e.g. EADDRINUSE) as the OS reports."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock


class UdpEndpoint:
    """A bound non-blocking UDP socket with a receive loop."""

    def __init__(self, sock: socket.socket) -> None:
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # the kernel caps it at net.core.rmem_max
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
        self.sock = sock
        self.dropped_sends = 0
        self.datagrams_sent = 0  # attempted sends, dropped ones included
        self.datagrams_received = 0

    @property
    def local_address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return host, port

    def sendto(self, data: bytes, address: NetworkAddress) -> None:
        self.datagrams_sent += 1
        try:
            self.sock.sendto(data, address)
        except (BlockingIOError, InterruptedError):
            self.dropped_sends += 1
        except OSError as error:
            self.dropped_sends += 1
            logger.debug("rpc: sendto failed", extra={"address": address, "error": str(error)})

    async def receive_loop(self, on_datagram: Callable[[bytes, NetworkAddress], None]) -> None:
        """Deliver every datagram to `on_datagram` until cancelled."""
        sock = self.sock
        while True:
            await trio.lowlevel.wait_readable(sock)
            for _ in range(RECEIVE_BATCH):
                try:
                    data, address = sock.recvfrom(MAX_DATAGRAM_READ)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError as error:  # e.g. ICMP port unreachable surfaced on a connected path
                    logger.debug("rpc: recvfrom failed", extra={"error": str(error)})
                    break
                self.datagrams_received += 1
                on_datagram(data, address)
            await trio.lowlevel.checkpoint()


@dataclass(frozen=True, slots=True)
class ServerSettings:
    configuration: QuicConfiguration
    limits: ConnectionLimits
    max_incoming_streams: int
    max_connections: int = DEFAULT_MAX_CONNECTIONS


class QuicServerEndpoint:
    """Accepts QUIC connections on a bound UDP socket and runs `on_connection(driver)` for each, in one
    nursery per connection. `serve()` runs until cancelled; `stop_accepting()` refuses new connections."""

    def __init__(
        self, sock: socket.socket, settings: ServerSettings, on_connection: ConnectionHandler
    ) -> None:
        self.udp = UdpEndpoint(sock)
        self._settings = settings
        self._on_connection = on_connection
        self._routes: dict[bytes, QuicConnectionDriver] = {}
        self.connections: set[QuicConnectionDriver] = set()
        self._nursery: trio.Nursery | None = None
        self.accepting = True

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await self.udp.receive_loop(self._datagram_received)

    def stop_accepting(self) -> None:
        self.accepting = False

    def _datagram_received(self, data: bytes, address: NetworkAddress) -> None:
        settings = self._settings
        if data and not data[0] & 0x80:
            # A short-header (1-RTT) packet: its destination connection id is the `connection_id_length`
            # bytes after the first (RFC 9000 §17.3), so it is routed without parsing the header. One with
            # no connection here is dropped, as the full parse below would drop it.
            driver = self._routes.get(data[1 : 1 + settings.configuration.connection_id_length])
            if driver is not None:
                driver.datagram_received(data, address)
            return
        try:
            header = pull_quic_header(
                Buffer(data=data), host_cid_length=settings.configuration.connection_id_length
            )
        except ValueError:
            return
        if (
            header.packet_type != QuicPacketType.VERSION_NEGOTIATION
            and header.version is not None
            and header.version not in settings.configuration.supported_versions
        ):
            self.udp.sendto(
                encode_quic_version_negotiation(
                    source_cid=header.destination_cid,
                    destination_cid=header.source_cid,
                    supported_versions=settings.configuration.supported_versions,
                ),
                address,
            )
            return
        driver = self._routes.get(header.destination_cid)
        if driver is None:
            if (
                header.packet_type != QuicPacketType.INITIAL
                or len(data) < SMALLEST_MAX_DATAGRAM_SIZE
                or not self.accepting
                or len(self.connections) >= settings.max_connections
                or self._nursery is None
            ):
                return
            driver = self._accept(header.destination_cid)
        driver.datagram_received(data, address)

    def _accept(self, original_cid: bytes) -> QuicConnectionDriver:
        quic = TrackerQuicConnection(
            configuration=self._settings.configuration,
            original_destination_connection_id=original_cid,
            max_incoming_streams=self._settings.max_incoming_streams,
        )
        cids = {original_cid, quic.host_cid}

        def issued(cid: bytes) -> None:
            cids.add(cid)
            self._routes[cid] = driver

        def retired(cid: bytes) -> None:
            cids.discard(cid)
            if self._routes.get(cid) is driver:
                del self._routes[cid]

        driver = QuicConnectionDriver(
            quic,
            self.udp.sendto,
            self._settings.limits,
            on_connection_id_issued=issued,
            on_connection_id_retired=retired,
        )
        for cid in cids:
            self._routes[cid] = driver
        self.connections.add(driver)
        assert self._nursery is not None
        self._nursery.start_soon(self._run_connection, driver, cids)
        return driver

    async def _run_connection(self, driver: QuicConnectionDriver, cids: set[bytes]) -> None:
        try:
            await run_driver(driver, self._on_connection)
        finally:
            self.connections.discard(driver)
            for cid in cids:
                if self._routes.get(cid) is driver:
                    del self._routes[cid]


async def run_driver(driver: QuicConnectionDriver, on_connection: ConnectionHandler) -> None:
    """Run a connection: its timer, and `on_connection(driver)` cancelled as soon as the connection starts
    closing. Returns when the connection is terminated. If `on_connection` returns first, the connection is
    closed with "server close"/"client close" as appropriate."""

    async def session() -> None:
        try:
            await on_connection(driver)
        except Exception:
            logger.exception("rpc: connection handler failed")
        driver.close("client close" if driver.quic.configuration.is_client else "server close")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(driver.run)
        async with trio.open_nursery() as sessions:
            sessions.start_soon(session)
            await driver.closing.wait()
            sessions.cancel_scope.cancel()
