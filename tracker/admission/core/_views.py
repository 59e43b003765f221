"""Read-only views for the admin routes of admission.md §10, with their Go JSON shapes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tracker.admission.core._score import Signals
from tracker.admission.core._state import MINUTE_BUCKET_COUNT, SeederHeartbeatState

_GO_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class AdmissionStatus:
    pressure: float
    queue_depth: int
    supply_total_headroom: float
    admit_threshold: float
    reject_threshold: float

    def to_go_json(self) -> dict[str, Any]:
        return {
            "pressure": self.pressure,
            "queue_depth": self.queue_depth,
            "supply_total_headroom": self.supply_total_headroom,
            "thresholds": {"admit": self.admit_threshold, "reject": self.reject_threshold},
        }


@dataclass(frozen=True, slots=True)
class QueueItemView:
    consumer_id: bytes
    request_id: bytes
    effective_priority: float
    enqueued_at: int
    score: float

    def to_go_json(self) -> dict[str, Any]:
        return {
            "consumer_id": self.consumer_id.hex(),
            "effective_priority": self.effective_priority,
            "enqueued_at": self.enqueued_at,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class ConsumerView:
    score: float
    signals: Signals

    def to_go_json(self) -> dict[str, Any]:
        return {"score": self.score, "signals": self.signals.to_go_json()}


def go_rfc3339(unix_seconds: int) -> str:
    """Go's time.Time JSON form (RFC 3339, UTC, 'Z'); the zero time is 0001-01-01T00:00:00Z."""
    moment = _GO_EPOCH + timedelta(seconds=int(unix_seconds))
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def seeder_state_to_go_json(state: SeederHeartbeatState) -> dict[str, Any]:
    return {
        "Buckets": [
            {"Expected": bucket.expected, "Actual": bucket.actual}
            for bucket in (state.bucket(index) for index in range(MINUTE_BUCKET_COUNT))
        ],
        "LastBucketRollAt": go_rfc3339(state.last_bucket_roll_at),
        "LastHeadroomEstimate": state.last_headroom_estimate,
        "LastHeadroomSource": state.last_headroom_source,
        "LastHeadroomTs": go_rfc3339(state.last_headroom_ts),
        "CanProbeUsage": state.can_probe_usage,
    }
