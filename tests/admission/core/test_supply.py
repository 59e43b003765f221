"""Supply aggregation, demand EWMA rate, heartbeat reliability and threshold crossings (admission.md §4)."""

from __future__ import annotations

import math

import pytest

from tests.admission._fixtures import NOW, make_core, make_id, sample
from tracker.admission import Outcome
from tracker.admission.core._supply import DemandTracker, freshness
from tracker.registry import Capabilities, SeederRecord


def seeder(
    core,
    byte: int,
    headroom: float,
    heartbeat: float = NOW,
    reputation: float = 1.0,  # type: ignore[no-untyped-def]
    models: tuple[str, ...] = ("m1",),
) -> bytes:
    identity = make_id(byte)
    core.registry.register(
        SeederRecord(
            identity_id=identity,
            capabilities=Capabilities(models=list(models)),
            available=True,
            headroom_estimate=headroom,
            reputation_score=reputation,
            last_heartbeat=heartbeat,
        )
    )
    return identity


def test_two_fresh_seeders_contribute_and_a_stale_one_is_silent() -> None:
    core = make_core()
    seeder(core, 1, 0.7)
    seeder(core, 2, 0.5, models=("m1", "m2"))
    snapshot = core.aggregate(NOW)
    assert (snapshot.contributing_seeders, snapshot.silent_seeders) == (2, 0)
    assert snapshot.total_headroom == pytest.approx(1.2)
    assert snapshot.per_model == {"m1": pytest.approx(1.2), "m2": pytest.approx(0.5)}
    seeder(core, 3, 0.9, heartbeat=NOW - 310)
    snapshot = core.aggregate(NOW)
    assert (snapshot.contributing_seeders, snapshot.silent_seeders) == (2, 1)
    assert sample(core, "admission_seeders_contributing") == 2
    assert sample(core, "admission_supply_total_headroom") == pytest.approx(1.2)


def test_no_supply_means_pressure_zero_and_admit() -> None:
    core = make_core()
    core.decide(make_id(9), None, NOW)
    snapshot = core.aggregate(NOW)
    assert snapshot.pressure == 0.0 and not math.isnan(snapshot.pressure)
    assert core.decide(make_id(9), None, NOW).outcome == Outcome.ADMIT


def test_zero_reputation_is_silent_and_freshness_decays_linearly() -> None:
    core = make_core()
    seeder(core, 1, 1.0, reputation=0.0)
    assert core.aggregate(NOW).silent_seeders == 1
    assert freshness(60, 300) == 1.0
    assert freshness(180, 300) == pytest.approx(0.5)
    assert freshness(300, 300) == 0.0
    assert freshness(-5, 300) == 1.0


def test_pressure_rises_with_demand() -> None:
    core = make_core()
    seeder(core, 1, 1.0)
    for _ in range(5):
        core.decide(make_id(9), None, NOW)
    first = core.aggregate(NOW).pressure
    for _ in range(50):
        core.decide(make_id(9), None, NOW)
    assert core.aggregate(NOW).pressure > first > 0


def test_re_registered_seeder_raises_total_headroom() -> None:
    core = make_core()
    seeder(core, 0xAA, 0.1)
    before = core.aggregate(NOW).total_headroom
    seeder(core, 0xAA, 0.9)
    assert core.aggregate(NOW + 4).total_headroom > before


def test_demand_is_an_events_per_second_rate_with_a_5s_half_life() -> None:
    demand = DemandTracker()
    for tick in range(2000):  # a steady 10 events per second for 200 s
        demand.record(NOW + tick / 10)
    assert demand.rate(NOW + 199.9) == pytest.approx(10.0, rel=0.05)
    assert demand.rate(NOW + 204.9) == pytest.approx(5.0, rel=0.05)  # one half-life later
    assert DemandTracker().rate(NOW) == 0.0


def test_demand_gauge_is_published_by_aggregate() -> None:
    core = make_core()
    seeder(core, 1, 1.0)
    for tick in range(100):
        core.decide(make_id(9), None, NOW + tick / 2)
    snapshot = core.aggregate(NOW + 50)
    assert snapshot.demand_rate == pytest.approx(2.0, rel=0.1)
    assert sample(core, "admission_demand_rate_ewma") == pytest.approx(snapshot.demand_rate)
    assert sample(core, "admission_pressure") == pytest.approx(snapshot.pressure)


def test_heartbeat_reliability_weights_supply() -> None:
    core = make_core()
    start = NOW - NOW % 60
    identity = seeder(core, 1, 1.0, heartbeat=start)
    # Heartbeats in 5 of the next 10 minutes (every other minute).
    for minute in range(2, 11, 2):
        core.registry.heartbeat(identity, start + minute * 60)
    snapshot = core.aggregate(start + 10 * 60 + 5)
    assert core.seeders[identity].reliability() == pytest.approx(0.5)
    assert snapshot.total_headroom == pytest.approx(0.5)


def test_seeder_state_is_fed_by_registry_heartbeats_and_advertisements() -> None:
    core = make_core(clock_value=NOW + 1)
    identity = seeder(core, 1, 0.5)
    core.registry.advertise(identity, Capabilities(models=["m"]), True, 0.25)
    state = core.seeder_view(identity)
    assert state is not None
    assert state.last_headroom_estimate == 2500
    assert state.last_headroom_source == 1
    assert state.last_headroom_ts == NOW + 1
    assert state.reliability() == 1.0


def test_threshold_crossings_at_one_are_counted_both_ways() -> None:
    core = make_core()
    identity = seeder(core, 1, 1.0)
    for _ in range(3):
        core.decide(make_id(9), None, NOW)
    assert core.aggregate(NOW).pressure < 1.0
    for _ in range(50):
        core.decide(make_id(9), None, NOW)
    assert core.aggregate(NOW).pressure >= 1.0
    core.registry.heartbeat(identity, NOW + 100)
    assert core.aggregate(NOW + 100).pressure < 1.0
    assert core.pressure_crossings == {"up": 1, "down": 1}
    assert sample(core, "admission_pressure_threshold_crossing_total", {"direction": "up"}) == 1
    assert sample(core, "admission_pressure_threshold_crossing_total", {"direction": "down"}) == 1


def test_nan_or_out_of_range_headroom_from_register_cannot_poison_supply() -> None:
    core = make_core()
    seeder(core, 1, float("nan"))
    seeder(core, 2, -3.0)
    seeder(core, 3, 0.5)
    snapshot = core.aggregate(NOW)
    assert snapshot.total_headroom == pytest.approx(0.5)
    assert snapshot.silent_seeders == 1


def test_clock_jumps_between_aggregator_ticks_are_counted() -> None:
    core = make_core()
    core.aggregate(NOW)
    core.aggregate(NOW + 5)
    core.aggregate(NOW + 3)  # backwards
    core.aggregate(NOW + 500)  # a 497 s gap between 5 s ticks
    assert core.clock_jumps == {"forward": 1, "backward": 1}
    assert sample(core, "admission_clock_jump_detected_total", {"direction": "backward"}) == 1
    assert sample(core, "admission_clock_jump_detected_total", {"direction": "forward"}) == 1
