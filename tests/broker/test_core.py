"""The broker's pure core: pricing with checked arithmetic, reservations, the inflight state machine,
selection and scoring, envelope validation against the Go golden vector, the replay cache."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tracker._proto.envelope_pb2 import EnvelopeBody, EnvelopeSigned
from tracker.broker import (
    CostOverflow,
    EnvelopeInvalid,
    IllegalTransition,
    Inflight,
    InflightRequest,
    InsufficientCredits,
    ModelPrice,
    PriceTable,
    ReplayCache,
    Reservations,
    ScoreWeights,
    SelectionPolicy,
    State,
    UnknownModel,
    envelope_hash,
    overspent,
    pick,
    pick_best,
    validate_envelope_body,
)
from tracker.config import Config
from tracker.identity import identity_from_seed, verify
from tracker.registry import Capabilities, PrivacyTier, Registry, SeederRecord

GOLDEN = Path(__file__).parent.parent / "golden"
FIXTURE_SEED = b"token-bay-fixture-seed-v1-000000"


def golden_envelope() -> EnvelopeSigned:
    return EnvelopeSigned.FromString(
        bytes.fromhex((GOLDEN / "envelope_signed.golden.hex").read_text().strip())
    )


def test_golden_envelope_validates_verifies_and_hashes() -> None:
    envelope = golden_envelope()
    validate_envelope_body(envelope.body)
    fixture = identity_from_seed(FIXTURE_SEED)
    assert verify(
        fixture.public_key, envelope.body.SerializeToString(deterministic=True), envelope.consumer_sig
    )
    assert (
        envelope_hash(envelope.body).hex()
        == "4edfe728237cb3ad7c9946d4d413dbb785d79c531d8457de64444b72093752c9"
    )


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: setattr(b, "protocol_version", 2), "protocol_version"),
        (lambda b: setattr(b, "consumer_id", b"\x01"), "consumer_id"),
        (lambda b: setattr(b, "model", ""), "model"),
        (lambda b: setattr(b, "body_hash", b""), "body_hash"),
        (lambda b: setattr(b, "tier", 0), "tier"),
        (lambda b: b.ClearField("exhaustion_proof"), "exhaustion_proof"),
        (lambda b: setattr(b.exhaustion_proof.stop_failure, "matcher", "x"), "matcher"),
        (lambda b: setattr(b.exhaustion_proof.usage_probe, "at", 1714000100), "60 s"),
        (lambda b: b.ClearField("balance_proof"), "balance_proof"),
        (lambda b: setattr(b, "captured_at", 0), "captured_at"),
        (lambda b: setattr(b, "nonce", b"short"), "nonce"),
    ],
)
def test_envelope_validation_first_violation(mutate: object, message: str) -> None:
    body = EnvelopeBody()
    body.CopyFrom(golden_envelope().body)
    mutate(body)  # type: ignore[operator]
    with pytest.raises(EnvelopeInvalid, match=message) as raised:
        validate_envelope_body(body)
    assert str(raised.value).startswith("proto: ")


def test_pricing_from_config_and_checked_arithmetic() -> None:
    prices = PriceTable.from_config(Config().pricing)
    assert prices.max_cost("claude-sonnet-4-6", 100, 200) == 3300
    assert prices.max_cost("claude-sonnet-4-6", 1000, 5000) == 78_000
    with pytest.raises(UnknownModel):
        prices.max_cost("nope", 1, 1)
    with pytest.raises(CostOverflow):
        prices.max_cost("claude-opus-4-7", 2**64 - 1, 2**64 - 1)
    with pytest.raises(CostOverflow):
        PriceTable({"m": ModelPrice(2**62, 2**62)}).cost("m", 1, 1)
    assert not overspent(3465, 3300) and overspent(3466, 3300)


def test_reservations_against_available_minus_outstanding() -> None:
    book = Reservations()
    book.reserve(b"a" * 16, b"C" * 32, 600, available=1000, expires_at=10)
    with pytest.raises(InsufficientCredits):
        book.reserve(b"b" * 16, b"C" * 32, 401, available=1000, expires_at=10)
    book.reserve(b"b" * 16, b"C" * 32, 400, available=1000, expires_at=20)
    assert book.reserved(b"C" * 32) == 1000 and book.total == 1000
    with pytest.raises(CostOverflow):
        book.reserve(b"c" * 16, b"C" * 32, 2**63, available=2**64, expires_at=10)
    assert book.release(b"a" * 16) is not None and book.release(b"a" * 16) is None
    assert [slot.request_id for slot in book.sweep_expired(20)] == [b"b" * 16]
    assert len(book) == 0 and book.reserved(b"C" * 32) == 0


def _request(request_id: bytes, seeder: bytes = b"", assigned_at: float = 0.0) -> InflightRequest:
    return InflightRequest(
        request_id=request_id,
        consumer_id=b"C" * 32,
        body=EnvelopeBody(model="m"),
        envelope_hash=b"h" * 32,
        max_cost=1,
        started_at=0.0,
        assigned_seeder=seeder,
        assigned_at=assigned_at,
    )


def test_inflight_compare_and_set_and_terminal_sweep() -> None:
    table = Inflight()
    table.insert(_request(b"1" * 16))
    table.transition(b"1" * 16, State.SELECTING, State.ASSIGNED, 1.0)
    with pytest.raises(IllegalTransition):
        table.transition(b"1" * 16, State.SELECTING, State.FAILED, 2.0)
    with pytest.raises(IllegalTransition):  # not an edge of the state machine
        table.transition(b"1" * 16, State.ASSIGNED, State.COMPLETED, 2.0)
    table.transition(b"1" * 16, State.ASSIGNED, State.SERVING, 2.0)
    table.transition(b"1" * 16, State.SERVING, State.COMPLETED, 3.0)
    assert table.sweep_terminal(now=100.0, ttl_s=600) == 0
    assert table.sweep_terminal(now=603.0, ttl_s=600) == 1
    assert len(table) == 0


def test_oldest_assigned_request_of_a_seeder_for_a_model() -> None:
    table = Inflight()
    for index, at in ((1, 5.0), (2, 3.0), (3, 4.0)):
        request = _request(bytes([index]) * 16, b"S" * 32, at)
        request.state = State.ASSIGNED
        table.insert(request)
    assert table.oldest_assigned(b"S" * 32, "m").request_id == b"\x02" * 16  # type: ignore[union-attr]
    assert table.oldest_assigned(b"S" * 32, "other") is None
    assert table.oldest_assigned(b"T" * 32, "m") is None


def _seeder(
    identity: bytes, headroom: float, load: int = 0, models: tuple[str, ...] = ("m",)
) -> SeederRecord:
    return SeederRecord(
        identity_id=identity,
        capabilities=Capabilities(models=list(models), tiers=[PrivacyTier.STANDARD]),
        available=True,
        headroom_estimate=headroom,
        load=load,
    )


def test_selection_filters_scores_and_breaks_ties_by_id() -> None:
    policy = SelectionPolicy(ScoreWeights(0.4, 0.3, 0.2, 0.1), min_headroom=0.2, max_load=5)
    records = [
        _seeder(b"\x09" * 32, 0.5),
        _seeder(b"\x02" * 32, 0.5),
        _seeder(b"\x05" * 32, 0.9),
        _seeder(b"\x06" * 32, 0.9, load=5),  # at the load threshold
        _seeder(b"\x07" * 32, 0.1),  # below the headroom threshold
        _seeder(b"\x08" * 32, 0.9, models=("other",)),
    ]
    ranked = [
        record.identity_id[0]
        for record in pick(records, model="m", tier=PrivacyTier.STANDARD, tried=(), policy=policy)
    ]
    assert ranked == [5, 2, 9]
    tried = {b"\x05" * 32}
    assert (
        pick(records, model="m", tier=PrivacyTier.STANDARD, tried=tried, policy=policy)[0].identity_id
        == b"\x02" * 32
    )
    assert pick(records, model="m", tier=PrivacyTier.TEE, tried=(), policy=policy) == []
    # the broker's one-pass choice over a registry is pick's first
    registry = Registry()
    for seeder in records:
        registry.register(seeder)
    for tier, tried_ids in (
        (PrivacyTier.STANDARD, set()),
        (PrivacyTier.STANDARD, tried),
        (PrivacyTier.STANDARD, {b"\x05" * 32, b"\x02" * 32, b"\x09" * 32}),
        (PrivacyTier.TEE, set()),
    ):
        ranked_all = pick(records, model="m", tier=tier, tried=tried_ids, policy=policy)
        best = pick_best(registry, model="m", tier=tier, tried=tried_ids, policy=policy)
        assert best == (ranked_all[0] if ranked_all else None)


def test_replay_cache_remembers_within_the_window_with_bounded_memory() -> None:
    cache = ReplayCache(window_s=300, capacity=3)
    assert cache.check_and_add(b"C", b"n1", now=0)
    assert not cache.check_and_add(b"C", b"n1", now=10)
    assert cache.check_and_add(b"D", b"n1", now=10)
    assert cache.check_and_add(b"C", b"n2", now=20)
    assert not cache.check_and_add(b"C", b"n3", now=30)  # full: refuses rather than forget a live nonce
    assert cache.check_and_add(b"C", b"n3", now=700)  # the old ones aged out
    assert len(cache) == 1


def test_envelope_hash_is_sha256_of_deterministic_body() -> None:
    body = golden_envelope().body
    assert envelope_hash(body) == hashlib.sha256(body.SerializeToString(deterministic=True)).digest()
