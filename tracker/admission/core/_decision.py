"""Decide results and the typed admission errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from tracker.admission.core._queue import EtaBand, PositionBand, QueueEntry


class Outcome(IntEnum):
    UNSPECIFIED = 0
    ADMIT = 1
    QUEUE = 2
    REJECT = 3


class RejectReason(IntEnum):
    UNSPECIFIED = 0
    REGION_OVERLOADED = 1
    QUEUE_TIMEOUT = 2


class ScoreSource(IntEnum):
    UNSPECIFIED = 0
    ATTESTATION = 1
    LOCAL = 2
    TRIAL_TIER = 3


@dataclass(frozen=True, slots=True)
class Queued:
    request_id: bytes
    position_band: PositionBand
    eta_band: EtaBand


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: RejectReason
    retry_after_s: int


@dataclass(frozen=True, slots=True)
class DecisionResult:
    """What Decide answered. `queued` is set for QUEUE, `rejected` for REJECT."""

    outcome: Outcome
    credit_used: float
    score_source: ScoreSource
    queued: Queued | None = None
    rejected: Rejected | None = None


@dataclass(frozen=True, slots=True)
class QueueTimeout:
    """A queued request that waited `queue_timeout_s` and left the queue: REJECT QUEUE_TIMEOUT."""

    entry: QueueEntry
    result: DecisionResult
