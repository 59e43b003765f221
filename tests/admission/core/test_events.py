"""Ledger events → admission state (admission.md §6) and the ledger-entry conversion."""

from __future__ import annotations

import pytest

from tests.admission._fixtures import DAY, NOW, make_core, make_id
from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.admission.core._events import LedgerEvent, LedgerEventKind, event_from_committed_entry
from tracker.admission.core._state import ZERO_TIME, BucketArray, DayBucket, day_bucket_index, strip_to_day
from tracker.ledger import CommittedEntry

CONSUMER = make_id(0xC1)
SEEDER = make_id(0x5E)
INDEX = day_bucket_index(NOW)
TODAY = strip_to_day(NOW)


def settlement(cost: int = 100, flags: int = 0, ts: int = NOW, seeder: bytes = SEEDER) -> LedgerEvent:
    return LedgerEvent(
        LedgerEventKind.SETTLEMENT, CONSUMER, ts, seeder_id=seeder, cost_credits=cost, flags=flags
    )


def test_settlement_updates_consumer_and_seeder() -> None:
    core = make_core()
    core.apply_event(settlement(cost=100))
    core.apply_event(settlement(cost=50, flags=1))
    consumer = core.consumers[CONSUMER]
    assert consumer.first_seen_at == NOW
    assert consumer.bucket(BucketArray.SETTLEMENT, INDEX) == DayBucket(2, 1, 0, TODAY)
    assert consumer.bucket(BucketArray.FLOW, INDEX) == DayBucket(0, 0, 150, TODAY)
    assert consumer.last_balance_seen == -150
    seeder = core.consumers[SEEDER]
    assert seeder.bucket(BucketArray.FLOW, INDEX) == DayBucket(0, 150, 0, TODAY)
    assert seeder.last_balance_seen == 150
    assert seeder.bucket(BucketArray.SETTLEMENT, INDEX).is_unset


def test_settlement_without_seeder_touches_only_the_consumer() -> None:
    core = make_core()
    core.apply_event(settlement(seeder=bytes(32)))
    assert set(core.consumers) == {CONSUMER}


def test_settlement_cost_wraps_into_the_uint32_flow_bucket() -> None:
    core = make_core()
    core.apply_event(settlement(cost=(1 << 32) + 7))
    assert core.consumers[CONSUMER].bucket(BucketArray.FLOW, INDEX).b == 7


def test_transfers_move_the_balance_without_buckets() -> None:
    core = make_core()
    core.apply_event(LedgerEvent(LedgerEventKind.TRANSFER_IN, CONSUMER, NOW, cost_credits=500))
    core.apply_event(LedgerEvent(LedgerEventKind.TRANSFER_OUT, CONSUMER, NOW + 1, cost_credits=200))
    state = core.consumers[CONSUMER]
    assert state.last_balance_seen == 300
    assert list(state.written_buckets()) == []


def test_starter_grant_overwrites_the_balance_and_keeps_the_earliest_first_seen() -> None:
    core = make_core()
    core.apply_event(LedgerEvent(LedgerEventKind.TRANSFER_IN, CONSUMER, NOW, cost_credits=500))
    core.apply_event(LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW - DAY, cost_credits=1000))
    state = core.consumers[CONSUMER]
    assert state.last_balance_seen == 1000
    assert state.first_seen_at == NOW - DAY
    core.apply_event(LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW + DAY, cost_credits=10))
    assert state.first_seen_at == NOW - DAY
    assert state.last_balance_seen == 10


def test_disputes_filed_and_upheld() -> None:
    core = make_core()
    core.apply_event(LedgerEvent(LedgerEventKind.DISPUTE_FILED, CONSUMER, NOW))
    core.apply_event(LedgerEvent(LedgerEventKind.DISPUTE_RESOLVED, CONSUMER, NOW, dispute_upheld=False))
    core.apply_event(LedgerEvent(LedgerEventKind.DISPUTE_RESOLVED, CONSUMER, NOW, dispute_upheld=True))
    assert core.consumers[CONSUMER].bucket(BucketArray.DISPUTE, INDEX) == DayBucket(0, 1, 1, TODAY)


def test_non_upheld_resolution_and_unspecified_create_no_state() -> None:
    core = make_core()
    core.apply_event(LedgerEvent(LedgerEventKind.DISPUTE_RESOLVED, CONSUMER, NOW, dispute_upheld=False))
    core.apply_event(LedgerEvent(LedgerEventKind.UNSPECIFIED, CONSUMER, NOW))
    assert core.consumers == {}


def test_stale_bucket_is_rotated_by_a_new_event_30_days_later() -> None:
    core = make_core()
    core.apply_event(settlement(ts=NOW - 30 * DAY))
    core.apply_event(settlement(ts=NOW))
    assert core.consumers[CONSUMER].bucket(BucketArray.SETTLEMENT, INDEX) == DayBucket(1, 1, 0, TODAY)


def test_apply_is_a_pure_function_of_the_events() -> None:
    events = [
        LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW - 3 * DAY, cost_credits=1000),
        settlement(cost=30, ts=NOW - 2 * DAY),
        LedgerEvent(LedgerEventKind.DISPUTE_FILED, CONSUMER, NOW - DAY),
        settlement(cost=20, flags=1, ts=NOW),
    ]
    first, second = make_core(), make_core()
    for event in events:
        first.apply_event(event)
        second.apply_event(event)
    assert first.consumers == second.consumers
    assert first.consumers[CONSUMER].first_seen_at == NOW - 3 * DAY


def committed(kind: int, recipient: bytes | None = None, **fields: object) -> CommittedEntry:
    body = EntryBody(
        prev_hash=bytes(32), seq=1, kind=kind, timestamp=NOW, request_id=bytes(16), ref=bytes(32), **fields
    )  # type: ignore[arg-type]
    return CommittedEntry(1, bytes(32), Entry(body=body, tracker_sig=bytes(64)), recipient)


def test_usage_entry_becomes_a_settlement() -> None:
    event = event_from_committed_entry(
        committed(1, consumer_id=CONSUMER, seeder_id=SEEDER, cost_credits=42, flags=1, model="m")
    )
    assert event == LedgerEvent(
        LedgerEventKind.SETTLEMENT, CONSUMER, NOW, seeder_id=SEEDER, cost_credits=42, flags=1
    )


def test_transfer_out_and_starter_grant_entries() -> None:
    out = event_from_committed_entry(committed(2, consumer_id=CONSUMER, seeder_id=bytes(32), cost_credits=9))
    assert out == LedgerEvent(LedgerEventKind.TRANSFER_OUT, CONSUMER, NOW, cost_credits=9)
    grant = event_from_committed_entry(
        committed(4, consumer_id=CONSUMER, seeder_id=bytes(32), cost_credits=1000)
    )
    assert grant == LedgerEvent(LedgerEventKind.STARTER_GRANT, CONSUMER, NOW, cost_credits=1000)


def test_transfer_in_uses_the_recorded_recipient() -> None:
    entry = committed(3, recipient=CONSUMER, consumer_id=bytes(32), seeder_id=bytes(32), cost_credits=5)
    assert event_from_committed_entry(entry) == LedgerEvent(
        LedgerEventKind.TRANSFER_IN, CONSUMER, NOW, cost_credits=5
    )
    unknown = committed(3, consumer_id=bytes(32), seeder_id=bytes(32), cost_credits=5)
    assert event_from_committed_entry(unknown) is None


@pytest.mark.parametrize("kind", [0, 9])
def test_unknown_entry_kinds_give_no_event(kind: int) -> None:
    assert event_from_committed_entry(committed(kind, consumer_id=CONSUMER)) is None


def test_zero_time_constant_is_the_go_zero_time() -> None:
    assert ZERO_TIME == -62135596800
