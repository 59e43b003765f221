"""Seeder selection (rpc-broker §6.3): filter a registry snapshot and rank by score, ties by id."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tracker.registry import PrivacyTier, SeederRecord

DEFAULT_REPUTATION = 0.5


@dataclass(frozen=True, slots=True)
class ScoreWeights:
    reputation: float = 0.4
    headroom: float = 0.3
    rtt: float = 0.2
    load: float = 0.1


@dataclass(frozen=True, slots=True)
class SelectionPolicy:
    weights: ScoreWeights = ScoreWeights()
    min_headroom: float = 0.2
    max_load: int = 5


def score(record: SeederRecord, weights: ScoreWeights) -> float:
    reputation = DEFAULT_REPUTATION  # no reputation subsystem yet: every seeder scores the default
    rtt = 0.0  # not measured in v1
    return (
        weights.reputation * reputation
        + weights.headroom * record.headroom_estimate
        - weights.rtt * rtt
        - weights.load * record.load
    )


def pick(
    records: Iterable[SeederRecord],
    *,
    model: str,
    tier: PrivacyTier,
    tried: Collection[bytes],
    policy: SelectionPolicy,
) -> list[SeederRecord]:
    """Eligible seeders, best first: available, not tried, serving `model` at `tier`, headroom ≥ θh, load <
    θl (θl = 0: no limit); score descending, then identity id ascending."""
    eligible = [
        record
        for record in records
        if record.available
        and record.identity_id not in tried
        and model in record.capabilities.models
        and tier in record.capabilities.tiers
        and record.headroom_estimate >= policy.min_headroom
        and (policy.max_load == 0 or record.load < policy.max_load)
    ]
    eligible.sort(key=lambda record: (-score(record, policy.weights), record.identity_id))
    return eligible
