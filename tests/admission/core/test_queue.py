"""The priority queue (admission.md §5.2-5.3): order, aging, pop_ready, drain, eject, timeouts, requeue."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.admission._fixtures import DAY, NOW, make_core, make_id, make_idi, sample, set_pressure
from tracker.admission import Outcome, QueueEntry, RejectReason
from tracker.admission.core._gatekeeper import min_serve_priority_for
from tracker.admission.core._queue import PriorityQueue
from tracker.admission.core._score import compute_local_score
from tracker.admission.core._state import (
    BucketArray,
    ConsumerCreditState,
    DayBucket,
    day_bucket_index,
    strip_to_day,
)


def entry(score: float, at: float, tag: int = 0) -> QueueEntry:
    return QueueEntry(bytes([tag]) * 16, make_id(tag), score, at)


def test_heap_pops_highest_score_first_at_equal_enqueue_times() -> None:
    queue = PriorityQueue(10, 0.05)
    for tag, score in ((1, 0.3), (2, 0.7), (3, 0.5)):
        queue.push(entry(score, NOW, tag))
    assert [queue.pop().credit_score for _ in range(3)] == [0.7, 0.5, 0.3]  # type: ignore[union-attr]
    assert queue.pop() is None


def test_aging_a_waiting_03_beats_a_fresh_05() -> None:
    queue = PriorityQueue(10, 0.05)
    old = entry(0.3, NOW, 1)
    fresh = entry(0.5, NOW + 600, 2)
    queue.push(fresh)
    queue.push(old)
    assert old.effective_priority(NOW + 600, 0.05) == pytest.approx(0.8)
    assert queue.pop_ready(NOW + 600, 0.0) is old


def state_with(reliability_clean: int, tenure_days: int, balance: int, now: float) -> ConsumerCreditState:
    state = ConsumerCreditState(first_seen_at=int(now) - tenure_days * DAY, last_balance_seen=balance)
    index = day_bucket_index(int(now))
    state.set_bucket(
        BucketArray.SETTLEMENT, index, DayBucket(10, reliability_clean, 0, strip_to_day(int(now)))
    )
    return state


def test_s10_6_aging_through_decide() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    consumer_a, consumer_b = make_id(0xA1), make_id(0xB2)
    core.consumers[consumer_a] = state_with(3, 3, 100, NOW)
    core.consumers[consumer_b] = state_with(5, 10, 1000, NOW)
    score_a = compute_local_score(core.consumers[consumer_a], core.config, NOW)[0]
    score_b = compute_local_score(core.consumers[consumer_b], core.config, NOW + 540)[0]
    assert score_a < score_b
    core.decide(consumer_a, None, NOW)
    core.decide(consumer_b, None, NOW + 540)
    head = core.pop_ready(NOW + 600, 0.0)
    assert head is not None and head.consumer_id == consumer_a


def test_pop_ready_respects_the_minimum_priority() -> None:
    core = make_core()
    set_pressure(core, 1.2)
    core.decide(make_id(1), None, NOW)  # trial tier 0.4
    assert min_serve_priority_for(1.2) == pytest.approx(0.1)
    assert min_serve_priority_for(0.9) == 0.0
    assert core.pop_ready(NOW, 0.5) is None
    assert len(core.queue) == 1
    # After 2 minutes its effective priority is 0.5.
    popped = core.pop_ready(NOW + 120, 0.5)
    assert popped is not None and popped.consumer_id == make_id(1)
    assert core.pop_ready(NOW + 120, 0.0) is None
    assert sample(core, "admission_queue_depth") == 0
    assert sample(core, "admission_queue_depth_live") == 0


def test_pop_ready_defaults_to_the_broker_floor_for_the_current_pressure() -> None:
    core = make_core()
    set_pressure(core, 1.4)  # floor 0.2
    core.decide(make_id(1), None, NOW)
    assert core.pop_ready(NOW) is not None


def test_drain_pops_from_the_top_and_eject_removes_by_request_id() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    results = [core.decide(make_idi(i), None, NOW + i) for i in range(5)]
    assert sample(core, "admission_queue_depth_live") == 5
    target = results[2].queued.request_id.hex()  # type: ignore[union-attr]
    assert core.eject(target) == 1
    assert core.eject(target) == 0
    assert core.eject(target.upper()) == 0  # exact lowercase match only
    drained = core.drain(2)
    assert [e.consumer_id for e in drained] == [make_idi(0), make_idi(1)]  # same score: earliest first
    assert core.drain(-3) == []
    assert len(core.queue) == 2
    assert len(core.drain(10)) == 2


def test_timeout_sweep_rejects_with_queue_timeout_and_counts() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    for i in range(3):
        core.decide(make_idi(i), None, NOW + 100 * i)
    assert core.sweep_queue_timeouts(NOW + 299) == []
    timed_out = core.sweep_queue_timeouts(NOW + 400)
    assert [t.entry.consumer_id for t in timed_out] == [make_idi(0), make_idi(1)]
    for item in timed_out:
        assert item.result.outcome == Outcome.REJECT
        assert item.result.rejected is not None
        assert item.result.rejected.reason == RejectReason.QUEUE_TIMEOUT
        assert item.result.rejected.retry_after_s == 300
    assert len(core.queue) == 1
    assert core.queue_timeouts_total == 2
    assert sample(core, "admission_rejections_total", {"reason": "queue_timeout"}) == 2
    assert sample(core, "admission_queue_depth") == 1


def test_requeue_preserves_age_and_priority() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    core.decide(make_id(1), None, NOW)
    popped = core.pop_ready(NOW + 60, 0.0)
    assert popped is not None
    core.decide(make_id(2), None, NOW + 100)
    assert core.requeue(popped)
    head = core.pop_ready(NOW + 120, 0.0)
    assert head is popped and head.enqueued_at == NOW
    # Age is kept for the timeout sweep too.
    assert core.requeue(head)
    assert [t.entry.consumer_id for t in core.sweep_queue_timeouts(NOW + 300)] == [make_id(1)]


def test_requeue_into_a_full_queue_is_refused() -> None:
    core = make_core()
    set_pressure(core, 1.0)
    for i in range(512):
        core.decide(make_idi(i), None, NOW)
    assert not core.requeue(entry(0.9, NOW, 1))
    assert len(core.queue) == 512


def test_queue_view_lists_heap_order_with_effective_priority() -> None:
    core = make_core(clock_value=NOW + 60)
    set_pressure(core, 1.0)
    core.decide(make_id(1), None, NOW)
    (item,) = core.queue_view()
    assert item.consumer_id == make_id(1)
    assert item.effective_priority == pytest.approx(0.45)
    assert (item.enqueued_at, item.score) == (NOW, 0.4)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 1), st.integers(0, 3600)),
        min_size=1,
        max_size=40,
    ),
    st.integers(3600, 7200),
)
def test_pops_come_out_by_effective_priority(items: list[tuple[float, int]], pop_at: int) -> None:
    queue = PriorityQueue(100, 0.05)
    for tag, (score, offset) in enumerate(items):
        queue.push(QueueEntry(tag.to_bytes(16, "big"), make_id(tag % 256), score, NOW + offset))
    popped = [queue.pop_ready(NOW + pop_at, -1.0) for _ in items]
    priorities = [entry.effective_priority(NOW + pop_at, 0.05) for entry in popped]  # type: ignore[union-attr]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(priorities))
