"""The bulk replay engine gives exactly the state of applying each event with `apply_ledger_event` (§6)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.admission._events import LedgerEvent, LedgerEventKind, apply_ledger_event
from tracker.admission._replay_fast import ReplayAccumulator
from tracker.admission._state import ZERO_TIME, BucketArray, ConsumerCreditState, DayBucket

from ._helpers import NOW

_IDS = [bytes([byte]) * 32 for byte in (1, 2, 3)] + [bytes(32)]
_events = st.builds(
    LedgerEvent,
    kind=st.sampled_from(list(LedgerEventKind)),
    consumer_id=st.sampled_from(_IDS),
    timestamp=st.integers(-5, 70).map(lambda days: NOW - days * 86400 + days * 977),
    seeder_id=st.sampled_from(_IDS),
    cost_credits=st.one_of(st.integers(0, 100), st.just(2**64 - 1), st.just(2**33 + 5)),
    flags=st.integers(0, 3),
    dispute_upheld=st.booleans(),
)


def _initial_state() -> dict[bytes, ConsumerCreditState]:
    state = ConsumerCreditState(first_seen_at=NOW - 90 * 86400, last_balance_seen=2**63 - 3)
    state.set_bucket(BucketArray.SETTLEMENT, 5, DayBucket(2**32 - 1, 7, 0, NOW - 45 * 86400))
    state.set_bucket(BucketArray.FLOW, 18, DayBucket(0, 2**32 - 2, 1, NOW - 86400 * 30))
    state.set_bucket(BucketArray.DISPUTE, 0, DayBucket(1, 1, 1, ZERO_TIME))
    return {_IDS[0]: state}


@settings(max_examples=400, deadline=None)
@given(events=st.lists(_events, max_size=40))
def test_bulk_replay_equals_one_by_one(events: list[LedgerEvent]) -> None:
    expected = _initial_state()
    for event in events:
        apply_ledger_event(expected, event)
    bulk = _initial_state()
    accumulator = ReplayAccumulator(bulk)
    for event in events:
        if event.kind == LedgerEventKind.SETTLEMENT:
            accumulator.settlement(
                event.consumer_id, event.seeder_id, event.cost_credits, event.flags, event.timestamp
            )
        else:
            accumulator.apply(event)
    accumulator.finish()
    assert bulk == expected
