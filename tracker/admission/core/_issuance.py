"""Attestation issuance pieces (admission.md §3.3): the per-consumer sliding-window rate limiter and the body
builder (Go half-away-from-zero rounding of the fixed-point fields)."""

from __future__ import annotations

from collections import deque

from tracker._proto.admission_pb2 import CreditAttestationBody
from tracker.admission.core._score import Signals, go_round

RATE_WINDOW_S = 3600.0
_FIXED_POINT_ONE = 10000
_PRUNE_EVERY = 4096


class IssuanceRateLimiter:
    """At most `per_hour` issuances per identity in any sliding hour; `per_hour` ≤ 0 means unlimited."""

    def __init__(self, per_hour: int) -> None:
        self._cap = per_hour
        self._issued: dict[bytes, deque[float]] = {}
        self._calls = 0

    def allow(self, identity_id: bytes, now: float) -> bool:
        """Record an issuance at `now` and return True, or return False when the window is full."""
        if self._cap <= 0:
            return True
        self._calls += 1
        if self._calls % _PRUNE_EVERY == 0:
            self._prune_all(now)
        window = self._issued.setdefault(identity_id, deque())
        horizon = now - RATE_WINDOW_S
        while window and not window[0] > horizon:
            window.popleft()
        if len(window) >= self._cap:
            return False
        window.append(now)
        return True

    def _prune_all(self, now: float) -> None:
        horizon = now - RATE_WINDOW_S
        for identity_id in [
            key for key, window in self._issued.items() if not window or window[-1] <= horizon
        ]:
            del self._issued[identity_id]


def _fixed_point(value: float) -> int:
    return 0 if value < 0 else go_round(min(value, 1.0) * _FIXED_POINT_ONE)


def build_attestation_body(
    consumer_id: bytes, issuer_id: bytes, score: float, signals: Signals, now: float, ttl_s: int
) -> CreditAttestationBody:
    """The body of §3.3 step 4 (computed_at = now, expires_at = now + ttl, unix seconds)."""
    computed_at = int(now)
    return CreditAttestationBody(
        identity_id=consumer_id,
        issuer_tracker_id=issuer_id,
        score=go_round(score * _FIXED_POINT_ONE),
        tenure_days=signals.tenure_days,
        settlement_reliability=_fixed_point(signals.settlement_reliability),
        dispute_rate=_fixed_point(signals.dispute_rate),
        net_credit_flow_30d=signals.net_flow,
        balance_cushion_log2=signals.balance_cushion_log2,
        computed_at=computed_at,
        expires_at=int(now + ttl_s),
    )
