"""An in-process tracker RPC stack for tests: ledger file + identity table + registry + TrackerRpcService
behind a real QUIC listener on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio

from tests.rpc.harness import running_server
from tracker.identity import TrackerIdentity, generate_identity
from tracker.ledger import AsyncLedger, IdentityStore, open_ledger
from tracker.registry import Registry
from tracker.rpc import RpcServer, RpcServiceSettings, TrackerRpcService, certificate_pin, tracker_certificate


@dataclass
class TrackerStack:
    server: RpcServer
    service: TrackerRpcService
    ledger: AsyncLedger
    registry: Registry
    identities: IdentityStore
    identity: TrackerIdentity


@asynccontextmanager
async def tracker_stack(
    tmp_path: Path, settings: RpcServiceSettings | None = None
) -> AsyncIterator[TrackerStack]:
    identity = generate_identity()
    path = tmp_path / "ledger.sqlite"
    async with open_ledger(path, identity) as ledger:
        identities = await trio.to_thread.run_sync(IdentityStore.open, path)
        try:
            registry = Registry()
            service = TrackerRpcService(
                ledger=ledger,
                identities=identities,
                registry=registry,
                tracker_identity=identity,
                tracker_pin=certificate_pin(tracker_certificate(identity)),
                settings=settings or RpcServiceSettings(enroll_rate_per_min_per_ip=100),
            )
            async with running_server(service, identity=identity) as server:
                yield TrackerStack(server, service, ledger, registry, identities, identity)
        finally:
            identities.close()
