"""An in-process RPC listener on 127.0.0.1 for transport tests, with a recording echo handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import trio

from tracker.client import PeerClient, connect_peer
from tracker.identity import TrackerIdentity, generate_identity
from tracker.rpc import (
    Peer,
    RpcHandler,
    RpcServer,
    RpcServerSettings,
    bind_udp,
    tracker_certificate,
    x509_private_key,
)
from tracker.rpc._wire import ok_response


@dataclass
class EchoHandler:
    """Answers every RPC with OK and the request payload; records the peer events."""

    connected: list[Peer] = field(default_factory=list)
    disconnected: list[Peer] = field(default_factory=list)
    heartbeats: int = 0
    release: trio.Event | None = None

    async def handle_rpc(self, peer: Peer, method: int, payload: bytes) -> bytes:
        if self.release is not None:
            await self.release.wait()
        return ok_response(method.to_bytes(1, "big") + payload).SerializeToString(deterministic=True)

    def peer_connected(self, peer: Peer) -> None:
        self.connected.append(peer)

    def peer_disconnected(self, peer: Peer) -> None:
        self.disconnected.append(peer)

    def heartbeat(self, peer: Peer) -> None:
        self.heartbeats += 1


@asynccontextmanager
async def running_server(
    handler: RpcHandler, settings: RpcServerSettings | None = None, identity: TrackerIdentity | None = None
) -> AsyncIterator[RpcServer]:
    identity = identity or generate_identity()
    server = RpcServer(
        bind_udp("127.0.0.1", 0), tracker_certificate(identity), x509_private_key(identity), handler, settings
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(server.serve)
        yield server
        nursery.cancel_scope.cancel()


async def wait_until(predicate: object, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not predicate():  # type: ignore[operator]
            await trio.sleep(0.01)


@asynccontextmanager
async def server_and_peer(
    handler: RpcHandler, settings: RpcServerSettings | None = None, **connect_options: object
) -> AsyncIterator[tuple[RpcServer, PeerClient]]:
    """A running server and one peer (a fresh identity unless `identity=` is given) connected to it and
    known to the server."""
    async with running_server(handler, settings) as server:
        identity = connect_options.pop("identity", None) or generate_identity()
        async with connect_peer(
            server.local_address,
            pin=server.pin,
            identity=identity,  # type: ignore[arg-type]
            **connect_options,  # type: ignore[arg-type]
        ) as peer:
            # The client's handshake completes one flight before the server's identity checks.
            await wait_until(lambda: server.peers.get(peer.canonical_id) is not None or peer.closed)
            yield server, peer
