"""Shared builders for the admission core tests (the Go fixtures of admission.md §12)."""

from __future__ import annotations

import random
from dataclasses import replace

from prometheus_client import CollectorRegistry

from tracker._proto.admission_pb2 import CreditAttestationBody, SignedCreditAttestation
from tracker.admission import AdmissionMetrics
from tracker.admission.core._attestation import sign_credit_attestation
from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.admission.core._peers import PeerSet
from tracker.admission.core._state import BucketArray, ConsumerCreditState, DayBucket, strip_to_day
from tracker.admission.core._supply import SupplySnapshot
from tracker.config import AdmissionConfig
from tracker.identity import TrackerIdentity, identity_from_seed
from tracker.registry import Registry

NOW = 1777118400  # 2026-04-25T12:00:00Z
DAY = 86400
TRACKER_IDENTITY = identity_from_seed(b"admission-fixture-tracker-seed-1")
PEER_IDENTITY = identity_from_seed(b"admission-fixture-peer-seed-v1-x")
PEER_ID = PEER_IDENTITY.public_key


def make_id(byte: int) -> bytes:
    return bytes([byte]) * 32


def make_idi(i: int) -> bytes:
    return bytes([i & 0xFF, (i >> 8) & 0xFF]) + bytes(30)


def make_config(**overrides: object) -> AdmissionConfig:
    return replace(AdmissionConfig(), **overrides)


def make_core(
    *,
    peer_set: PeerSet | None = None,
    config: AdmissionConfig | None = None,
    with_metrics: bool = True,
    identity: TrackerIdentity = TRACKER_IDENTITY,
    seed: int = 7,
    clock_value: float = NOW,
) -> AdmissionCore:
    metrics = AdmissionMetrics(CollectorRegistry()) if with_metrics else None
    return AdmissionCore(
        config or make_config(),
        Registry(),
        identity,
        peer_set=peer_set,
        metrics=metrics,
        clock=lambda: clock_value,
        rng=random.Random(seed),
    )


def sample(core: AdmissionCore, name: str, labels: dict[str, str] | None = None) -> float:
    assert core.metrics is not None
    value = core.metrics.registry.get_sample_value(name, labels or {})
    return 0.0 if value is None else value


def set_pressure(core: AdmissionCore, pressure: float, now: float = NOW) -> None:
    core.publish_supply(SupplySnapshot(computed_at=now, total_headroom=10.0, pressure=pressure))


def attestation_body(consumer: bytes = make_id(0xC1), **overrides: object) -> CreditAttestationBody:
    fields: dict[str, object] = {
        "identity_id": consumer,
        "issuer_tracker_id": PEER_ID,
        "score": 7000,
        "tenure_days": 60,
        "settlement_reliability": 9000,
        "dispute_rate": 100,
        "net_credit_flow_30d": 50000,
        "balance_cushion_log2": 1,
        "computed_at": NOW - 3600,
        "expires_at": NOW + 23 * 3600,
    }
    fields.update(overrides)
    return CreditAttestationBody(**fields)  # type: ignore[arg-type]


def signed_attestation(
    consumer: bytes = make_id(0xC1), signer: TrackerIdentity = PEER_IDENTITY, **overrides: object
) -> SignedCreditAttestation:
    body = attestation_body(consumer, **overrides)
    return SignedCreditAttestation(body=body, tracker_sig=sign_credit_attestation(signer.key_bytes, body))


def history_state(
    *,
    tenure_days: int,
    settlements: int = 0,
    clean: int | None = None,
    balance: int = 1000,
    earned: int = 0,
    spent: int = 0,
    disputes_filed: int = 0,
    disputes_upheld: int = 0,
    now: int = NOW,
) -> ConsumerCreditState:
    """A hand-built state (one bucket per array, today's index)."""
    from tracker.admission.core._state import day_bucket_index

    state = ConsumerCreditState(first_seen_at=now - tenure_days * DAY, last_balance_seen=balance)
    index = day_bucket_index(now)
    today = strip_to_day(now)
    if settlements:
        state.set_bucket(
            BucketArray.SETTLEMENT,
            index,
            DayBucket(settlements, settlements if clean is None else clean, 0, today),
        )
    if earned or spent:
        state.set_bucket(BucketArray.FLOW, index, DayBucket(0, earned, spent, today))
    if disputes_filed or disputes_upheld:
        state.set_bucket(BucketArray.DISPUTE, index, DayBucket(0, disputes_filed, disputes_upheld, today))
    return state
