"""The admin API's JSON shapes of admission views (Go field names, RFC 3339 times)."""

from __future__ import annotations

import pytest

from tests.admission._fixtures import DAY, NOW, make_core, make_id, set_pressure
from tracker.admin._json import admission_status_json, consumer_view_json, queue_item_json, seeder_state_json
from tracker.admission.core._events import LedgerEvent, LedgerEventKind
from tracker.registry import SeederRecord

CONSUMER = make_id(0xC1)
SEEDER = make_id(0x5E)


def test_status_and_consumer_view_json() -> None:
    core = make_core(clock_value=NOW + 10 * DAY)
    set_pressure(core, 0.5)
    assert admission_status_json(core.status()) == {
        "pressure": 0.5,
        "queue_depth": 0,
        "supply_total_headroom": 10.0,
        "thresholds": {"admit": 0.85, "reject": 1.5},
    }
    core.apply_event(LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW, cost_credits=1000))
    view = core.consumer_view(CONSUMER)
    assert view is not None
    assert consumer_view_json(view)["signals"] == {
        "SettlementReliability": -1.0,
        "DisputeRate": -1.0,
        "TenureDays": 10,
        "NetFlow": 0,
        "BalanceCushionLog2": 0,
    }


def test_seeder_view_json_uses_go_field_names() -> None:
    core = make_core()
    core.registry.register(SeederRecord(identity_id=SEEDER, last_heartbeat=NOW, reputation_score=1.0))
    state = core.seeder_view(SEEDER)
    assert state is not None
    body = seeder_state_json(state)
    assert len(body["Buckets"]) == 10
    assert {"Expected": 1, "Actual": 1} in body["Buckets"]
    assert body["LastBucketRollAt"] == "2026-04-25T12:00:00Z"
    assert body["CanProbeUsage"] is False
    state.last_headroom_ts = -62135596800
    assert seeder_state_json(state)["LastHeadroomTs"] == "0001-01-01T00:00:00Z"


def test_queue_item_json() -> None:
    core = make_core(clock_value=NOW + 60)
    set_pressure(core, 1.0)
    core.decide(make_id(1), None, NOW)
    (item,) = core.queue_view()
    assert queue_item_json(item) == {
        "consumer_id": make_id(1).hex(),
        "effective_priority": pytest.approx(0.45),
        "enqueued_at": NOW,
        "score": 0.4,
    }
