"""Regional supply and demand (admission.md §4, with the README's deliberate differences).

contribution = headroom × freshness decay × heartbeat reliability × reputation; demand is a true EWMA *rate*
(events per second, 5 s half-life); pressure = demand / supply (0 when there is no supply).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tracker.admission.core._state import SeederHeartbeatState
from tracker.registry import SeederRecord

DEMAND_HALF_LIFE_S = 5.0
FRESH_HEARTBEAT_S = 60.0
PRESSURE_CROSSING_LEVEL = 1.0


@dataclass(frozen=True, slots=True)
class SupplySnapshot:
    """One aggregation result. `computed_at` None = nothing published yet (Decide then admits)."""

    computed_at: float | None = None
    total_headroom: float = 0.0
    per_model: Mapping[str, float] = field(default_factory=dict)
    contributing_seeders: int = 0
    silent_seeders: int = 0
    pressure: float = 0.0
    demand_rate: float = 0.0
    recent_reject_rate: float = 0.0


EMPTY_SUPPLY = SupplySnapshot()


class DemandTracker:
    """Exponentially-weighted moving average of the Decide arrival rate, in events per second.

    Each event adds 1/τ to the rate and the rate decays as e^(−Δt/τ), τ = half-life / ln 2: a steady arrival
    rate λ converges to λ. Times going backwards are treated as no elapsed time.
    """

    __slots__ = ("_last", "_rate", "_tau")

    def __init__(self, half_life_s: float = DEMAND_HALF_LIFE_S) -> None:
        self._tau = half_life_s / math.log(2)
        self._rate = 0.0
        self._last: float | None = None

    def _decay_to(self, now: float) -> None:
        if self._last is None:
            self._last = now
            return
        elapsed = now - self._last
        if elapsed > 0:
            self._rate *= math.exp(-elapsed / self._tau)
            self._last = now

    def record(self, now: float) -> None:
        self._decay_to(now)
        self._rate += 1.0 / self._tau

    def rate(self, now: float) -> float:
        """The rate decayed to `now` (events/s)."""
        self._decay_to(now)
        return self._rate


def freshness(age_s: float, max_age_s: float) -> float:
    """1 up to 60 s since the last heartbeat, then linear down to 0 at `max_age_s`."""
    age_s = max(0.0, age_s)
    if age_s <= FRESH_HEARTBEAT_S:
        return 1.0
    if age_s >= max_age_s:
        return 0.0
    return (max_age_s - age_s) / (max_age_s - FRESH_HEARTBEAT_S)


def compute_supply(
    seeders: Iterable[SeederRecord],
    heartbeat_states: Mapping[bytes, SeederHeartbeatState],
    demand_rate: float,
    freshness_max_age_s: float,
    now: float,
) -> SupplySnapshot:
    """Sum every seeder's weighted headroom; a seeder whose weight is ≤ 0 counts as silent."""
    total = 0.0
    per_model: dict[str, float] = {}
    contributing = 0
    silent = 0
    for seeder in seeders:
        state = heartbeat_states.get(seeder.identity_id)
        reliability = 1.0 if state is None else state.reliability()
        weight = freshness(now - seeder.last_heartbeat, freshness_max_age_s) * reliability
        weight *= seeder.reputation_score
        if not weight > 0:
            silent += 1
            continue
        headroom = seeder.headroom_estimate
        if math.isnan(headroom):
            silent += 1
            continue
        contribution = min(1.0, max(0.0, headroom)) * weight
        total += contribution
        contributing += 1
        for model in seeder.capabilities.models:
            per_model[model] = per_model.get(model, 0.0) + contribution
    pressure = demand_rate / total if total > 0 else 0.0
    return SupplySnapshot(
        computed_at=now,
        total_headroom=total,
        per_model=per_model,
        contributing_seeders=contributing,
        silent_seeders=silent,
        pressure=pressure,
        demand_rate=demand_rate,
    )


def threshold_crossing(previous: float, current: float, level: float = PRESSURE_CROSSING_LEVEL) -> str | None:
    """ "up" when pressure rises to ≥ level, "down" when it falls below it, else None."""
    if previous < level <= current:
        return "up"
    if current < level <= previous:
        return "down"
    return None
