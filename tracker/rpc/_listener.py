"""The plugin RPC listener as the composition root runs it: the durable identity table opened on the ledger
file, the tracker's RPC service over the ledger and registry, the QUIC server on an already bound socket, and
one background coroutine that serves and drains on a shutdown request."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import trio
from prometheus_client import CollectorRegistry

from tracker.broker import BrokerService
from tracker.identity import TrackerIdentity
from tracker.ledger import AsyncLedger, IdentityStore
from tracker.registry import Registry
from tracker.rpc._certs import certificate_pin, tracker_certificate, x509_private_key
from tracker.rpc._handlers import RpcServiceSettings, TrackerRpcService
from tracker.rpc._metrics import RpcMetrics
from tracker.rpc._server import RpcServer, RpcServerSettings


@dataclass(frozen=True, slots=True)
class ConnectedPeer:
    """One connected peer as operators see it (admin GET /peers)."""

    canonical_id: bytes
    raw_pub_id: bytes
    role: int | None  # enrolment role bits (1 consumer, 2 seeder); None when not enrolled
    address: str
    connected_since: float  # unix seconds
    last_heartbeat: float | None  # unix seconds


@dataclass
class RpcListener:
    server: RpcServer
    service: TrackerRpcService

    @property
    def address(self) -> str:
        host, port = self.server.local_address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def pin(self) -> bytes:
        return self.server.pin

    def connection_count(self) -> int:
        """Peers connected now (identity checked)."""
        return len(self.server.peers)

    async def connected_peers(self) -> list[ConnectedPeer]:
        """Every connected peer, oldest connection first (roles read from the identity table)."""
        peers = [
            ConnectedPeer(
                canonical_id=connection.peer.canonical_id,
                raw_pub_id=connection.peer.raw_pub_id,
                role=await self.service.enrolled_role(connection.peer.canonical_id),
                address=connection.peer.address,
                connected_since=connection.peer.connected_at,
                last_heartbeat=connection.last_heartbeat,
            )
            for connection in self.server.peers.connections()
        ]
        return sorted(peers, key=lambda peer: peer.connected_since)

    async def run(self) -> None:
        """Serve until cancelled; then every connection still open is closed with "server close"."""
        await self.server.serve()

    async def drain(self, grace_s: float) -> None:
        """Stop accepting, give in-flight RPCs up to `grace_s`, close every connection with "server close"."""
        await self.server.drain(grace_s)


@asynccontextmanager
async def open_rpc_listener(
    sock: socket.socket,
    *,
    config: object,
    identity: TrackerIdentity,
    ledger: AsyncLedger,
    registry: Registry,
    metrics_registry: CollectorRegistry | None,
    clock: Callable[[], float] = time.time,
    broker: BrokerService | None = None,
) -> AsyncIterator[RpcListener]:
    """Build the listener on `sock` (bound by the caller; the server closes it when it stops serving). The
    identity table is closed on exit."""
    identities = await trio.to_thread.run_sync(IdentityStore.open, ledger.path)
    try:
        certificate = tracker_certificate(identity)
        service = TrackerRpcService(
            ledger=ledger,
            identities=identities,
            registry=registry,
            tracker_identity=identity,
            tracker_pin=certificate_pin(certificate),
            settings=RpcServiceSettings.from_config(config),
            clock=clock,
            broker=broker,
        )
        server = RpcServer(
            sock,
            certificate,
            x509_private_key(identity),
            service,
            RpcServerSettings.from_server_config(config.server),  # type: ignore[attr-defined]
            metrics=RpcMetrics(metrics_registry),
        )
        if broker is not None:
            broker.pusher = server
        yield RpcListener(server, service)
    finally:
        with trio.CancelScope(shield=True):
            await trio.to_thread.run_sync(identities.close)
