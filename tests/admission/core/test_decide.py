"""Decide (admission.md §5.1) and credit resolution (§3.2): acceptance §10 #1-#7, #17-#19, decision matrix."""

from __future__ import annotations

import pytest

from tests.admission._fixtures import (
    NOW,
    PEER_ID,
    TRACKER_IDENTITY,
    history_state,
    make_core,
    make_id,
    make_idi,
    sample,
    set_pressure,
    signed_attestation,
)
from tracker._proto.admission_pb2 import SignedCreditAttestation
from tracker.admission import Outcome, RejectReason, ScoreSource
from tracker.admission.core._peers import AllowAllPeerSet, StaticPeerSet
from tracker.admission.core._queue import EtaBand, PositionBand
from tracker.admission.core._score import compute_local_score

CONSUMER = make_id(0xC1)


# --- §10 #1 cold start ----------------------------------------------------------------------------


def test_cold_start_before_any_supply_admits_at_trial_tier() -> None:
    core = make_core()
    result = core.decide(CONSUMER, None, NOW)
    assert result.outcome == Outcome.ADMIT
    assert result.credit_used == 0.4
    assert result.score_source == ScoreSource.TRIAL_TIER


def test_cold_start_at_pressure_half_admits_and_at_one_queues_in_the_first_band() -> None:
    core = make_core()
    set_pressure(core, 0.5)
    assert core.decide(CONSUMER, None, NOW).outcome == Outcome.ADMIT
    set_pressure(core, 1.0)
    result = core.decide(CONSUMER, None, NOW)
    assert result.outcome == Outcome.QUEUE
    assert result.credit_used == 0.4
    assert result.queued is not None
    assert result.queued.position_band == PositionBand.BAND_1_TO_10
    assert result.queued.eta_band == EtaBand.LT_30S
    assert len(result.queued.request_id) == 16
    assert sample(core, "admission_trial_tier_decisions_total") == 2


# --- §10 #2 local history -------------------------------------------------------------------------


def test_local_history_outranks_the_trial_tier() -> None:
    core = make_core()
    core.consumers[CONSUMER] = history_state(tenure_days=10, settlements=50, balance=1000)
    result = core.decide(CONSUMER, None, NOW)
    expected, _ = compute_local_score(core.consumers[CONSUMER], core.config, NOW)
    assert result.score_source == ScoreSource.LOCAL
    assert result.credit_used == pytest.approx(expected)
    assert result.credit_used > 0.4


def test_state_without_settlements_falls_through_to_the_trial_tier() -> None:
    core = make_core()
    core.consumers[CONSUMER] = history_state(tenure_days=30, balance=10**6)
    result = core.decide(CONSUMER, None, NOW)
    assert (result.credit_used, result.score_source) == (0.4, ScoreSource.TRIAL_TIER)


# --- §10 #3 / #4 attestations ---------------------------------------------------------------------


def test_peer_attestation_is_used_and_clamped() -> None:
    core = make_core(peer_set=StaticPeerSet([PEER_ID]))
    result = core.decide(CONSUMER, signed_attestation(score=7000), NOW)
    assert (result.credit_used, result.score_source) == (0.70, ScoreSource.ATTESTATION)
    high = core.decide(CONSUMER, signed_attestation(score=9800), NOW)
    assert high.credit_used == 0.95
    assert sample(core, "admission_attestation_age_seconds_count") == 2


def expired() -> SignedCreditAttestation:
    return signed_attestation(computed_at=NOW - 7200, expires_at=NOW - 3600)


def tampered() -> SignedCreditAttestation:
    signed = signed_attestation()
    signed.body.score = 9999
    return signed


def malformed() -> SignedCreditAttestation:
    return signed_attestation(identity_id=b"\x01\x02\x03")


@pytest.mark.parametrize(
    ("build", "peers", "stage"),
    [
        (expired, AllowAllPeerSet(), "expired"),
        (tampered, AllowAllPeerSet(), "signature"),
        (malformed, AllowAllPeerSet(), "malformed"),
        (signed_attestation, StaticPeerSet(), "unknown_issuer"),
    ],
)
def test_bad_attestations_fall_back_to_the_trial_tier(build, peers, stage) -> None:  # type: ignore[no-untyped-def]
    core = make_core(peer_set=peers)
    result = core.decide(CONSUMER, build(), NOW)
    assert (result.credit_used, result.score_source) == (0.4, ScoreSource.TRIAL_TIER)
    assert sample(core, "admission_attestation_validation_failures_total", {"stage": stage}) == 1


def test_attestation_is_invalid_exactly_at_expires_at() -> None:
    core = make_core(peer_set=AllowAllPeerSet())
    attestation = signed_attestation(expires_at=NOW)
    assert core.decide(CONSUMER, attestation, NOW).score_source == ScoreSource.TRIAL_TIER
    assert core.decide(CONSUMER, attestation, NOW - 1).score_source == ScoreSource.ATTESTATION


def test_attestation_for_another_identity_is_ignored() -> None:
    core = make_core(peer_set=AllowAllPeerSet())
    result = core.decide(make_id(0xC2), signed_attestation(CONSUMER), NOW)
    assert result.score_source == ScoreSource.TRIAL_TIER
    assert (
        sample(core, "admission_attestation_validation_failures_total", {"stage": "identity_mismatch"}) == 1
    )


def test_blocklisted_issuer_is_ignored_and_can_be_unblocked() -> None:
    core = make_core(peer_set=AllowAllPeerSet())
    core.blocklist_add(PEER_ID)
    assert core.blocklist() == [PEER_ID.hex()]
    assert core.decide(CONSUMER, signed_attestation(), NOW).score_source == ScoreSource.TRIAL_TIER
    assert sample(core, "admission_attestation_validation_failures_total", {"stage": "blocklisted"}) == 1
    core.blocklist_remove(PEER_ID)
    core.blocklist_remove(PEER_ID)  # removing an absent peer is fine
    assert core.blocklist() == []
    assert core.decide(CONSUMER, signed_attestation(), NOW).score_source == ScoreSource.ATTESTATION


def test_blocklist_is_seeded_from_config() -> None:
    from tests.admission._fixtures import make_config

    core = make_core(
        peer_set=AllowAllPeerSet(), config=make_config(attestation_peer_blocklist=[PEER_ID.hex().upper()])
    )
    assert core.is_blocklisted(PEER_ID)
    assert core.decide(CONSUMER, signed_attestation(), NOW).score_source == ScoreSource.TRIAL_TIER


# --- §10 #17-#19 security -------------------------------------------------------------------------


def test_s10_17_forged_attestation_uses_trial_tier() -> None:
    core = make_core(peer_set=AllowAllPeerSet())
    set_pressure(core, 0.5)
    assert core.decide(CONSUMER, tampered(), NOW).credit_used == 0.4


def test_s10_18_reject_all_peer_set_ignores_a_valid_attestation() -> None:
    core = make_core(peer_set=StaticPeerSet())
    set_pressure(core, 0.5)
    assert core.decide(CONSUMER, signed_attestation(), NOW).credit_used == 0.4


def test_s10_19_inflated_score_never_exceeds_the_import_cap() -> None:
    core = make_core(peer_set=AllowAllPeerSet())
    set_pressure(core, 0.5)
    assert core.decide(CONSUMER, signed_attestation(score=99999), NOW).credit_used <= 0.95
    assert core.decide(CONSUMER, signed_attestation(score=10000), NOW).credit_used == 0.95


def test_own_issued_attestation_verifies_under_the_tracker_key() -> None:
    core = make_core(peer_set=StaticPeerSet([TRACKER_IDENTITY.public_key]))
    core.consumers[CONSUMER] = history_state(tenure_days=30, settlements=100, earned=5000, spent=5000)
    issued = core.issue_attestation(CONSUMER, NOW)
    result = core.decide(CONSUMER, issued, NOW + 10)
    assert result.score_source == ScoreSource.ATTESTATION
    assert result.credit_used == pytest.approx(0.80, abs=1e-4)


# --- §10 #7 overflow, retry spread ----------------------------------------------------------------


def test_queue_overflow_rejects_region_overloaded() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    for i in range(512):
        assert core.decide(make_idi(i), None, NOW).outcome == Outcome.QUEUE
    result = core.decide(make_idi(999), None, NOW)
    assert result.outcome == Outcome.REJECT
    assert result.rejected is not None
    assert result.rejected.reason == RejectReason.REGION_OVERLOADED
    assert 132 <= result.rejected.retry_after_s <= 161  # 30 + [0,30) + 512 // 5, inside [60, 600]
    assert sample(core, "admission_decisions_total", {"result": "queue"}) == 512
    assert sample(core, "admission_rejections_total", {"reason": "region_overloaded"}) == 1
    assert sample(core, "admission_queue_depth") == 512


def test_queue_position_and_eta_bands_follow_the_length() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    bands = [core.decide(make_idi(i), None, NOW).queued for i in range(201)]
    assert bands[9].position_band == PositionBand.BAND_1_TO_10  # type: ignore[union-attr]
    assert bands[10].position_band == PositionBand.BAND_11_TO_50  # type: ignore[union-attr]
    assert bands[50].position_band == PositionBand.BAND_51_TO_200  # type: ignore[union-attr]
    assert bands[200].position_band == PositionBand.BAND_200_PLUS  # type: ignore[union-attr]
    assert bands[148].eta_band == EtaBand.LT_30S  # type: ignore[union-attr]
    assert bands[149].eta_band == EtaBand.BAND_30S_TO_2M  # type: ignore[union-attr]


def test_retry_after_spreads_within_bounds() -> None:
    values = set()
    for seed in range(100):
        core = make_core(seed=seed, with_metrics=False)
        set_pressure(core, 1.0)
        for i in range(50):
            core.decide(make_idi(i), None, NOW)
        set_pressure(core, 2.0)
        result = core.decide(CONSUMER, None, NOW)
        assert result.rejected is not None
        values.add(result.rejected.retry_after_s)
    assert values <= set(range(60, 70))
    assert len(values) > 5


def test_short_queue_retry_is_always_the_floor() -> None:
    core = make_core()
    set_pressure(core, 2.0)
    assert {core.decide(make_idi(i), None, NOW).rejected.retry_after_s for i in range(30)} == {60}  # type: ignore[union-attr]


# --- the 45-case decision matrix ------------------------------------------------------------------

ATTESTATION_KINDS = ["none", "valid", "expired", "forged", "ejected"]
HISTORIES = ["none", "some", "extensive"]
PRESSURES = [(0.5, Outcome.ADMIT), (1.0, Outcome.QUEUE), (2.0, Outcome.REJECT)]


def matrix_attestation(kind: str) -> SignedCreditAttestation | None:
    return {
        "none": lambda: None,
        "valid": signed_attestation,
        "expired": expired,
        "forged": tampered,
        "ejected": signed_attestation,
    }[kind]()


@pytest.mark.parametrize("attestation_kind", ATTESTATION_KINDS)
@pytest.mark.parametrize("history", HISTORIES)
@pytest.mark.parametrize(("pressure", "outcome"), PRESSURES)
def test_decision_matrix(attestation_kind: str, history: str, pressure: float, outcome: Outcome) -> None:
    core = make_core(peer_set=AllowAllPeerSet())
    if attestation_kind == "ejected":
        core.blocklist_add(PEER_ID)
    if history == "some":
        core.consumers[CONSUMER] = history_state(tenure_days=10, settlements=10, clean=9, balance=1000)
    elif history == "extensive":
        core.consumers[CONSUMER] = history_state(tenure_days=30, settlements=100, balance=50000)
    set_pressure(core, pressure)
    result = core.decide(CONSUMER, matrix_attestation(attestation_kind), NOW)
    assert result.outcome == outcome
    if outcome == Outcome.REJECT:
        assert result.rejected is not None
        assert 60 <= result.rejected.retry_after_s <= 600
    if attestation_kind == "valid":
        assert (result.credit_used, result.score_source) == (0.70, ScoreSource.ATTESTATION)
    elif history == "none":
        assert (result.credit_used, result.score_source) == (0.4, ScoreSource.TRIAL_TIER)
    else:
        assert result.score_source == ScoreSource.LOCAL
        assert result.credit_used == pytest.approx(
            compute_local_score(core.consumers[CONSUMER], core.config, NOW)[0]
        )


def test_threshold_comparisons_are_strict() -> None:
    core = make_core()
    set_pressure(core, 0.85)
    assert core.decide(CONSUMER, None, NOW).outcome == Outcome.QUEUE
    set_pressure(core, 1.5)
    assert core.decide(CONSUMER, None, NOW).outcome == Outcome.REJECT
    set_pressure(core, 0.8499)
    assert core.decide(CONSUMER, None, NOW).outcome == Outcome.ADMIT
