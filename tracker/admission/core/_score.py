"""The local credit score: five signals from a ConsumerCreditState, normalized and weighted (§3.1).

Pure functions of (state, config, now); Go semantics where the spec says so (uint32 sums, float64 log2, trial
tier when the defined weights are all zero, half-away-from-zero rounding for fixed-point export).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from tracker.admission.core._state import SECONDS_PER_DAY, ConsumerCreditState

UNDEFINED = -1.0
"""Sentinel for reliability / dispute rate when there are no settlements."""
_MIN_CUSHION = -8
_MAX_CUSHION = 8


class ScoreWeights(Protocol):
    """The `admission.score_weights` attributes the score reads (config.AdmissionScoreWeights)."""

    @property
    def settlement_reliability(self) -> float: ...
    @property
    def inverse_dispute_rate(self) -> float: ...
    @property
    def tenure(self) -> float: ...
    @property
    def net_credit_flow(self) -> float: ...
    @property
    def balance_cushion(self) -> float: ...


class ScoreConfig(Protocol):
    """The AdmissionConfig attributes the score reads (read-only, so any config section with them fits)."""

    @property
    def trial_tier_score(self) -> float: ...
    @property
    def tenure_cap_days(self) -> int: ...
    @property
    def starter_grant_credits(self) -> int: ...
    @property
    def net_flow_normalization_constant(self) -> int: ...
    @property
    def score_weights(self) -> ScoreWeights: ...


@dataclass(frozen=True, slots=True)
class Signals:
    """Raw signals (Go names in the admin JSON: SettlementReliability, DisputeRate, TenureDays, NetFlow,
    BalanceCushionLog2). Reliability and dispute rate are -1.0 when there are no settlements."""

    settlement_reliability: float = 0.0
    dispute_rate: float = 0.0
    tenure_days: int = 0
    net_flow: int = 0
    balance_cushion_log2: int = 0


ZERO_SIGNALS = Signals()


def go_round(value: float) -> int:
    """Go `math.Round`: half away from zero (Python's round() is banker's rounding)."""
    truncated = math.trunc(value)
    if abs(value - truncated) >= 0.5:
        truncated += 1 if value > 0 else -1
    return int(truncated)


def sigmoid(x: float) -> float:
    """1 / (1 + e^-x) without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    exp_x = math.exp(x)
    return exp_x / (1.0 + exp_x)


def floor_log2_ratio(balance: int, starter_grant: int) -> int:
    """floor(log2(balance / max(1, starter_grant))) clamped to [-8, 8]; -8 for a balance ≤ 0."""
    if balance <= 0:
        return _MIN_CUSHION
    raw = math.floor(math.log2(float(balance) / float(max(1, starter_grant))))
    return max(_MIN_CUSHION, min(_MAX_CUSHION, raw))


def compute_signals(state: ConsumerCreditState, config: ScoreConfig, now: float) -> Signals:
    tenure_cap = config.tenure_cap_days
    elapsed = now - state.first_seen_at
    tenure = int(elapsed // SECONDS_PER_DAY) if elapsed > 0 else 0
    tenure = min(tenure, tenure_cap)
    sums = state.sums()
    total = sums.total_settled
    if total > 0:
        reliability = sums.clean / total
        dispute_rate = min(1.0, max(0, sums.filed - sums.upheld) / total)
    else:
        reliability = dispute_rate = UNDEFINED
    return Signals(
        settlement_reliability=reliability,
        dispute_rate=dispute_rate,
        tenure_days=tenure,
        net_flow=sums.earned - sums.spent,
        balance_cushion_log2=floor_log2_ratio(state.last_balance_seen, config.starter_grant_credits),
    )


def score_from_signals(signals: Signals, config: ScoreConfig) -> float:
    """Normalize and weight (§3.1); without settlements the undefined weight is spread over the rest."""
    tenure_cap = config.tenure_cap_days
    tenure_norm = min(1.0, signals.tenure_days / tenure_cap) if tenure_cap > 0 else 0.0
    flow_norm = sigmoid(signals.net_flow / max(1, config.net_flow_normalization_constant))
    cushion_norm = (signals.balance_cushion_log2 + 8) / 16
    weights = config.score_weights
    defined_part = (
        weights.tenure * tenure_norm
        + weights.net_credit_flow * flow_norm
        + weights.balance_cushion * cushion_norm
    )
    if signals.settlement_reliability < 0:
        undefined_weight = weights.settlement_reliability + weights.inverse_dispute_rate
        defined_weight = weights.tenure + weights.net_credit_flow + weights.balance_cushion
        if defined_weight <= 0:
            return config.trial_tier_score
        score = (1 + undefined_weight / defined_weight) * defined_part
    else:
        score = (
            weights.settlement_reliability * signals.settlement_reliability
            + weights.inverse_dispute_rate * (1 - signals.dispute_rate)
            + defined_part
        )
    return 0.0 if score < 0 else 1.0 if score > 1 else score


def compute_local_score(
    state: ConsumerCreditState | None, config: ScoreConfig, now: float
) -> tuple[float, Signals]:
    """Go `ComputeLocalScore`: (score in [0, 1], signals); the trial tier score for a missing state."""
    if state is None:
        return config.trial_tier_score, ZERO_SIGNALS
    signals = compute_signals(state, config, now)
    return score_from_signals(signals, config), signals
