"""The local score: signals, normalization, weights, worked examples of admission.md §3.1."""

from __future__ import annotations

import math

import pytest

from tests.admission._fixtures import DAY, NOW, history_state, make_config
from tracker.admission.core._score import compute_local_score, floor_log2_ratio, go_round, sigmoid
from tracker.admission.core._state import ZERO_TIME, ConsumerCreditState
from tracker.config import AdmissionScoreWeights


def test_all_signals_known_scores_080() -> None:
    state = history_state(tenure_days=30, settlements=100, earned=5000, spent=5000, balance=1000)
    score, signals = compute_local_score(state, make_config(), NOW)
    assert score == pytest.approx(0.80)
    assert signals.settlement_reliability == 1.0
    assert signals.dispute_rate == 0.0
    assert signals.tenure_days == 30
    assert signals.net_flow == 0
    assert signals.balance_cushion_log2 == 0


def test_no_settlements_redistributes_the_undefined_weight() -> None:
    state = history_state(tenure_days=10, balance=1000)
    score, signals = compute_local_score(state, make_config(), NOW)
    assert score == pytest.approx(0.44444, abs=1e-5)
    assert signals.settlement_reliability == -1.0
    assert signals.dispute_rate == -1.0


def test_dispute_rate_is_capped_at_one() -> None:
    state = history_state(tenure_days=1, settlements=5, disputes_filed=10, disputes_upheld=5)
    _, signals = compute_local_score(state, make_config(), NOW)
    assert signals.dispute_rate == 1.0


def test_upheld_beyond_filed_gives_dispute_rate_zero() -> None:
    state = history_state(tenure_days=1, settlements=5, disputes_filed=1, disputes_upheld=5)
    assert compute_local_score(state, make_config(), NOW)[1].dispute_rate == 0.0


@pytest.mark.parametrize(("balance", "cushion"), [(10**9, 8), (0, -8), (-5, -8), (1, -8)])
def test_balance_cushion_is_clamped(balance: int, cushion: int) -> None:
    state = history_state(tenure_days=1, balance=balance)
    assert compute_local_score(state, make_config(), NOW)[1].balance_cushion_log2 == cushion


@pytest.mark.parametrize(
    ("balance", "grant", "expected"), [(1000, 1000, 0), (2000, 1000, 1), (8000, 1000, 3), (500, 1000, -1)]
)
def test_floor_log2_ratio_examples(balance: int, grant: int, expected: int) -> None:
    assert floor_log2_ratio(balance, grant) == expected


def test_tenure_is_capped_and_a_zero_first_seen_gives_the_cap() -> None:
    config = make_config()
    assert compute_local_score(history_state(tenure_days=400), config, NOW)[1].tenure_days == 30
    unset = ConsumerCreditState(first_seen_at=ZERO_TIME, last_balance_seen=1000)
    assert compute_local_score(unset, config, NOW)[1].tenure_days == 30
    future = ConsumerCreditState(first_seen_at=NOW + DAY, last_balance_seen=1000)
    assert compute_local_score(future, config, NOW)[1].tenure_days == 0


def test_missing_state_gives_the_trial_tier() -> None:
    assert compute_local_score(None, make_config(), NOW)[0] == 0.4


def test_all_defined_weights_zero_without_settlements_gives_the_trial_tier() -> None:
    weights = AdmissionScoreWeights(
        settlement_reliability=1.0, inverse_dispute_rate=0, tenure=0, net_credit_flow=0, balance_cushion=0
    )
    config = make_config(score_weights=weights, trial_tier_score=0.33)
    assert compute_local_score(history_state(tenure_days=5), config, NOW)[0] == 0.33


def test_score_is_clamped_to_unit_interval() -> None:
    weights = AdmissionScoreWeights(
        settlement_reliability=2.0, inverse_dispute_rate=0, tenure=0, net_credit_flow=0, balance_cushion=0
    )
    state = history_state(tenure_days=5, settlements=3)
    assert compute_local_score(state, make_config(score_weights=weights), NOW)[0] == 1.0


def test_go_round_is_half_away_from_zero() -> None:
    assert [go_round(v) for v in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, 4443.5)] == [
        1,
        2,
        3,
        -1,
        -3,
        0,
        4444,
    ]


def test_sigmoid_never_overflows() -> None:
    assert sigmoid(0) == 0.5
    assert sigmoid(-1e6) == 0.0
    assert sigmoid(1e6) == 1.0
    assert sigmoid(1.0) == pytest.approx(1 / (1 + math.e**-1))
