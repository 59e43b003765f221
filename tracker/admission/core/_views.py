"""Read-only views for the admin routes of admission.md §10 (their JSON shapes live in tracker/admin)."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.admission.core._score import Signals


@dataclass(frozen=True, slots=True)
class AdmissionStatus:
    pressure: float
    queue_depth: int
    supply_total_headroom: float
    admit_threshold: float
    reject_threshold: float


@dataclass(frozen=True, slots=True)
class QueueItemView:
    consumer_id: bytes
    request_id: bytes
    effective_priority: float
    enqueued_at: int
    score: float


@dataclass(frozen=True, slots=True)
class ConsumerView:
    score: float
    signals: Signals
