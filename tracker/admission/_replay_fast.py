"""Fast bulk replay: applies replayed tlog records to plain per-consumer bucket dicts with exactly the §6
apply rules (`apply_ledger_event`), then writes the touched consumers back into the state map once.

Start-up replays up to millions of records; applying each through `ConsumerCreditState.add_to_bucket` (a
sparse, packed store searched linearly) costs ~10 µs for a busy consumer. Here every touched consumer gets a
dict code → [total, a, b, day_stamp] while replay runs. The results are identical to applying every event one
by one (test_replay_fast and the exactly-once / fuzz tests compare the two).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable

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
_I64_LIMIT = 1 << 63
_STALE_AFTER_S = DAY_BUCKET_COUNT * SECONDS_PER_DAY


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
    """Bulk replay state for the consumers touched by replay: per consumer `[first_seen_at, last_balance_seen,
    {bucket code: [total, a, b, day_stamp]}]` (code = array * 30 + day index). Call `finish()` once at the end
    to store them back into `consumers`; nothing else may read or write those entries in between."""

    __slots__ = ("_consumers", "_day_cache", "_touched")

    def __init__(self, consumers: dict[bytes, ConsumerCreditState]) -> None:
        self._consumers = consumers
        self._touched: dict[bytes, list] = {}
        self._day_cache: dict[int, tuple[int, int]] = {}

    @staticmethod
    def snapshot_consumer(
        first_seen_at: int, last_balance_seen: int, written: list[tuple[int, int, int, int, int]]
    ) -> list:
        """Snapshot decoder factory: one consumer in the accumulator's form (see `adopt`)."""
        return [
            first_seen_at,
            last_balance_seen,
            {code: [total, a, b, stamp] for code, total, a, b, stamp in written},
        ]

    def adopt(self, consumers: dict[bytes, list]) -> None:
        """Take snapshot consumers decoded with `snapshot_consumer`; `finish()` stores them. Call before any
        event is applied."""
        if self._touched:
            raise RuntimeError("admission/replay: adopt() after events were applied")
        self._touched = consumers

    def _entry(self, identity: bytes, ts: int) -> list:
        entry = self._touched.get(identity)
        if entry is not None:
            return entry
        state = self._consumers.get(identity)
        if state is None:
            entry = [ts, 0, {}]
        else:
            buckets: dict[int, list[int]] = {}
            if _FAST_BUILD:
                words = state._records  # type: ignore[attr-defined]
                for offset in range(0, len(words), 6):
                    stamp = (words[offset + 5] << 32) | words[offset + 4]
                    if stamp >= 1 << 63:
                        stamp -= 1 << 64
                    buckets[words[offset]] = [words[offset + 1], words[offset + 2], words[offset + 3], stamp]
            else:
                for which, index, bucket in state.written_buckets():
                    buckets[int(which) * DAY_BUCKET_COUNT + index] = [
                        bucket.total,
                        bucket.a,
                        bucket.b,
                        bucket.day_stamp,
                    ]
            entry = [state.first_seen_at, state.last_balance_seen, buckets]
        self._touched[identity] = entry
        return entry

    def _day(self, ts: int) -> tuple[int, int]:
        """(day bucket index, UTC midnight) of a timestamp."""
        cached = self._day_cache.get(ts)
        if cached is None:
            cached = (day_bucket_index(ts), ts - ts % SECONDS_PER_DAY)
            if len(self._day_cache) < 65536:
                self._day_cache[ts] = cached
        return cached

    def _bucket(self, buckets: dict[int, list[int]], code: int, today: int) -> list[int]:
        """The bucket, rotated to `today` if unset or 30+ days old (§2.2 rotateIfStale)."""
        bucket = buckets.get(code)
        if bucket is None:
            bucket = buckets[code] = [0, 0, 0, today]
        elif bucket[3] == ZERO_TIME or today - bucket[3] >= _STALE_AFTER_S:
            bucket[:] = (0, 0, 0, today)
        return bucket

    def settlement(self, consumer: bytes, seeder: bytes, cost: int, flags: int, ts: int) -> None:
        """One SETTLEMENT (§6); `settlement_function()` is the same, faster for bulk use."""
        self.settlement_function()(consumer, seeder, cost, flags, ts)

    def settlement_function(self) -> Callable[[bytes, bytes, int, int, int], None]:
        """A closure applying one SETTLEMENT with every lookup bound locally (the replay hot loop)."""
        touched = self._touched
        day_cache = self._day_cache
        new_entry = self._entry
        day_of = self._day
        zero_time = ZERO_TIME
        stale_after = _STALE_AFTER_S
        flow_base = 2 * DAY_BUCKET_COUNT
        u32 = _U32
        i64_max = _I64_MAX
        i64_min = -_I64_LIMIT
        zero_id = ZERO_ID
        wrap = _wrap_int64

        def settle(consumer: bytes, seeder: bytes, cost: int, flags: int, ts: int) -> None:
            cached = day_cache.get(ts)
            index, today = cached if cached is not None else day_of(ts)
            entry = touched.get(consumer) or new_entry(consumer, ts)
            buckets = entry[2]
            clean = 0 if flags & 1 else 1
            bucket = buckets.get(index)
            if bucket is None:
                buckets[index] = [1, clean, 0, today]
            elif bucket[3] == zero_time or today - bucket[3] >= stale_after:
                bucket[:] = (1, clean, 0, today)
            else:
                bucket[0] = (bucket[0] + 1) & u32
                if clean:
                    bucket[1] = (bucket[1] + 1) & u32
            flow = flow_base + index
            bucket = buckets.get(flow)
            if bucket is None:
                buckets[flow] = [0, 0, cost & u32, today]
            elif bucket[3] == zero_time or today - bucket[3] >= stale_after:
                bucket[:] = (0, 0, cost & u32, today)
            else:
                bucket[2] = (bucket[2] + cost) & u32
            balance = entry[1] - cost
            entry[1] = balance if i64_min <= balance <= i64_max else wrap(balance)
            if seeder != zero_id:
                entry = touched.get(seeder) or new_entry(seeder, ts)
                buckets = entry[2]
                bucket = buckets.get(flow)
                if bucket is None:
                    buckets[flow] = [0, cost & u32, 0, today]
                elif bucket[3] == zero_time or today - bucket[3] >= stale_after:
                    bucket[:] = (0, cost & u32, 0, today)
                else:
                    bucket[1] = (bucket[1] + cost) & u32
                balance = entry[1] + cost
                entry[1] = balance if i64_min <= balance <= i64_max else wrap(balance)

        return settle

    def transfer(self, identity: bytes, delta: int, ts: int) -> None:
        entry = self._entry(identity, ts)
        entry[1] = _wrap_int64(entry[1] + delta)

    def starter_grant(self, identity: bytes, cost: int, ts: int) -> None:
        entry = self._entry(identity, ts)
        if entry[0] == ZERO_TIME or entry[0] > ts:
            entry[0] = ts
        entry[1] = _wrap_int64(cost)

    def dispute(self, identity: bytes, upheld: bool, ts: int) -> None:
        index, today = self._day(ts)
        bucket = self._bucket(self._entry(identity, ts)[2], DAY_BUCKET_COUNT + index, today)
        if upheld:
            bucket[2] = (bucket[2] + 1) & _U32
        else:
            bucket[1] = (bucket[1] + 1) & _U32

    def apply(self, event: LedgerEvent) -> None:
        """Any event, with `apply_ledger_event`'s rules."""
        kind = event.kind
        ts = int(event.timestamp)
        if kind == LedgerEventKind.SETTLEMENT:
            self.settlement(
                bytes(event.consumer_id), bytes(event.seeder_id), int(event.cost_credits), event.flags, ts
            )
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
        fast = _FAST_BUILD
        zero_time = ZERO_TIME
        u32 = _U32
        make_state = ConsumerCreditState
        for identity, (first_seen_at, balance, buckets) in self._touched.items():
            if not fast:
                consumers[identity] = build_consumer_state(
                    first_seen_at, balance, [(code, *values) for code, values in buckets.items()]
                )
                continue
            words: list[int] = []
            for code, (total, a, b, stamp) in buckets.items():
                if 0 <= stamp <= u32:  # the usual case: low word = stamp, high word = 0
                    words += (code, total, a, b, stamp, 0)
                    continue
                if stamp == zero_time and not (total or a or b):
                    continue
                unsigned = stamp & 0xFFFFFFFFFFFFFFFF
                words += (code, total, a, b, unsigned & u32, unsigned >> 32)
            state = make_state(first_seen_at, balance)
            state._records = array("I", words)  # type: ignore[attr-defined]
            consumers[identity] = state
        touched = len(self._touched)
        self._touched = {}
        return touched
