"""Attestation issuance (admission.md §3.3, acceptance §10 #8)."""

from __future__ import annotations

import pytest

from tests.admission._fixtures import (
    NOW,
    TRACKER_IDENTITY,
    history_state,
    make_config,
    make_core,
    make_id,
    sample,
)
from tracker.admission._errors import AttestationValidationError, NoLocalHistoryError, RateLimitedError
from tracker.admission.core._attestation import verify_credit_attestation
from tracker.admission.core._events import LedgerEvent, LedgerEventKind
from tracker.admission.core._score import compute_local_score

CONSUMER = make_id(0xC1)


def test_no_state_is_no_local_history_and_costs_no_quota() -> None:
    core = make_core()
    for _ in range(10):
        with pytest.raises(NoLocalHistoryError, match="no local consumer history"):
            core.issue_attestation(CONSUMER, NOW)
    core.consumers[CONSUMER] = history_state(tenure_days=3)
    for _ in range(6):
        core.issue_attestation(CONSUMER, NOW)


def test_happy_path_fields_and_signature() -> None:
    core = make_core()
    core.consumers[CONSUMER] = history_state(
        tenure_days=12, settlements=40, clean=37, earned=300, spent=9000, disputes_filed=2, balance=4000
    )
    signed = core.issue_attestation(CONSUMER, NOW + 0.75)
    body = signed.body
    assert verify_credit_attestation(TRACKER_IDENTITY.public_key, signed)
    assert body.identity_id == CONSUMER
    assert body.issuer_tracker_id == TRACKER_IDENTITY.public_key
    assert 0 < body.score <= 10000
    assert body.computed_at == NOW
    assert body.expires_at == NOW + 86400
    score, _ = compute_local_score(core.consumers[CONSUMER], core.config, NOW + 0.75)
    assert abs(body.score / 10000 - score) < 1e-3
    assert body.tenure_days == 12
    assert body.settlement_reliability == 9250  # 37/40
    assert body.dispute_rate == 500  # 2/40
    assert body.net_credit_flow_30d == -8700
    assert body.balance_cushion_log2 == 2
    assert sample(core, "admission_attestations_issued_total") == 1


def test_signals_without_settlements_are_exported_as_zero() -> None:
    core = make_core()
    core.apply_event(LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW, cost_credits=1000))
    body = core.issue_attestation(CONSUMER, NOW).body
    assert body.settlement_reliability == 0 and body.dispute_rate == 0
    assert body.score == round(compute_local_score(core.consumers[CONSUMER], core.config, NOW)[0] * 10000)


def test_seventh_issuance_within_the_hour_is_rate_limited_and_the_window_slides() -> None:
    core = make_core()
    core.consumers[CONSUMER] = history_state(tenure_days=3)
    for minute in range(6):
        core.issue_attestation(CONSUMER, NOW + 60 * minute)
    with pytest.raises(RateLimitedError, match="rate limit exceeded"):
        core.issue_attestation(CONSUMER, NOW + 360)
    core.issue_attestation(CONSUMER, NOW + 3600 + 1)  # the first one left the window
    with pytest.raises(RateLimitedError):
        core.issue_attestation(CONSUMER, NOW + 3600 + 2)


def test_limit_is_per_consumer_and_six_at_once_slide_after_an_hour() -> None:
    core = make_core()
    other = make_id(0xC2)
    core.consumers[CONSUMER] = history_state(tenure_days=3)
    core.consumers[other] = history_state(tenure_days=3)
    for _ in range(6):
        core.issue_attestation(CONSUMER, NOW)
    core.issue_attestation(other, NOW)
    core.issue_attestation(CONSUMER, NOW + 3601)


def test_ttl_above_seven_days_fails_validation() -> None:
    core = make_core(config=make_config(attestation_ttl_seconds=604801))
    core.consumers[CONSUMER] = history_state(tenure_days=3)
    with pytest.raises(AttestationValidationError, match="ttl"):
        core.issue_attestation(CONSUMER, NOW)
