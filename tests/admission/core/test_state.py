"""Admission state types and the day / minute bucket helpers (admission.md §2)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.admission._fixtures import DAY, NOW
from tracker.admission import SeederHeartbeatState
from tracker.admission.core._state import (
    EMPTY_DAY_BUCKET,
    ZERO_TIME,
    BucketArray,
    ConsumerCreditState,
    DayBucket,
    MinuteBucket,
    day_bucket_index,
    rotate_if_stale,
    strip_to_day,
)


def test_day_bucket_index_matches_the_spec_example() -> None:
    assert day_bucket_index(1777118400) == 18  # 2026-04-25T12:00Z → day 20568 → 18


def test_day_bucket_index_before_1970_uses_truncating_division_then_adds_30() -> None:
    # -1 s: Go's -1 / 86400 = 0 (truncation), 0 mod 30 = 0.
    assert day_bucket_index(-1) == 0
    # -86400 * 31: day -31 → -31 % 30 = -1 in Go → +30 = 29.
    assert day_bucket_index(-86400 * 31) == 29


def test_strip_to_day_is_utc_midnight() -> None:
    assert strip_to_day(1777118400) == 1777075200


def test_rotate_if_stale() -> None:
    today = strip_to_day(NOW)
    assert rotate_if_stale(EMPTY_DAY_BUCKET, NOW) == DayBucket(0, 0, 0, today)
    fresh = DayBucket(5, 4, 0, today - 29 * DAY)
    assert rotate_if_stale(fresh, NOW) is fresh
    assert rotate_if_stale(DayBucket(5, 4, 0, today - 30 * DAY), NOW) == DayBucket(0, 0, 0, today)
    newer = DayBucket(1, 1, 0, today + DAY)  # event older than the bucket: unchanged
    assert rotate_if_stale(newer, NOW) is newer


def test_buckets_round_trip_every_field_including_the_zero_time_sentinel() -> None:
    state = ConsumerCreditState(first_seen_at=ZERO_TIME, last_balance_seen=-5)
    for which in BucketArray:
        for index in range(30):
            bucket = DayBucket(index + 1, 2 * index, 3 * index + int(which), strip_to_day(NOW) - index * DAY)
            state.set_bucket(which, index, bucket)
    for which in BucketArray:
        views = state.buckets(which)
        assert len(views) == 30
        for index, bucket in enumerate(views):
            assert bucket == DayBucket(
                index + 1, 2 * index, 3 * index + int(which), strip_to_day(NOW) - index * DAY
            )
    state.set_bucket(BucketArray.DISPUTE, 3, DayBucket(7, 0, 0, ZERO_TIME))
    assert state.bucket(BucketArray.DISPUTE, 3) == DayBucket(7, 0, 0, ZERO_TIME)
    state.set_bucket(BucketArray.DISPUTE, 3, EMPTY_DAY_BUCKET)
    assert state.bucket(BucketArray.DISPUTE, 3).is_unset


def test_unwritten_buckets_are_empty_and_take_no_records() -> None:
    state = ConsumerCreditState(first_seen_at=NOW)
    assert state.settlement_buckets == (EMPTY_DAY_BUCKET,) * 30
    assert list(state.written_buckets()) == []


def test_add_to_bucket_rotates_and_wraps_uint32() -> None:
    state = ConsumerCreditState(first_seen_at=NOW)
    index = day_bucket_index(NOW)
    stale_stamp = strip_to_day(NOW) - 30 * DAY
    state.set_bucket(BucketArray.FLOW, index, DayBucket(0, 99, 99, stale_stamp))
    state.add_to_bucket(BucketArray.FLOW, NOW, b=0xFFFFFFFF)
    state.add_to_bucket(BucketArray.FLOW, NOW, b=2)
    assert state.bucket(BucketArray.FLOW, index) == DayBucket(0, 0, 1, strip_to_day(NOW))


def test_sums_wrap_modulo_2_32() -> None:
    state = ConsumerCreditState(first_seen_at=NOW)
    state.set_bucket(BucketArray.FLOW, 0, DayBucket(0, 0xFFFFFFFF, 0, NOW))
    state.set_bucket(BucketArray.FLOW, 1, DayBucket(0, 2, 0, NOW))
    assert state.sums().earned == 1


def test_copy_is_deep_and_equality_ignores_record_order() -> None:
    first = ConsumerCreditState(first_seen_at=NOW, last_balance_seen=10)
    first.set_bucket(BucketArray.SETTLEMENT, 1, DayBucket(1, 1, 0, NOW))
    first.set_bucket(BucketArray.FLOW, 2, DayBucket(0, 3, 0, NOW))
    second = ConsumerCreditState(first_seen_at=NOW, last_balance_seen=10)
    second.set_bucket(BucketArray.FLOW, 2, DayBucket(0, 3, 0, NOW))
    second.set_bucket(BucketArray.SETTLEMENT, 1, DayBucket(1, 1, 0, NOW))
    assert first == second
    clone = first.copy()
    clone.add_to_bucket(BucketArray.SETTLEMENT, NOW, total=1)
    assert clone != first


def test_bucket_index_out_of_range_raises() -> None:
    with pytest.raises(IndexError):
        ConsumerCreditState().bucket(BucketArray.SETTLEMENT, 30)


def test_seeder_minute_ring_counts_expected_and_received_heartbeats() -> None:
    state = SeederHeartbeatState()
    start = NOW - NOW % 60
    state.record_heartbeat(start + 5)
    state.record_heartbeat(start + 30)
    assert state.reliability() == 1.0
    assert state.bucket((start // 60) % 10) == MinuteBucket(1, 2)
    # Four silent minutes, then a heartbeat: 2 of 6 expected minutes saw one.
    state.record_heartbeat(start + 5 * 60 + 1)
    assert state.reliability() == pytest.approx(2 / 6)
    assert state.last_bucket_roll_at == start + 5 * 60
    # Ten or more silent minutes: the whole ring is expected and empty.
    state.roll_to(start + 30 * 60)
    assert state.reliability() == 0.0
    assert all(bucket == MinuteBucket(1, 0) for bucket in state.buckets)


def test_seeder_state_fields_round_trip() -> None:
    state = SeederHeartbeatState(NOW, 5000, 1, NOW - 5, True)
    state.set_bucket(9, MinuteBucket(3, 4))
    clone = state.copy()
    assert clone == state
    assert clone.bucket(9) == MinuteBucket(3, 4)
    assert (clone.last_headroom_estimate, clone.last_headroom_source, clone.can_probe_usage) == (
        5000,
        1,
        True,
    )


_BUCKET_VALUES = st.tuples(
    st.sampled_from(list(BucketArray)),
    st.integers(0, 29),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.one_of(st.just(ZERO_TIME), st.integers(-(2**63), 2**63 - 1)),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_BUCKET_VALUES, max_size=120))
def test_sparse_storage_behaves_like_a_dense_array(writes: list[tuple]) -> None:  # type: ignore[type-arg]
    state = ConsumerCreditState()
    dense = {(which, index): EMPTY_DAY_BUCKET for which in BucketArray for index in range(30)}
    for which, index, total, a, b, stamp in writes:
        bucket = DayBucket(total, a, b, stamp)
        state.set_bucket(which, index, bucket)
        dense[(which, index)] = bucket
    for (which, index), bucket in dense.items():
        assert state.bucket(which, index) == bucket
    assert sorted((w, i, b) for w, i, b in state.written_buckets()) == sorted(
        (w, i, b) for (w, i), b in dense.items() if b != EMPTY_DAY_BUCKET
    )
