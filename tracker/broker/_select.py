"""Seeder selection (rpc-broker §6.3): filter seeders and rank them by score, ties by id. The broker offers to
the best one (`pick_best`: one pass over the registry, one record copied); `pick` ranks them all."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from tracker.registry import PrivacyTier, Registry, SeederRecord

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


def eligible(
    record: SeederRecord, *, model: str, tier: PrivacyTier, tried: Collection[bytes], policy: SelectionPolicy
) -> bool:
    """Available, not tried, serving `model` at `tier`, headroom ≥ θh, load < θl (θl = 0: no limit)."""
    return (
        record.available
        and record.identity_id not in tried
        and model in record.capabilities.models
        and tier in record.capabilities.tiers
        and record.headroom_estimate >= policy.min_headroom
        and (policy.max_load == 0 or record.load < policy.max_load)
    )


def rank(record: SeederRecord, policy: SelectionPolicy) -> tuple[float, bytes]:
    """Sort key, best first: score descending, then identity id ascending."""
    return (-score(record, policy.weights), record.identity_id)


def pick(
    records: Iterable[SeederRecord],
    *,
    model: str,
    tier: PrivacyTier,
    tried: Collection[bytes],
    policy: SelectionPolicy,
) -> list[SeederRecord]:
    """Eligible seeders, best first (see `eligible` and `rank`)."""
    candidates = [
        record for record in records if eligible(record, model=model, tier=tier, tried=tried, policy=policy)
    ]
    candidates.sort(key=lambda record: rank(record, policy))
    return candidates


def pick_best(
    registry: Registry,
    *,
    model: str,
    tier: PrivacyTier,
    tried: Collection[bytes],
    policy: SelectionPolicy,
) -> SeederRecord | None:
    """`pick(registry.snapshot(), …)[0]` (None when nobody is eligible) in one pass over the registry,
    copying only the chosen record."""

    def ranked(record: SeederRecord) -> tuple[float, bytes] | None:
        if not eligible(record, model=model, tier=tier, tried=tried, policy=policy):
            return None
        return rank(record, policy)

    return registry.best(ranked)
