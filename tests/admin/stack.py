"""The admin app wired to the real subsystems (ledger on SQLite, registry, admission core + persistence) in a
temporary data directory, plus helpers to feed the ledger and read the admission tlog back."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from quart_trio import QuartTrio

from tests.admin.conftest import FIXED_NOW, TOKEN, ShutdownRecorder, identity
from tracker._proto.envelope_pb2 import EnvelopeBody
from tracker.admin import DashboardFeed, create_admin_app
from tracker.admission._service import AdmissionService
from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.admission.core._state import ConsumerCreditState
from tracker.admission.core._supply import SupplySnapshot
from tracker.admission.persistence._tlog_format import OperatorOverridePayload, TLogKind
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file
from tracker.broker import BrokerService, InflightRequest, PriceTable, State
from tracker.config import Config, config_for_data_dir
from tracker.identity import TrackerIdentity, identity_from_seed
from tracker.ledger import (
    AsyncLedger,
    SettlementStore,
    UsageRecord,
    build_usage_entry,
    canonical_bytes,
    open_ledger,
)
from tracker.registry import Registry


@dataclass(frozen=True)
class Party:
    """A consumer or seeder with its own Ed25519 key; identity id = SHA-256(public key)."""

    private_key: Ed25519PrivateKey
    public_key: bytes
    identity_id: bytes


def party(label: str) -> Party:
    private_key = Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(b"admin-test-" + label.encode()).digest()
    )
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Party(private_key, public_key, hashlib.sha256(public_key).digest())


def tracker_identity() -> TrackerIdentity:
    return identity_from_seed(hashlib.sha256(b"admin-test-tracker").digest())


@dataclass
class AdminStack:
    app: QuartTrio
    config: Config
    ledger: AsyncLedger
    registry: Registry
    core: AdmissionCore
    admission: AdmissionService
    shutdown: ShutdownRecorder
    broker: BrokerService

    def add_broker_request(self, value: int) -> bytes:
        """An inflight request (ASSIGNED) with a reservation, as the broker holds them; its id."""
        request_id = bytes([value]) * 16
        request = InflightRequest(
            request_id=request_id,
            consumer_id=identity(value),
            body=EnvelopeBody(model="claude-sonnet-4-6"),
            envelope_hash=bytes(32),
            max_cost=100,
            started_at=FIXED_NOW - 5,
            assigned_seeder=identity(0x5E),
        )
        self.broker.inflight.insert(request)
        self.broker.inflight.transition(request_id, State.SELECTING, State.ASSIGNED, FIXED_NOW)
        self.broker.reservations.reserve(request_id, request.consumer_id, 100, 1000, FIXED_NOW + 1200)
        return request_id

    async def append_usage(
        self, consumer: Party, seeder: Party, cost: int, *, request_byte: int = 0x33
    ) -> None:
        tip = await self.ledger.tip()
        prev_hash = tip.hash if tip else bytes(32)
        seq = tip.seq + 1 if tip else 1
        fields = {
            "prev_hash": prev_hash,
            "seq": seq,
            "consumer_id": consumer.identity_id,
            "seeder_id": seeder.identity_id,
            "model": "claude-sonnet-4-6",
            "input_tokens": 1000,
            "output_tokens": 200,
            "cost_credits": cost,
            "timestamp": int(FIXED_NOW),
            "request_id": bytes([request_byte]) * 16,
            "consumer_sig_missing": True,
        }
        canonical = canonical_bytes(build_usage_entry(**fields))
        await self.ledger.append_usage(
            UsageRecord(**fields, seeder_sig=seeder.private_key.sign(canonical), seeder_pub=seeder.public_key)
        )

    def set_pressure(self, pressure: float, headroom: float = 10.0) -> None:
        self.core.publish_supply(
            SupplySnapshot(computed_at=FIXED_NOW, total_headroom=headroom, pressure=pressure)
        )

    def consumer_state(self, identity_id: bytes) -> ConsumerCreditState | None:
        state = self.core.consumers.get(identity_id)
        return None if state is None else state.copy()

    async def override_records(self) -> list[tuple[int, OperatorOverridePayload]]:
        """(seq, payload) of every OPERATOR_OVERRIDE record in the tlog files, after a flush."""
        await self.admission.flush()
        records: list[tuple[int, OperatorOverridePayload]] = []

        def collect(seq: int, ts: int, kind: int, payload: bytes) -> None:
            if kind == TLogKind.OPERATOR_OVERRIDE:
                records.append((seq, OperatorOverridePayload.decode(bytes(payload))))

        for path in enumerate_tlog_files(self.config.admission.tlog_path):
            scan_tlog_file(Path(path), collect)
        return records


@asynccontextmanager
async def admin_stack(
    data_dir: Path,
    *,
    token: str | None = TOKEN,
    clock: Callable[[], float] = lambda: FIXED_NOW,
    wrap_ledger: Callable[[AsyncLedger], object] | None = None,
    dashboard: DashboardFeed | None = None,
) -> AsyncIterator[AdminStack]:
    """Open ledger, registry and admission (replayed, subscribed to the ledger); build the admin app."""
    config = config_for_data_dir(data_dir)
    identity = tracker_identity()
    async with open_ledger(config.ledger.storage_path, identity, clock=clock) as ledger:
        registry = Registry()
        admission = AdmissionService.create(config.admission, registry, identity, clock=clock)
        core = admission.core
        await admission.startup_replay(
            wrap_ledger(ledger) if wrap_ledger is not None else ledger  # type: ignore[arg-type]
        )
        ledger.subscribe(admission.on_ledger_entry)
        shutdown = ShutdownRecorder()
        settlements = await trio.to_thread.run_sync(SettlementStore.open, config.ledger.storage_path)
        broker = BrokerService(
            ledger=ledger,
            settlements=settlements,
            registry=registry,
            admission=admission,
            prices=PriceTable.from_config(config.pricing),
            clock=clock,
        )
        app = create_admin_app(
            ledger=ledger,
            registry=registry,
            admission=admission,
            request_shutdown=shutdown,
            admin_token=token,
            clock=clock,
            logger=logging.getLogger("tests.admin"),
            merkle_root_minutes=config.ledger.merkle_root_interval_minutes,
            broker=broker,
            dashboard=dashboard,
        )
        try:
            yield AdminStack(app, config, ledger, registry, core, admission, shutdown, broker)
        finally:
            with trio.CancelScope(shield=True):
                await admission.aclose()
            settlements.close()
