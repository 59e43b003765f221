"""An in-process brokering tracker for tests: ledger + identity and settlement tables + registry + admission
(replayed, subscribed) + BrokerService + TrackerRpcService behind a real QUIC listener on 127.0.0.1, and
helpers for peers (enrol, advertise, signed envelopes, seeders that accept offers, consumers that settle)."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import trio

from tests.rpc.harness import running_server
from tracker._proto.envelope_pb2 import (
    EnvelopeBody,
    EnvelopeSigned,
)
from tracker._proto.rpc_pb2 import OfferDecision, OfferPush, SettleAck, SettlementPush
from tracker.admission import AdmissionService
from tracker.broker import BrokerService, BrokerSettings, PriceTable
from tracker.client import ClientError, PeerClient, connect_peer, signed_envelope
from tracker.client import envelope_body as client_envelope_body
from tracker.config import config_for_data_dir
from tracker.identity import TrackerIdentity, generate_identity
from tracker.ledger import AsyncLedger, IdentityStore, SettlementStore, SignedBalanceSnapshot, open_ledger
from tracker.registry import Registry
from tracker.rpc import RpcServer, RpcServiceSettings, TrackerRpcService, certificate_pin, tracker_certificate

SONNET = "claude-sonnet-4-6"
FAST_SETTINGS = BrokerSettings(offer_timeout_s=0.5, queue_drain_interval_s=0.1)


@dataclass
class BrokerStack:
    server: RpcServer
    service: TrackerRpcService
    broker: BrokerService
    ledger: AsyncLedger
    registry: Registry
    admission: AdmissionService
    settlements: SettlementStore
    identity: TrackerIdentity


@asynccontextmanager
async def broker_stack(
    tmp_path: Path,
    settings: BrokerSettings = FAST_SETTINGS,
    *,
    rate_per_sec: float = 1000.0,
    grant: int = 1_000_000,
    clock: Callable[[], float] = time.time,
) -> AsyncIterator[BrokerStack]:
    config = config_for_data_dir(tmp_path)
    identity = generate_identity()
    path = tmp_path / "ledger.sqlite"
    async with open_ledger(path, identity, clock=clock) as ledger:
        identities = await trio.to_thread.run_sync(IdentityStore.open, path)
        settlements = await trio.to_thread.run_sync(SettlementStore.open, path)
        try:
            registry = Registry()
            admission = AdmissionService.create(config.admission, registry, identity, clock=clock)
            await admission.startup_replay(ledger)
            ledger.subscribe(admission.on_ledger_entry)
            broker = BrokerService(
                ledger=ledger,
                settlements=settlements,
                registry=registry,
                admission=admission,
                prices=PriceTable.from_config(config.pricing),
                settings=settings,
                clock=clock,
            )
            service = TrackerRpcService(
                ledger=ledger,
                identities=identities,
                registry=registry,
                tracker_identity=identity,
                tracker_pin=certificate_pin(tracker_certificate(identity)),
                settings=RpcServiceSettings(
                    starter_grant_credits=grant,
                    enroll_rate_per_min_per_ip=1000,
                    broker_request_rate_per_sec=rate_per_sec,
                ),
                clock=clock,
                broker=broker,
            )
            async with trio.open_nursery() as nursery:
                await nursery.start(broker.run)
                async with running_server(service, identity=identity) as server:
                    broker.pusher = server
                    yield BrokerStack(
                        server, service, broker, ledger, registry, admission, settlements, identity
                    )
                nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await admission.aclose(final_snapshot=False)
            settlements.close()
            identities.close()


# ---- peers ------------------------------------------------------------------------------------------------


def envelope_body(
    snapshot: SignedBalanceSnapshot,
    *,
    model: str = SONNET,
    max_in: int = 100,
    max_out: int = 200,
    now: float | None = None,
) -> EnvelopeBody:
    """The reference consumer's envelope body (tracker.client) with the test's defaults."""
    return client_envelope_body(model, max_in, max_out, snapshot, now)


@dataclass
class SeederBehaviour:
    """How a test seeder answers offers: accept with a fresh 32-byte key, or reject, or stall."""

    accept: bool = True
    stall_s: float = 0.0
    key_length: int = 32
    offers: list[OfferPush] = field(default_factory=list)

    async def __call__(self, offer: OfferPush) -> OfferDecision:
        self.offers.append(offer)
        if self.stall_s:
            await trio.sleep(self.stall_s)
        if not self.accept:
            return OfferDecision(accept=False, reject_reason="busy")
        return OfferDecision(accept=True, ephemeral_pubkey=os.urandom(self.key_length))


@dataclass
class ConsumerSettler:
    """A consumer's settlement handler: countersigns the pushed body and calls SETTLE, then acks."""

    identity: TrackerIdentity
    client: PeerClient | None = None
    pushes: list[SettlementPush] = field(default_factory=list)
    settled: trio.Event = field(default_factory=trio.Event)
    countersign: bool = True

    async def __call__(self, push: SettlementPush) -> SettleAck | None:
        self.pushes.append(push)
        if not self.countersign or self.client is None:
            return None
        if hashlib.sha256(push.preimage_body).digest() != push.preimage_hash:
            return None
        try:
            await self.client.settle(push.preimage_hash, self.identity.sign(push.preimage_body))
        except ClientError:
            return None
        self.settled.set()
        return SettleAck()


@asynccontextmanager
async def seeder_peer(
    stack: BrokerStack,
    behaviour: SeederBehaviour | None = None,
    *,
    models: list[str] | None = None,
    headroom: float = 0.9,
) -> AsyncIterator[tuple[PeerClient, SeederBehaviour]]:
    behaviour = behaviour or SeederBehaviour()
    async with connect_peer(
        stack.server.local_address, pin=stack.server.pin, identity=generate_identity(), on_offer=behaviour
    ) as client:
        await client.enroll(role=2)
        await client.advertise(models or [SONNET], headroom=headroom)
        yield client, behaviour


@asynccontextmanager
async def consumer_peer(
    stack: BrokerStack, *, countersign: bool = True
) -> AsyncIterator[tuple[PeerClient, ConsumerSettler]]:
    identity = generate_identity()
    settler = ConsumerSettler(identity, countersign=countersign)
    async with connect_peer(
        stack.server.local_address, pin=stack.server.pin, identity=identity, on_settlement=settler
    ) as client:
        settler.client = client
        await client.enroll(role=1)
        yield client, settler


async def signed_request(client: PeerClient, **body_options: object) -> EnvelopeSigned:
    snapshot = await client.balance()
    return signed_envelope(client.identity, envelope_body(snapshot, **body_options))  # type: ignore[arg-type]
