"""Admission in-memory state types (admission.md §2.1) and the day/minute bucket helpers (§2.2).

Times are integer unix seconds; the Go zero time ("unset") is `ZERO_TIME` (-62135596800), exactly the
value the snapshot format stores. Consumer buckets are kept sparse and packed (only buckets ever written take
memory), so a consumer with a few active days costs a few hundred bytes; `bucket()` / `set_bucket()` read and
write every field of every one of the 90 logical buckets, and `settlement_buckets` / `dispute_buckets` /
`flow_buckets` give the full 30-element views the snapshot codec needs.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import IntEnum

ZERO_TIME = -62135596800
"""Go `time.Time{}.Unix()`: the "unset" sentinel for every time field."""

DAY_BUCKET_COUNT = 30
MINUTE_BUCKET_COUNT = 10
SECONDS_PER_DAY = 86400
SECONDS_PER_MINUTE = 60
_STALE_AFTER_S = DAY_BUCKET_COUNT * SECONDS_PER_DAY
_U32 = 0xFFFFFFFF


class BucketArray(IntEnum):
    """Which of the three consumer day-bucket arrays a bucket belongs to."""

    SETTLEMENT = 0  # total = settlements that day, a = clean settlements, b unused
    DISPUTE = 1  # a = disputes filed, b = disputes upheld, total unused
    FLOW = 2  # a = credits earned (as seeder), b = credits spent (as consumer), total unused


@dataclass(frozen=True, slots=True)
class DayBucket:
    """One day's counters: uint32 (wrap modulo 2**32); `day_stamp` is unix seconds or ZERO_TIME."""

    total: int = 0
    a: int = 0
    b: int = 0
    day_stamp: int = ZERO_TIME

    @property
    def is_unset(self) -> bool:
        return self.day_stamp == ZERO_TIME


EMPTY_DAY_BUCKET = DayBucket()


@dataclass(frozen=True, slots=True)
class MinuteBucket:
    """One minute of seeder heartbeat accounting: heartbeats expected vs received (uint32 each)."""

    expected: int = 0
    actual: int = 0


def go_trunc_div(numerator: int, denominator: int) -> int:
    """Go integer division: truncates toward zero (Python's // floors)."""
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient


def day_bucket_index(unix_seconds: int) -> int:
    """`(unix / 86400) mod 30` with Go truncating division; a negative result gets +30 (§2.2)."""
    day = go_trunc_div(int(unix_seconds), SECONDS_PER_DAY)
    remainder = abs(day) % DAY_BUCKET_COUNT
    if day < 0:
        remainder = -remainder
    return remainder + DAY_BUCKET_COUNT if remainder < 0 else remainder


def strip_to_day(unix_seconds: int) -> int:
    """UTC midnight of the given instant (unix seconds)."""
    unix_seconds = int(unix_seconds)
    return unix_seconds - unix_seconds % SECONDS_PER_DAY


def rotate_if_stale(bucket: DayBucket, now: int) -> DayBucket:
    """Go `rotateIfStale`: an unset or ≥ 30-day-old bucket restarts empty at today; otherwise unchanged."""
    today = strip_to_day(now)
    if bucket.day_stamp == ZERO_TIME or today - bucket.day_stamp >= _STALE_AFTER_S:
        return DayBucket(0, 0, 0, today)
    return bucket


# Packed record layout inside ConsumerCreditState._records (array of uint32), one record per written bucket:
# [code, total, a, b, stamp_low32, stamp_high32] where code = array * 30 + index.
_RECORD_WORDS = 6


def _split_stamp(stamp: int) -> tuple[int, int]:
    unsigned = stamp & 0xFFFFFFFFFFFFFFFF
    return unsigned & _U32, unsigned >> 32


def _join_stamp(low: int, high: int) -> int:
    unsigned = (high << 32) | low
    return unsigned - (1 << 64) if unsigned >= (1 << 63) else unsigned


@dataclass(frozen=True, slots=True)
class SignalSums:
    """uint32 sums over all 30 buckets of each array (summed regardless of age, [QUIRK] §2.2)."""

    total_settled: int
    clean: int
    filed: int
    upheld: int
    earned: int
    spent: int


class ConsumerCreditState:
    """`ConsumerCreditState` of §2.1: first_seen_at, last_balance_seen and 3 × 30 DayBuckets.

    Seeder-side settlement effects are kept in a ConsumerCreditState too (as Go does).
    """

    __slots__ = ("_records", "first_seen_at", "last_balance_seen")

    def __init__(self, first_seen_at: int = ZERO_TIME, last_balance_seen: int = 0) -> None:
        self.first_seen_at: int = first_seen_at
        self.last_balance_seen: int = last_balance_seen
        self._records: array[int] = array("I")

    @classmethod
    def from_packed(
        cls, first_seen_at: int, last_balance_seen: int, records: bytes | memoryview
    ) -> ConsumerCreditState:
        """A state from packed bucket records: native-endian uint32 words `[code, total, a, b, stamp_low32,
        stamp_high32]` per written bucket, code = array * 30 + day index (the layout `_records` keeps; bulk
        replay builds it for many consumers at once). Codes must be distinct and < 90."""
        state = cls(first_seen_at, last_balance_seen)
        state._records.frombytes(records)
        return state

    @classmethod
    def from_buckets(
        cls, first_seen_at: int, last_balance_seen: int, buckets: Iterable[tuple[int, int, int, int, int]]
    ) -> ConsumerCreditState:
        """A state from (code = array * 30 + index, total, a, b, day_stamp) tuples with distinct codes < 90;
        unset buckets (all zero with the zero time) are skipped, as a snapshot holds them."""
        state = cls(first_seen_at, last_balance_seen)
        words: list[int] = []
        for code, total, a, b, stamp in buckets:
            if stamp == ZERO_TIME and not (total or a or b):
                continue
            low, high = _split_stamp(stamp)
            words += (code, total & _U32, a & _U32, b & _U32, low, high)
        state._records = array("I", words)
        return state

    # --- bucket access -------------------------------------------------------------------------------------

    def _find(self, code: int) -> int:
        records = self._records
        for offset in range(0, len(records), _RECORD_WORDS):
            if records[offset] == code:
                return offset
        return -1

    def bucket(self, which: BucketArray, index: int) -> DayBucket:
        """The bucket `index` (0..29) of array `which` (a copy)."""
        offset = self._find(_code(which, index))
        if offset < 0:
            return EMPTY_DAY_BUCKET
        r = self._records
        return DayBucket(
            r[offset + 1], r[offset + 2], r[offset + 3], _join_stamp(r[offset + 4], r[offset + 5])
        )

    def set_bucket(self, which: BucketArray, index: int, bucket: DayBucket) -> None:
        """Overwrite bucket `index` of array `which` with every field of `bucket` (counters mod 2**32)."""
        code = _code(which, index)
        offset = self._find(code)
        if bucket == EMPTY_DAY_BUCKET:
            if offset >= 0:
                del self._records[offset : offset + _RECORD_WORDS]
            return
        low, high = _split_stamp(bucket.day_stamp)
        values = (code, bucket.total & _U32, bucket.a & _U32, bucket.b & _U32, low, high)
        if offset < 0:
            self._records.extend(values)
        else:
            self._records[offset : offset + _RECORD_WORDS] = array("I", values)

    def add_to_bucket(self, which: BucketArray, now: int, total: int = 0, a: int = 0, b: int = 0) -> None:
        """Rotate today's bucket of `which` if stale (§2.2), then add the deltas with uint32 wrap-around."""
        index = day_bucket_index(now)
        code = _code(which, index)
        records = self._records
        offset = self._find(code)
        today = strip_to_day(now)
        if offset < 0:
            low, high = _split_stamp(today)
            records.extend((code, total & _U32, a & _U32, b & _U32, low, high))
            return
        stamp = _join_stamp(records[offset + 4], records[offset + 5])
        if stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            low, high = _split_stamp(today)
            records[offset + 1] = 0
            records[offset + 2] = 0
            records[offset + 3] = 0
            records[offset + 4] = low
            records[offset + 5] = high
        records[offset + 1] = (records[offset + 1] + total) & _U32
        records[offset + 2] = (records[offset + 2] + a) & _U32
        records[offset + 3] = (records[offset + 3] + b) & _U32

    def buckets(self, which: BucketArray) -> tuple[DayBucket, ...]:
        """All 30 buckets of one array, index order (unwritten buckets are empty with ZERO_TIME)."""
        return tuple(self.bucket(which, index) for index in range(DAY_BUCKET_COUNT))

    @property
    def settlement_buckets(self) -> tuple[DayBucket, ...]:
        return self.buckets(BucketArray.SETTLEMENT)

    @property
    def dispute_buckets(self) -> tuple[DayBucket, ...]:
        return self.buckets(BucketArray.DISPUTE)

    @property
    def flow_buckets(self) -> tuple[DayBucket, ...]:
        return self.buckets(BucketArray.FLOW)

    def written_buckets(self) -> Iterator[tuple[BucketArray, int, DayBucket]]:
        """(array, index, bucket) for every bucket that holds anything; cheaper than the full views."""
        r = self._records
        for offset in range(0, len(r), _RECORD_WORDS):
            which, index = divmod(r[offset], DAY_BUCKET_COUNT)
            yield (
                BucketArray(which),
                index,
                DayBucket(
                    r[offset + 1], r[offset + 2], r[offset + 3], _join_stamp(r[offset + 4], r[offset + 5])
                ),
            )

    # --- derived -------------------------------------------------------------------------------------------

    def sums(self) -> SignalSums:
        """uint32-wrapped sums of the six counters the score reads, over all buckets."""
        sums = [0, 0, 0, 0, 0, 0]
        r = self._records
        for offset in range(0, len(r), _RECORD_WORDS):
            which = r[offset] // DAY_BUCKET_COUNT
            if which == 0:
                sums[0] += r[offset + 1]
                sums[1] += r[offset + 2]
            elif which == 1:
                sums[2] += r[offset + 2]
                sums[3] += r[offset + 3]
            else:
                sums[4] += r[offset + 2]
                sums[5] += r[offset + 3]
        return SignalSums(*(value & _U32 for value in sums))

    def copy(self) -> ConsumerCreditState:
        clone = ConsumerCreditState(self.first_seen_at, self.last_balance_seen)
        clone._records = array("I", self._records)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConsumerCreditState):
            return NotImplemented
        return (
            self.first_seen_at == other.first_seen_at
            and self.last_balance_seen == other.last_balance_seen
            and sorted(self.written_buckets()) == sorted(other.written_buckets())
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"ConsumerCreditState(first_seen_at={self.first_seen_at}, "
            f"last_balance_seen={self.last_balance_seen}, buckets={list(self.written_buckets())})"
        )


def _code(which: BucketArray, index: int) -> int:
    if not 0 <= index < DAY_BUCKET_COUNT:
        raise IndexError(f"day bucket index {index} out of range 0..{DAY_BUCKET_COUNT - 1}")
    return int(which) * DAY_BUCKET_COUNT + index


def minute_bucket_index(unix_seconds: int) -> int:
    """Which of the 10 minute buckets an instant falls in: (unix minute) mod 10."""
    return (int(unix_seconds) // SECONDS_PER_MINUTE) % MINUTE_BUCKET_COUNT


class SeederHeartbeatState:
    """`SeederHeartbeatState` of §2.1: 10 MinuteBuckets plus the headroom fields.

    Buckets are fed by registry heartbeats (`record_heartbeat`) and rolled forward by `roll_to`; each
    minute the seeder is known to the tracker expects one heartbeat.
    `reliability()` = Σ min(actual, expected) / Σ expected.
    """

    __slots__ = (
        "_buckets",
        "can_probe_usage",
        "last_bucket_roll_at",
        "last_headroom_estimate",
        "last_headroom_source",
        "last_headroom_ts",
    )

    def __init__(
        self,
        last_bucket_roll_at: int = ZERO_TIME,
        last_headroom_estimate: int = 0,
        last_headroom_source: int = 0,
        last_headroom_ts: int = ZERO_TIME,
        can_probe_usage: bool = False,
    ) -> None:
        self._buckets: array[int] = array("I", bytes(4 * 2 * MINUTE_BUCKET_COUNT))
        self.last_bucket_roll_at = last_bucket_roll_at
        self.last_headroom_estimate = last_headroom_estimate  # fixed point 0..10000
        self.last_headroom_source = last_headroom_source  # 0/1/2 mirrors TickSource
        self.last_headroom_ts = last_headroom_ts
        self.can_probe_usage = can_probe_usage

    def bucket(self, index: int) -> MinuteBucket:
        return MinuteBucket(self._buckets[2 * index], self._buckets[2 * index + 1])

    def set_bucket(self, index: int, bucket: MinuteBucket) -> None:
        self._buckets[2 * index] = bucket.expected & _U32
        self._buckets[2 * index + 1] = bucket.actual & _U32

    @property
    def buckets(self) -> tuple[MinuteBucket, ...]:
        return tuple(self.bucket(index) for index in range(MINUTE_BUCKET_COUNT))

    def roll_to(self, now: int) -> None:
        """Advance the minute ring to `now`: each newly entered minute starts as {expected 1, actual 0}."""
        current_minute = int(now) // SECONDS_PER_MINUTE
        if self.last_bucket_roll_at == ZERO_TIME:
            self._clear_buckets()
            first_minute = current_minute
        else:
            last_minute = self.last_bucket_roll_at // SECONDS_PER_MINUTE
            if current_minute <= last_minute:
                return  # same minute, or the clock went backwards: keep the ring as is
            if current_minute - last_minute >= MINUTE_BUCKET_COUNT:
                self._clear_buckets()
                first_minute = current_minute - MINUTE_BUCKET_COUNT + 1
            else:
                first_minute = last_minute + 1
        for minute in range(first_minute, current_minute + 1):
            index = minute % MINUTE_BUCKET_COUNT
            self._buckets[2 * index] = 1
            self._buckets[2 * index + 1] = 0
        self.last_bucket_roll_at = current_minute * SECONDS_PER_MINUTE

    def _clear_buckets(self) -> None:
        for index in range(2 * MINUTE_BUCKET_COUNT):
            self._buckets[index] = 0

    def record_heartbeat(self, now: int) -> None:
        """Roll to `now` and count one received heartbeat in the current minute."""
        self.roll_to(now)
        index = 2 * minute_bucket_index(now) + 1
        self._buckets[index] = (self._buckets[index] + 1) & _U32

    def reliability(self) -> float:
        """Share of expected minutes that saw a heartbeat; 1.0 when nothing was expected yet."""
        expected = 0
        received = 0
        b = self._buckets
        for index in range(0, 2 * MINUTE_BUCKET_COUNT, 2):
            expected += b[index]
            received += min(b[index], b[index + 1])
        return 1.0 if expected == 0 else received / expected

    def copy(self) -> SeederHeartbeatState:
        clone = SeederHeartbeatState(
            self.last_bucket_roll_at,
            self.last_headroom_estimate,
            self.last_headroom_source,
            self.last_headroom_ts,
            self.can_probe_usage,
        )
        clone._buckets = array("I", self._buckets)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SeederHeartbeatState):
            return NotImplemented
        return (
            self._buckets == other._buckets
            and self.last_bucket_roll_at == other.last_bucket_roll_at
            and self.last_headroom_estimate == other.last_headroom_estimate
            and self.last_headroom_source == other.last_headroom_source
            and self.last_headroom_ts == other.last_headroom_ts
            and self.can_probe_usage == other.can_probe_usage
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"SeederHeartbeatState(buckets={[(m.expected, m.actual) for m in self.buckets]}, "
            f"last_bucket_roll_at={self.last_bucket_roll_at}, "
            f"last_headroom_estimate={self.last_headroom_estimate}, "
            f"last_headroom_source={self.last_headroom_source}, last_headroom_ts={self.last_headroom_ts}, "
            f"can_probe_usage={self.can_probe_usage})"
        )
