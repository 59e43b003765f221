"""The dashboard's history ring and the feed that reads the metric families (pure; no app, no browser)."""

from __future__ import annotations

import pytest
import trio
from prometheus_client import CollectorRegistry

from tests.admin.conftest import FIXED_NOW
from tracker.admin._dashboard_feed import DashboardFeed, run_dashboard_sampler
from tracker.admin._dashboard_history import DashboardSample, DecisionTotals, PressureHistory
from tracker.admission import AdmissionMetrics, PersistenceMetrics


def sample(
    at: float, pressure: float = 0.5, admit: float = 0, queue: float = 0, reject: float = 0, **kw: float
):
    return DashboardSample(at, pressure, 0, DecisionTotals(admit, queue, reject), **kw)


def test_the_ring_is_bounded_by_window_over_period() -> None:
    history = PressureHistory(window_s=60, period_s=5)
    for index in range(100):
        history.record(sample(FIXED_NOW + 5 * index, pressure=index))
    assert len(history) == 13
    assert [s.pressure for s in history.samples(FIXED_NOW + 5 * 99)] == list(range(87, 100))


def test_samples_older_than_the_window_are_not_returned() -> None:
    history = PressureHistory(window_s=900, period_s=5)
    history.record(sample(FIXED_NOW))
    history.record(sample(FIXED_NOW + 600))
    assert len(history.samples(FIXED_NOW + 899)) == 2
    assert [s.at for s in history.samples(FIXED_NOW + 901)] == [FIXED_NOW + 600]
    assert history.samples(FIXED_NOW + 2000) == []


def test_decision_rates_from_the_last_two_samples() -> None:
    history = PressureHistory()
    assert history.decision_rates() is None
    history.record(sample(FIXED_NOW, admit=10, queue=2, reject=0))
    assert history.decision_rates() is None
    history.record(sample(FIXED_NOW + 5, admit=35, queue=2, reject=5))
    assert history.decision_rates() == {"admit": 5.0, "queue": 0.0, "reject": 1.0}
    # A counter that restarted counts from zero rather than going negative.
    history.record(sample(FIXED_NOW + 10, admit=3, queue=2, reject=5))
    assert history.decision_rates() == {"admit": 0.6, "queue": 0.0, "reject": 0.0}


def test_a_clock_stepping_back_restarts_the_ring() -> None:
    history = PressureHistory()
    history.record(sample(FIXED_NOW, admit=1))
    history.record(sample(FIXED_NOW + 5, admit=2))
    history.record(sample(FIXED_NOW - 100, admit=3))
    assert len(history) == 1
    assert history.decision_rates() is None


def test_recent_fsync_mean_over_the_window() -> None:
    history = PressureHistory(window_s=60, period_s=5)
    history.record(sample(FIXED_NOW, fsync_count=10, fsync_seconds=1.0))
    assert history.recent_fsync_mean_s(FIXED_NOW) is None
    history.record(sample(FIXED_NOW + 5, fsync_count=10, fsync_seconds=1.0))
    assert history.recent_fsync_mean_s(FIXED_NOW + 5) is None  # no fsync in the window
    history.record(sample(FIXED_NOW + 10, fsync_count=14, fsync_seconds=1.02))
    assert history.recent_fsync_mean_s(FIXED_NOW + 10) == pytest.approx(0.005)


def test_bad_window_is_refused() -> None:
    with pytest.raises(ValueError):
        PressureHistory(window_s=0)


def test_feed_reads_the_metric_families() -> None:
    registry = CollectorRegistry()
    admission_metrics = AdmissionMetrics(registry)
    persistence = PersistenceMetrics(registry)
    feed = DashboardFeed.from_metrics(
        decisions=admission_metrics.decisions,
        fsync_duration=persistence.tlog_fsync_duration,
        snapshot_last_success=persistence.snapshot_last_success,
    )
    assert feed.decision_totals() == DecisionTotals()
    assert feed.fsync_totals() == (0.0, 0.0)
    assert feed.last_snapshot_at() == 0.0
    admission_metrics.decisions_admit.inc(3)
    admission_metrics.decisions_reject.inc()
    persistence.tlog_fsync_duration.observe(0.002)
    persistence.tlog_fsync_duration.observe(0.004)
    persistence.snapshot_last_success.set(FIXED_NOW)
    assert feed.decision_totals() == DecisionTotals(admit=3, queue=0, reject=1)
    count, seconds = feed.fsync_totals()
    assert count == 2 and seconds == pytest.approx(0.006)
    assert feed.last_snapshot_at() == FIXED_NOW


class _Status:
    pressure = 0.7
    queue_depth = 3


class _Admission:
    def status(self) -> _Status:
        return _Status()


async def test_sampler_records_at_once_then_every_period(autojump_clock: trio.testing.MockClock) -> None:
    feed = DashboardFeed(history=PressureHistory(window_s=60, period_s=5))
    with trio.move_on_after(12.5):
        await run_dashboard_sampler(feed, _Admission(), trio.current_time)  # type: ignore[arg-type]
    samples = feed.history.samples(trio.current_time())
    assert [round(s.at - samples[0].at) for s in samples] == [0, 5, 10]
    assert {(s.pressure, s.queue_depth) for s in samples} == {(0.7, 3)}
