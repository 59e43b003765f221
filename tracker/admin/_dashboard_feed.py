"""`DashboardFeed`: what the dashboard routes read beyond the admin context (the pressure history and the
cumulative figures only Prometheus families hold), and `run_dashboard_sampler`, the ticker that fills the
history every aggregator period. The composition root builds the feed from the metric families it created."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge, Histogram

from tracker._ticks import ticks
from tracker.admin._dashboard_history import DashboardSample, DecisionTotals, PressureHistory
from tracker.admission import AdmissionService


def _no_decisions() -> DecisionTotals:
    return DecisionTotals()


def _no_fsyncs() -> tuple[float, float]:
    return 0.0, 0.0


def _no_snapshot() -> float:
    return 0.0


@dataclass(frozen=True)
class DashboardFeed:
    """`decision_totals()`: cumulative Decide outcomes; `fsync_totals()`: (count, seconds) of tlog fsync
    batches; `last_snapshot_at()`: unix time of the last successful snapshot (0 = none since start)."""

    history: PressureHistory = field(default_factory=PressureHistory)
    decision_totals: Callable[[], DecisionTotals] = _no_decisions
    fsync_totals: Callable[[], tuple[float, float]] = _no_fsyncs
    last_snapshot_at: Callable[[], float] = _no_snapshot

    @classmethod
    def from_metrics(
        cls, *, decisions: Counter, fsync_duration: Histogram, snapshot_last_success: Gauge
    ) -> DashboardFeed:
        """A feed reading the admission and persistence metric families (admission_decisions_total by
        result, admission_tlog_fsync_duration_seconds, admission_snapshot_last_success_timestamp_seconds)."""

        def decision_totals() -> DecisionTotals:
            by_result = {
                sample.labels.get("result", ""): sample.value
                for family in decisions.collect()
                for sample in family.samples
                if sample.name.endswith("_total")
            }
            return DecisionTotals(
                admit=by_result.get("admit", 0.0),
                queue=by_result.get("queue", 0.0),
                reject=by_result.get("reject", 0.0),
            )

        def fsync_totals() -> tuple[float, float]:
            values = {
                sample.name.rsplit("_", 1)[-1]: sample.value
                for family in fsync_duration.collect()
                for sample in family.samples
                if sample.name.endswith(("_count", "_sum"))
            }
            return values.get("count", 0.0), values.get("sum", 0.0)

        def last_snapshot_at() -> float:
            for family in snapshot_last_success.collect():
                for sample in family.samples:
                    return float(sample.value)
            return 0.0

        return cls(
            decision_totals=decision_totals, fsync_totals=fsync_totals, last_snapshot_at=last_snapshot_at
        )

    def sample(self, admission: AdmissionService, now: float) -> DashboardSample:
        """The figures of this instant (cheap, synchronous reads)."""
        status = admission.status()
        fsync_count, fsync_seconds = self.fsync_totals()
        return DashboardSample(
            at=now,
            pressure=status.pressure,
            queue_depth=status.queue_depth,
            decisions=self.decision_totals(),
            fsync_count=fsync_count,
            fsync_seconds=fsync_seconds,
        )


async def run_dashboard_sampler(
    feed: DashboardFeed, admission: AdmissionService, clock: Callable[[], float]
) -> None:
    """Record one sample now and one every `history.period_s` (the admission aggregator's period)."""
    feed.history.record(feed.sample(admission, clock()))
    async for _ in ticks(feed.history.period_s):
        feed.history.record(feed.sample(admission, clock()))
