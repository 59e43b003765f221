"""AdmissionCore construction, metrics catalogue, admin read views and recompute."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from tests.admission._fixtures import (
    DAY,
    NOW,
    TRACKER_IDENTITY,
    make_config,
    make_core,
    make_id,
    sample,
    set_pressure,
)
from tracker.admission import AdmissionConfigError, AdmissionMetrics, PersistenceMetrics
from tracker.admission.core._events import LedgerEvent, LedgerEventKind
from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.admission.core._score import Signals
from tracker.admission.core._state import BucketArray, MinuteBucket, day_bucket_index
from tracker.admission.core._views import AdmissionStatus
from tracker.registry import Registry, SeederRecord

CONSUMER = make_id(0xC1)
SEEDER = make_id(0x5E)

CATALOGUE = [
    "admission_decisions_total",
    "admission_queue_depth",
    "admission_pressure",
    "admission_supply_total_headroom",
    "admission_seeders_contributing",
    "admission_demand_rate_ewma",
    "admission_decision_duration_seconds",
    "admission_attestations_issued_total",
    "admission_attestation_validation_failures_total",
    "admission_attestation_age_seconds",
    "admission_trial_tier_decisions_total",
    "admission_tlog_replay_gap_entries",
    "admission_tlog_corruption_records_total",
    "admission_snapshot_load_failures_total",
    "admission_snapshot_emit_failures_total",
    "admission_clock_jump_detected_total",
    "admission_fetchheadroom_timeouts_total",
    "admission_rejections_total",
    "admission_pressure_threshold_crossing_total",
    "admission_degraded_mode_active",
    "admission_queue_depth_live",
]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"rolling_window_days": 0}, "RollingWindowDays must be positive"),
        (
            {"pressure_admit_threshold": 1.5},
            "PressureAdmitThreshold 1.500 must be < PressureRejectThreshold 1.500",
        ),
        ({"queue_cap": 0}, "QueueCap must be positive"),
        ({"attestation_peer_blocklist": ["zz"]}, r"attestation_peer_blocklist\[0\]"),
    ],
)
def test_unusable_config_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(AdmissionConfigError, match=message):
        AdmissionCore(make_config(**overrides), Registry(), TRACKER_IDENTITY)


def test_every_catalogue_metric_is_exposed_with_its_help_text() -> None:
    registry = CollectorRegistry()
    AdmissionCore(make_config(), Registry(), TRACKER_IDENTITY, metrics=AdmissionMetrics(registry))
    PersistenceMetrics(registry)  # the catalogue's tlog and snapshot families
    exposition = generate_latest(registry).decode()
    for name in CATALOGUE:
        assert f"# TYPE {name.removesuffix('_total')}" in exposition, name
    assert "# HELP admission_decisions_total Decide outcomes by result label." in exposition  # Go's text
    # Go's text says "without a usable snapshot"; here tlog damage found at start-up degrades admission too.
    assert (
        "# HELP admission_degraded_mode_active 1 when admission is running degraded (no usable snapshot, "
        "or tlog damage found at start-up). 0 otherwise." in exposition
    )


def test_decision_metrics_count_each_result_and_time_every_decide() -> None:
    core = make_core()
    set_pressure(core, 0.5)
    for _ in range(3):
        core.decide(CONSUMER, None, NOW)
    set_pressure(core, 1.0)
    for _ in range(4):
        core.decide(CONSUMER, None, NOW)
    set_pressure(core, 2.0)
    for _ in range(2):
        core.decide(CONSUMER, None, NOW)
    assert sample(core, "admission_decisions_total", {"result": "admit"}) == 3
    assert sample(core, "admission_decisions_total", {"result": "queue"}) == 4
    assert sample(core, "admission_decisions_total", {"result": "reject"}) == 2
    assert sample(core, "admission_queue_depth") == 4
    assert sample(core, "admission_rejections_total", {"reason": "region_overloaded"}) == 2
    assert sample(core, "admission_decision_duration_seconds_count") == 9


def test_degraded_gauge_reads_the_core_flag_at_scrape_time() -> None:
    core = make_core()
    assert sample(core, "admission_degraded_mode_active") == 0
    core.degraded_mode = True
    assert sample(core, "admission_degraded_mode_active") == 1


def test_status_and_consumer_views() -> None:
    core = make_core(clock_value=NOW + 10 * DAY)
    set_pressure(core, 0.5)
    assert core.status() == AdmissionStatus(
        pressure=0.5, queue_depth=0, supply_total_headroom=10.0, admit_threshold=0.85, reject_threshold=1.5
    )
    assert core.consumer_view(CONSUMER) is None
    core.apply_event(LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW, cost_credits=1000))
    view = core.consumer_view(CONSUMER)
    assert view is not None
    assert view.score == pytest.approx(0.44444, abs=1e-5)
    assert view.signals == Signals(
        settlement_reliability=-1.0, dispute_rate=-1.0, tenure_days=10, net_flow=0, balance_cushion_log2=0
    )


def test_seeder_view_is_a_copy_of_the_heartbeat_state() -> None:
    core = make_core()
    assert core.seeder_view(SEEDER) is None
    core.registry.register(SeederRecord(identity_id=SEEDER, last_heartbeat=NOW, reputation_score=1.0))
    state = core.seeder_view(SEEDER)
    assert state is not None
    assert len(state.buckets) == 10
    assert state.last_bucket_roll_at == NOW - NOW % 60
    assert state.can_probe_usage is False
    assert state.bucket((NOW // 60) % 10) == MinuteBucket(1, 1)
    state.set_bucket(0, MinuteBucket(7, 7))
    assert core.seeder_view(SEEDER) != state


def test_recompute_rebuilds_ledger_fields_and_keeps_disputes() -> None:
    core = make_core()
    history = [
        LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW - 5 * DAY, cost_credits=1000),
        LedgerEvent(LedgerEventKind.STARTER_GRANT, SEEDER, NOW - 5 * DAY, cost_credits=1000),
        LedgerEvent(LedgerEventKind.SETTLEMENT, CONSUMER, NOW - DAY, seeder_id=SEEDER, cost_credits=10),
        LedgerEvent(LedgerEventKind.SETTLEMENT, SEEDER, NOW, seeder_id=CONSUMER, cost_credits=4),
    ]
    for event in history:
        core.apply_event(event)
    core.apply_event(LedgerEvent(LedgerEventKind.DISPUTE_FILED, CONSUMER, NOW))
    expected = core.consumers[CONSUMER].copy()
    # Damage the in-memory state, then recompute it from the ledger history.
    core.consumers[CONSUMER].last_balance_seen = 123456
    core.consumers[CONSUMER].add_to_bucket(BucketArray.SETTLEMENT, NOW, total=50)
    rebuilt = core.recompute_consumer(CONSUMER, history)
    assert rebuilt == expected
    assert core.consumers[CONSUMER].bucket(BucketArray.DISPUTE, day_bucket_index(NOW)).a == 1
    assert core.recompute_consumer(make_id(0x77), history) is None
