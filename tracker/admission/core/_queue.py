"""The admission priority queue (admission.md §5.2-5.3): a max-heap on effective priority
= credit score + alpha × minutes waited, with timeout sweep and re-enqueue that keeps the original age.

Every entry ages at the same rate, so the order by effective priority equals the order by the static key
score − alpha × enqueued_at_minutes; the heap stores that key and never needs re-sorting as time passes.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from tracker.admission._errors import QueueFullError
from tracker.admission.core._events import ZERO_ID

ETA_SECONDS_PER_POSITION = 0.2


class PositionBand(IntEnum):
    UNSPECIFIED = 0
    BAND_1_TO_10 = 1
    BAND_11_TO_50 = 2
    BAND_51_TO_200 = 3
    BAND_200_PLUS = 4


class EtaBand(IntEnum):
    UNSPECIFIED = 0
    LT_30S = 1
    BAND_30S_TO_2M = 2
    BAND_2M_TO_5M = 3
    BAND_5M_PLUS = 4


def position_band(position: int) -> PositionBand:
    if position <= 0:
        return PositionBand.UNSPECIFIED
    if position <= 10:
        return PositionBand.BAND_1_TO_10
    if position <= 50:
        return PositionBand.BAND_11_TO_50
    if position <= 200:
        return PositionBand.BAND_51_TO_200
    return PositionBand.BAND_200_PLUS


def eta_band(eta_s: float) -> EtaBand:
    if eta_s < 30:
        return EtaBand.LT_30S
    if eta_s <= 120:
        return EtaBand.BAND_30S_TO_2M
    if eta_s <= 300:
        return EtaBand.BAND_2M_TO_5M
    return EtaBand.BAND_5M_PLUS


@dataclass(slots=True)
class QueueEntry:
    request_id: bytes
    consumer_id: bytes
    credit_score: float
    enqueued_at: float
    envelope_hash: bytes = field(default=ZERO_ID)

    def effective_priority(self, now: float, alpha_per_minute: float) -> float:
        waited_minutes = max(0.0, now - self.enqueued_at) / 60.0
        return self.credit_score + alpha_per_minute * waited_minutes


class PriorityQueue:
    """Bounded max-heap of QueueEntry by effective priority (ties: first in, first out)."""

    __slots__ = ("_alpha", "_capacity", "_heap", "_order")

    def __init__(self, capacity: int, alpha_per_minute: float) -> None:
        self._capacity = capacity
        self._alpha = alpha_per_minute
        self._heap: list[tuple[float, int, QueueEntry]] = []
        self._order = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def alpha_per_minute(self) -> float:
        return self._alpha

    def __len__(self) -> int:
        return len(self._heap)

    def is_full(self) -> bool:
        return len(self._heap) >= self._capacity

    def push(self, entry: QueueEntry) -> int:
        """Add `entry`, keeping its enqueued_at (a re-enqueued entry keeps its age); returns the new length.

        Raises QueueFullError at capacity.
        """
        if len(self._heap) >= self._capacity:
            raise QueueFullError(f"admission queue is full ({self._capacity} entries)")
        key = -(entry.credit_score - self._alpha * entry.enqueued_at / 60.0)
        self._order += 1
        heapq.heappush(self._heap, (key, self._order, entry))
        return len(self._heap)

    def pop(self) -> QueueEntry | None:
        return heapq.heappop(self._heap)[2] if self._heap else None

    def pop_ready(self, now: float, min_serve_priority: float) -> QueueEntry | None:
        """Pop the head if its effective priority at `now` is ≥ min_serve_priority; otherwise leave it."""
        if not self._heap:
            return None
        head = self._heap[0][2]
        if head.effective_priority(now, self._alpha) < min_serve_priority:
            return None
        return heapq.heappop(self._heap)[2]

    def drain(self, count: int) -> list[QueueEntry]:
        """Pop up to `count` entries from the top (a negative count drains nothing)."""
        drained: list[QueueEntry] = []
        while self._heap and len(drained) < count:
            drained.append(heapq.heappop(self._heap)[2])
        return drained

    def remove_where(self, predicate: Callable[[QueueEntry], bool]) -> list[QueueEntry]:
        """Remove every entry for which predicate(entry) is true; returns them in heap-array order."""
        removed = [item[2] for item in self._heap if predicate(item[2])]
        if removed:
            self._heap = [item for item in self._heap if not predicate(item[2])]
            heapq.heapify(self._heap)
        return removed

    def eject(self, request_id_hex: str) -> list[QueueEntry]:
        """Remove entries whose lowercase-hex request id equals `request_id_hex` exactly."""
        return self.remove_where(lambda entry: entry.request_id.hex() == request_id_hex)

    def expire(self, now: float, timeout_s: float) -> list[QueueEntry]:
        """Remove entries that have waited ≥ timeout_s at `now`; returns them oldest first."""
        expired = self.remove_where(lambda entry: now - entry.enqueued_at >= timeout_s)
        expired.sort(key=lambda entry: entry.enqueued_at)
        return expired

    def entries(self) -> list[QueueEntry]:
        """The entries in heap-array order (what the admin queue listing shows)."""
        return [item[2] for item in self._heap]
