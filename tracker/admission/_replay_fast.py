"""Fast bulk replay: applies replayed tlog records to dense per-consumer arrays with exactly the §6 apply rules
(`apply_ledger_event`), then writes the touched consumers back into the state map once.

Start-up replays up to millions of records; applying each through `ConsumerCreditState.add_to_bucket` (a sparse,
packed store) costs tens of microseconds for a busy consumer. Here every touched consumer gets a flat list of
its 90 buckets while replay runs. The results are identical to applying every event one by one (the
exactly-once and fuzz tests compare the two).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

from tracker.admission._events import ZERO_ID, LedgerEvent, LedgerEventKind
from tracker.admission._state import (
    DAY_BUCKET_COUNT,
    SECONDS_PER_DAY,
    ZERO_TIME,
    BucketArray,
    ConsumerCreditState,
    DayBucket,
    day_bucket_index,
)

__all__ = ["ReplayAccumulator", "build_consumer_state"]

_U32 = 0xFFFFFFFF
_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1
_STALE_AFTER_S = DAY_BUCKET_COUNT * SECONDS_PER_DAY
_SETTLEMENT_BASE = 0
_DISPUTE_BASE = 4 * DAY_BUCKET_COUNT
_FLOW_BASE = 8 * DAY_BUCKET_COUNT
_EMPTY_DENSE = [0, 0, 0, ZERO_TIME] * (3 * DAY_BUCKET_COUNT)


def _wrap_int64(value: int) -> int:
    value %= _U64
    return value - _U64 if value > _I64_MAX else value


def _packed_layout_matches() -> bool:
    """True when ConsumerCreditState stores buckets as the packed uint32 array this module can build directly
    ([code, total, a, b, stamp_low, stamp_high] per bucket, code = array * 30 + index). Checked against the
    public API, so a change of the private layout only costs speed, never correctness."""
    try:
        reference = ConsumerCreditState(5, -7)
        reference.set_bucket(BucketArray.FLOW, 29, DayBucket(1, 2, 3, ZERO_TIME))
        reference.set_bucket(BucketArray.SETTLEMENT, 3, DayBucket(4, 5, 6, 1777075200))
        built = ConsumerCreditState(5, -7)
        built._records = array(  # type: ignore[attr-defined]
            "I",
            [89, 1, 2, 3, *_split(ZERO_TIME), 3, 4, 5, 6, *_split(1777075200)],
        )
        return built == reference and list(built.written_buckets()) == list(reference.written_buckets())
    except Exception:
        return False


def _split(stamp: int) -> tuple[int, int]:
    unsigned = stamp & 0xFFFFFFFFFFFFFFFF
    return unsigned & _U32, unsigned >> 32


_FAST_BUILD = _packed_layout_matches()


def build_consumer_state(
    first_seen_at: int, last_balance_seen: int, buckets: Iterable[tuple[int, int, int, int, int]]
) -> ConsumerCreditState:
    """A ConsumerCreditState from (code = array * 30 + index, total, a, b, day_stamp) tuples, skipping unset
    buckets (all zero with the zero time)."""
    state = ConsumerCreditState(first_seen_at, last_balance_seen)
    if _FAST_BUILD:
        words: list[int] = []
        for code, total, a, b, stamp in buckets:
            if stamp == ZERO_TIME and not (total or a or b):
                continue
            unsigned = stamp & 0xFFFFFFFFFFFFFFFF
            words.extend((code, total & _U32, a & _U32, b & _U32, unsigned & _U32, unsigned >> 32))
        state._records = array("I", words)  # type: ignore[attr-defined]
        return state
    for code, total, a, b, stamp in buckets:
        if stamp == ZERO_TIME and not (total or a or b):
            continue
        which, index = divmod(code, DAY_BUCKET_COUNT)
        state.set_bucket(BucketArray(which), index, DayBucket(total, a, b, stamp))
    return state


class ReplayAccumulator:
    """Dense replay state for the consumers touched by replay. Call `finish()` once at the end to store them
    back into `consumers`; nothing else may read or write those entries in between."""

    __slots__ = ("_consumers", "_day_cache", "_dense")

    def __init__(self, consumers: dict[bytes, ConsumerCreditState]) -> None:
        self._consumers = consumers
        # identity -> [first_seen_at, last_balance_seen, dense buckets (360 ints)]
        self._dense: dict[bytes, list] = {}
        self._day_cache: dict[int, tuple[int, int]] = {}

    def _entry(self, identity: bytes, ts: int) -> list:
        entry = self._dense.get(identity)
        if entry is not None:
            return entry
        state = self._consumers.get(identity)
        if state is None:
            entry = [ts, 0, list(_EMPTY_DENSE)]
        else:
            dense = list(_EMPTY_DENSE)
            for which, index, bucket in state.written_buckets():
                offset = 4 * (int(which) * DAY_BUCKET_COUNT + index)
                dense[offset : offset + 4] = (bucket.total, bucket.a, bucket.b, bucket.day_stamp)
            entry = [state.first_seen_at, state.last_balance_seen, dense]
        self._dense[identity] = entry
        return entry

    def _day(self, ts: int) -> tuple[int, int]:
        cached = self._day_cache.get(ts)
        if cached is None:
            cached = (4 * day_bucket_index(ts), ts - ts % SECONDS_PER_DAY)
            if len(self._day_cache) < 65536:
                self._day_cache[ts] = cached
        return cached

    def settlement(self, consumer: bytes, seeder: bytes, cost: int, flags: int, ts: int) -> None:
        offset, today = self._day(ts)
        entry = self._entry(consumer, ts)
        dense = entry[2]
        at = _SETTLEMENT_BASE + offset
        stamp = dense[at + 3]
        if stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            dense[at] = dense[at + 1] = dense[at + 2] = 0
            dense[at + 3] = today
        dense[at] = (dense[at] + 1) & _U32
        if not flags & 1:
            dense[at + 1] = (dense[at + 1] + 1) & _U32
        at = _FLOW_BASE + offset
        stamp = dense[at + 3]
        if stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            dense[at] = dense[at + 1] = dense[at + 2] = 0
            dense[at + 3] = today
        dense[at + 2] = (dense[at + 2] + cost) & _U32
        entry[1] = _wrap_int64(entry[1] - cost)
        if seeder != ZERO_ID:
            entry = self._entry(seeder, ts)
            dense = entry[2]
            stamp = dense[at + 3]
            if stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
                dense[at] = dense[at + 1] = dense[at + 2] = 0
                dense[at + 3] = today
            dense[at + 1] = (dense[at + 1] + cost) & _U32
            entry[1] = _wrap_int64(entry[1] + cost)

    def transfer(self, identity: bytes, delta: int, ts: int) -> None:
        entry = self._entry(identity, ts)
        entry[1] = _wrap_int64(entry[1] + delta)

    def starter_grant(self, identity: bytes, cost: int, ts: int) -> None:
        entry = self._entry(identity, ts)
        if entry[0] == ZERO_TIME or entry[0] > ts:
            entry[0] = ts
        entry[1] = _wrap_int64(cost)

    def dispute(self, identity: bytes, upheld: bool, ts: int) -> None:
        offset, today = self._day(ts)
        dense = self._entry(identity, ts)[2]
        at = _DISPUTE_BASE + offset
        stamp = dense[at + 3]
        if stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            dense[at] = dense[at + 1] = dense[at + 2] = 0
            dense[at + 3] = today
        if upheld:
            dense[at + 2] = (dense[at + 2] + 1) & _U32
        else:
            dense[at + 1] = (dense[at + 1] + 1) & _U32

    def apply(self, event: LedgerEvent) -> None:
        """Any event, with `apply_ledger_event`'s rules."""
        kind = event.kind
        ts = int(event.timestamp)
        if kind == LedgerEventKind.SETTLEMENT:
            self.settlement(bytes(event.consumer_id), bytes(event.seeder_id), int(event.cost_credits), event.flags, ts)
        elif kind == LedgerEventKind.TRANSFER_IN:
            self.transfer(bytes(event.consumer_id), int(event.cost_credits), ts)
        elif kind == LedgerEventKind.TRANSFER_OUT:
            self.transfer(bytes(event.consumer_id), -int(event.cost_credits), ts)
        elif kind == LedgerEventKind.STARTER_GRANT:
            self.starter_grant(bytes(event.consumer_id), int(event.cost_credits), ts)
        elif kind == LedgerEventKind.DISPUTE_FILED:
            self.dispute(bytes(event.consumer_id), False, ts)
        elif kind == LedgerEventKind.DISPUTE_RESOLVED and event.dispute_upheld:
            self.dispute(bytes(event.consumer_id), True, ts)

    def finish(self) -> int:
        """Store every touched consumer back into the map; returns how many."""
        consumers = self._consumers
        for identity, (first_seen_at, balance, dense) in self._dense.items():
            consumers[identity] = build_consumer_state(
                first_seen_at,
                balance,
                (
                    (code, dense[4 * code], dense[4 * code + 1], dense[4 * code + 2], dense[4 * code + 3])
                    for code in range(3 * DAY_BUCKET_COUNT)
                ),
            )
        touched = len(self._dense)
        self._dense = {}
        return touched
