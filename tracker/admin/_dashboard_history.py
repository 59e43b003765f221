"""The dashboard's in-memory history: a bounded ring of samples (pressure, queue depth, cumulative decision
counts, cumulative tlog fsync time) taken every aggregator period, and the figures derived from it (the
pressure sparkline, decisions per second, recent fsync latency). Pure and synchronous; the ticker that fills
it lives in `_dashboard_feed.py`."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

HISTORY_WINDOW_S = 15 * 60.0
SAMPLE_PERIOD_S = 5.0
OUTCOMES = ("admit", "queue", "reject")


@dataclass(frozen=True, slots=True)
class DecisionTotals:
    """Cumulative Decide outcomes since start."""

    admit: float = 0.0
    queue: float = 0.0
    reject: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"admit": self.admit, "queue": self.queue, "reject": self.reject}


@dataclass(frozen=True, slots=True)
class DashboardSample:
    """One tick's figures. `fsync_count` / `fsync_seconds` are cumulative (tlog write+fsync batches)."""

    at: float
    pressure: float
    queue_depth: int
    decisions: DecisionTotals
    fsync_count: float = 0.0
    fsync_seconds: float = 0.0


class PressureHistory:
    """The last `window_s` of samples taken every `period_s` (oldest dropped first; memory is bounded by
    window / period + 1 samples whatever the caller does)."""

    def __init__(self, window_s: float = HISTORY_WINDOW_S, period_s: float = SAMPLE_PERIOD_S) -> None:
        if window_s <= 0 or period_s <= 0:
            raise ValueError("window and period must be positive")
        self.window_s = window_s
        self.period_s = period_s
        self._samples: deque[DashboardSample] = deque(maxlen=int(window_s // period_s) + 1)

    def __len__(self) -> int:
        return len(self._samples)

    def record(self, sample: DashboardSample) -> None:
        """Append a sample. A sample older than the newest one (a clock stepping back) restarts the ring, so
        rates are never computed across a backward jump."""
        if self._samples and sample.at < self._samples[-1].at:
            self._samples.clear()
        self._samples.append(sample)

    def samples(self, now: float) -> list[DashboardSample]:
        """Samples no older than the window at `now`, oldest first."""
        cutoff = now - self.window_s
        return [sample for sample in self._samples if sample.at >= cutoff]

    def latest(self) -> DashboardSample | None:
        return self._samples[-1] if self._samples else None

    def decision_rates(self) -> dict[str, float] | None:
        """Decisions per second by outcome between the last two samples, or None with fewer than two."""
        if len(self._samples) < 2:
            return None
        before, after = self._samples[-2], self._samples[-1]
        elapsed = after.at - before.at
        if elapsed <= 0:
            return None
        earlier, later = before.decisions.as_dict(), after.decisions.as_dict()
        # A counter that went down (a restart of the source) counts from zero.
        return {
            outcome: (
                later[outcome] - earlier[outcome] if later[outcome] >= earlier[outcome] else later[outcome]
            )
            / elapsed
            for outcome in OUTCOMES
        }

    def recent_fsync_mean_s(self, now: float) -> float | None:
        """Mean tlog write+fsync latency over the window at `now`, or None when no fsync happened in it."""
        window = self.samples(now)
        if len(window) < 2:
            return None
        first, last = window[0], window[-1]
        count = last.fsync_count - first.fsync_count
        if count <= 0:
            return None
        return (last.fsync_seconds - first.fsync_seconds) / count
