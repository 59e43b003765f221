"""Bulk start-up replay: the consumer-state map rebuilt in columns, with exactly the §6 apply rules
(`apply_ledger_event`), so that a 100k-consumer snapshot plus a million tlog records load in seconds.

Applying records one at a time to `ConsumerCreditState` objects costs microseconds each in Python, most of it
spent touching scattered objects. Here, while replay runs, the state lives in columns:

- one row per identity: `_ids`, `_first_seen`, `_balance` (Python lists) and `_rows` (identity → row);
- every written day bucket in a store sorted by key = row * 90 + code (code = array * 30 + day index):
  numpy columns `_keys`, `_total`, `_a`, `_b`, `_stamp`; buckets changed by single events since the last
  merge sit in `_overlay` (key → [total, a, b, stamp]) and take precedence over the store.

A snapshot's consumer entries are read in place (`adopt_snapshot`). A long run of plain settlements (ledger-
derived, contiguous, valid CRC — `find_settlement_run`) is applied as a whole by `apply_settlement_run`: per
bucket, the settlements of the run add up, and a bucket restarts at most once, on the run's first touch,
because every record of the run that maps to one day index carries the same UTC day (checked; otherwise the
run is refused and replayed one record at a time). Everything else goes through `apply` / `settlement`, one
event at a time. `finish()` writes one ConsumerCreditState per row back into the consumer map. Tests compare
the result with `apply_ledger_event` applied event by event.
"""

from __future__ import annotations

import mmap

import numpy as np

from tracker.admission._events import ZERO_ID, LedgerEvent, LedgerEventKind
from tracker.admission._snapshot_format import SnapshotColumns
from tracker.admission._state import (
    DAY_BUCKET_COUNT,
    SECONDS_PER_DAY,
    ZERO_TIME,
    ConsumerCreditState,
    day_bucket_index,
)
from tracker.admission._tlog_format import crc32c

__all__ = ["MIN_BULK_RUN", "SETTLEMENT_FRAME", "BulkReplay", "find_settlement_run"]

_U32 = 0xFFFFFFFF
_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1
_CODES = 3 * DAY_BUCKET_COUNT  # bucket codes per identity
_FLOW_BASE = 2 * DAY_BUCKET_COUNT
_DISPUTE_BASE = DAY_BUCKET_COUNT
_STALE_AFTER_S = DAY_BUCKET_COUNT * SECONDS_PER_DAY
_RECORD_BYTES = 24  # one packed bucket record of ConsumerCreditState: 6 uint32 words

# A run is applied in bulk only inside this timestamp range: day index and midnight are then plain floor
# arithmetic, no bucket can restart at the zero time, and stamp comparisons cannot overflow int64.
_MIN_BULK_TS = 64 * SECONDS_PER_DAY
_MAX_BULK_TS = 1 << 62

MIN_BULK_RUN = 256
"""Shorter runs of settlements are cheaper one record at a time."""

SETTLEMENT_FRAME = np.dtype(
    [
        ("length", ">u4"),
        ("seq", ">u8"),
        ("ts", ">i8"),
        ("kind", "u1"),
        ("consumer", "<u8", (4,)),  # the 32 id bytes as 4 words (numbers only for sorting and comparing)
        ("seeder", "<u8", (4,)),
        ("cost", ">u8"),
        ("flags", ">u4"),
        ("crc", ">u4"),
    ]
)
"""A complete SETTLEMENT frame (§7.1 + §7.3: length 97) as a numpy record."""
_SETTLEMENT_LENGTH = 97
_SETTLEMENT_FRAME_SIZE = SETTLEMENT_FRAME.itemsize
_LEDGER_SEQ_SHIFT = 20  # the seq scheme of _persistent.py: ledger entry L is tlog seq L << 20
_ID_WORDS = 4
assert _SETTLEMENT_FRAME_SIZE == 4 + _SETTLEMENT_LENGTH


def find_settlement_run(
    data: bytes | mmap.mmap, offset: int, next_ledger_seq: int, limit: int | None = None
) -> np.ndarray:
    """The longest run of complete frames starting at `offset` that are SETTLEMENTs of length 97 with tlog
    seqs `next_ledger_seq << 20`, `(next_ledger_seq + 1) << 20`, … and a valid CRC, as a SETTLEMENT_FRAME
    array viewing `data` (empty when the first frame does not qualify). At most `limit` frames."""
    available = (len(data) - offset) // _SETTLEMENT_FRAME_SIZE
    if limit is not None:
        available = min(available, limit)
    if available <= 0 or (next_ledger_seq + available) << _LEDGER_SEQ_SHIFT >= _U64:
        return np.empty(0, SETTLEMENT_FRAME)
    checked = 0
    window = MIN_BULK_RUN
    while checked < available:  # growing windows: a short run costs little, a long one few numpy calls
        count = min(window, available - checked)
        frames = np.frombuffer(
            data, SETTLEMENT_FRAME, count=count, offset=offset + checked * _SETTLEMENT_FRAME_SIZE
        )
        expected = (np.arange(count, dtype=np.uint64) + np.uint64(next_ledger_seq + checked)) << np.uint64(
            _LEDGER_SEQ_SHIFT
        )
        good = (frames["length"] == _SETTLEMENT_LENGTH) & (frames["kind"] == 0) & (frames["seq"] == expected)
        if not good.all():
            checked += int(good.argmin())
            break
        checked += count
        window *= 2
    if checked == 0:
        return np.empty(0, SETTLEMENT_FRAME)
    frames = np.frombuffer(data, SETTLEMENT_FRAME, count=checked, offset=offset)
    body_starts = range(offset + 4, offset + checked * _SETTLEMENT_FRAME_SIZE, _SETTLEMENT_FRAME_SIZE)
    body_ends = range(offset + _SETTLEMENT_LENGTH, len(data), _SETTLEMENT_FRAME_SIZE)
    bodies = map(data.__getitem__, map(slice, body_starts, body_ends))
    computed = np.fromiter(map(crc32c, bodies), dtype=np.uint32, count=checked)
    matches = computed == frames["crc"]
    if not matches.all():
        frames = frames[: int(matches.argmin())]
    return frames


class BulkReplay:
    """The replay state in columns (see the module docstring). Construct with the consumer map to rebuild
    (any states already in it are taken over), feed it snapshot entries and events, then call `finish()`
    once; nothing else may touch the map in between."""

    __slots__ = (
        "_a",
        "_b",
        "_balance",
        "_consumers",
        "_day_cache",
        "_first_seen",
        "_ids",
        "_index",
        "_keys",
        "_overlay",
        "_rows",
        "_stamp",
        "_total",
        "records_in_runs",
    )

    def __init__(self, consumers: dict[bytes, ConsumerCreditState]) -> None:
        self._consumers = consumers
        self._day_cache: dict[int, tuple[int, int]] = {}
        self.records_in_runs = 0  # settlements applied as part of a whole run
        self._clear()
        for identity, state in consumers.items():
            row = self._row(identity, state.first_seen_at)
            self._balance[row] = state.last_balance_seen
            for which, index, bucket in state.written_buckets():
                self._overlay[row * _CODES + int(which) * DAY_BUCKET_COUNT + index] = [
                    bucket.total,
                    bucket.a,
                    bucket.b,
                    bucket.day_stamp,
                ]

    def _clear(self) -> None:
        self._rows: dict[bytes, int] = {}
        self._ids: list[bytes] = []
        self._first_seen: list[int] = []
        self._balance: list[int] = []
        self._keys = np.empty(0, np.int64)
        self._total = np.empty(0, np.uint32)
        self._a = np.empty(0, np.uint32)
        self._b = np.empty(0, np.uint32)
        self._stamp = np.empty(0, np.int64)
        self._overlay: dict[int, list[int]] = {}
        self._index: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def identities(self) -> int:
        return len(self._ids)

    # --- snapshot ----------------------------------------------------------------------------------------

    def adopt_snapshot(self, snapshot: SnapshotColumns) -> None:
        """Take the consumers of a snapshot (entries read in place; nothing refers to them afterwards). Only
        before anything else: a snapshot replaces the whole state."""
        if self._ids:
            raise RuntimeError("admission/replay: adopt_snapshot() after state was added")
        entries = snapshot.consumer_entries
        ids: list[bytes] = entries["id"].tolist()
        rows = dict(zip(ids, range(len(ids)), strict=True))
        if len(rows) != len(ids):
            # A repeated id: like decoding into a dict, the last entry wins at the first one's position.
            keep = np.fromiter(rows.values(), dtype=np.int64, count=len(rows))
            entries = entries[keep]
            ids = [ids[index] for index in keep.tolist()]
            rows = {identity: row for row, identity in enumerate(ids)}
        self._rows = rows
        self._ids = ids
        self._first_seen = entries["first_seen_at"].tolist()
        self._balance = entries["last_balance_seen"].tolist()
        # (row, array, day) order = ascending key order.
        buckets = entries["buckets"].transpose(0, 2, 1)
        written = buckets["day_stamp"] != ZERO_TIME
        written |= buckets["total"] != 0
        written |= buckets["a"] != 0
        written |= buckets["b"] != 0
        rows_at, arrays_at, days_at = np.nonzero(written)
        chosen = buckets[rows_at, arrays_at, days_at]
        self._keys = rows_at * _CODES + arrays_at * DAY_BUCKET_COUNT + days_at
        self._total = chosen["total"].astype(np.uint32)
        self._a = chosen["a"].astype(np.uint32)
        self._b = chosen["b"].astype(np.uint32)
        self._stamp = chosen["day_stamp"].astype(np.int64)
        self._index = None

    # --- one event at a time -----------------------------------------------------------------------------

    def _row(self, identity: bytes, ts: int) -> int:
        row = self._rows.get(identity)
        if row is None:
            row = self._rows[identity] = len(self._ids)
            self._ids.append(identity)
            self._first_seen.append(ts)
            self._balance.append(0)
        return row

    def _day(self, ts: int) -> tuple[int, int]:
        """(day bucket index, UTC midnight) of a timestamp."""
        cached = self._day_cache.get(ts)
        if cached is None:
            cached = (day_bucket_index(ts), ts - ts % SECONDS_PER_DAY)
            if len(self._day_cache) < 65536:
                self._day_cache[ts] = cached
        return cached

    def _add(self, row: int, base: int, ts: int, total: int, a: int, b: int) -> None:
        """`ConsumerCreditState.add_to_bucket` on the bucket of array `base` for day `ts`."""
        index, today = self._day(ts)
        key = row * _CODES + base + index
        bucket = self._overlay.get(key)
        if bucket is None:
            keys = self._keys
            position = int(keys.searchsorted(key))
            if position < len(keys) and int(keys[position]) == key:
                bucket = self._overlay[key] = [
                    int(self._total[position]),
                    int(self._a[position]),
                    int(self._b[position]),
                    int(self._stamp[position]),
                ]
            else:
                self._overlay[key] = [total & _U32, a & _U32, b & _U32, today]
                return
        if bucket[3] == ZERO_TIME or today - bucket[3] >= _STALE_AFTER_S:
            bucket[:] = (0, 0, 0, today)
        bucket[0] = (bucket[0] + total) & _U32
        bucket[1] = (bucket[1] + a) & _U32
        bucket[2] = (bucket[2] + b) & _U32

    def _move_balance(self, row: int, delta: int) -> None:
        balance = (self._balance[row] + delta) % _U64
        self._balance[row] = balance - _U64 if balance > _I64_MAX else balance

    def settlement(self, consumer: bytes, seeder: bytes, cost: int, flags: int, ts: int) -> None:
        """One SETTLEMENT (§6)."""
        row = self._row(consumer, ts)
        self._add(row, 0, ts, 1, 0 if flags & 1 else 1, 0)
        self._add(row, _FLOW_BASE, ts, 0, 0, cost)
        self._move_balance(row, -cost)
        if seeder and seeder != ZERO_ID:
            row = self._row(seeder, ts)
            self._add(row, _FLOW_BASE, ts, 0, cost, 0)
            self._move_balance(row, cost)

    def apply(self, event: LedgerEvent) -> None:
        """Any event, with `apply_ledger_event`'s rules."""
        kind = event.kind
        ts = int(event.timestamp)
        cost = int(event.cost_credits)
        if kind == LedgerEventKind.SETTLEMENT:
            self.settlement(bytes(event.consumer_id), bytes(event.seeder_id), cost, event.flags, ts)
        elif kind == LedgerEventKind.TRANSFER_IN:
            self._move_balance(self._row(bytes(event.consumer_id), ts), cost)
        elif kind == LedgerEventKind.TRANSFER_OUT:
            self._move_balance(self._row(bytes(event.consumer_id), ts), -cost)
        elif kind == LedgerEventKind.STARTER_GRANT:
            row = self._row(bytes(event.consumer_id), ts)
            if self._first_seen[row] == ZERO_TIME or self._first_seen[row] > ts:
                self._first_seen[row] = ts
            self._balance[row] = 0
            self._move_balance(row, cost)
        elif kind == LedgerEventKind.DISPUTE_FILED:
            self._add(self._row(bytes(event.consumer_id), ts), _DISPUTE_BASE, ts, 0, 1, 0)
        elif kind == LedgerEventKind.DISPUTE_RESOLVED and event.dispute_upheld:
            self._add(self._row(bytes(event.consumer_id), ts), _DISPUTE_BASE, ts, 0, 0, 1)

    # --- runs of settlements -----------------------------------------------------------------------------

    def apply_settlement_run(self, frames: np.ndarray) -> bool:
        """Apply a run found by `find_settlement_run` as a whole. Returns False, changing nothing, when the
        run does not meet the bulk preconditions (timestamps out of range, two UTC days on one day index,
        two identities sharing their first 8 bytes); the caller then replays it one record at a time."""
        count = len(frames)
        ts = frames["ts"].astype(np.int64)
        if count == 0 or int(ts.min()) < _MIN_BULK_TS or int(ts.max()) > _MAX_BULK_TS:
            return False
        day_number = ts // SECONDS_PER_DAY
        day_index = day_number % DAY_BUCKET_COUNT
        today = day_number * SECONDS_PER_DAY
        day_of_index = np.full(DAY_BUCKET_COUNT, _MAX_BULK_TS, np.int64)
        np.minimum.at(day_of_index, day_index, today)
        latest = np.zeros(DAY_BUCKET_COUNT, np.int64)
        np.maximum.at(latest, day_index, today)
        touched = latest > 0
        if not np.array_equal(day_of_index[touched], latest[touched]):
            return False
        seeded = frames["seeder"].any(axis=1)
        mapped = self._rows_of(frames, seeded, ts)
        if mapped is None:
            return False
        consumer_rows, seeder_rows = mapped
        self._merge_overlay()

        cost = frames["cost"].astype(np.uint64)
        seeder_cost = cost[seeded]
        seeder_days = day_index[seeded]
        settlement_keys = consumer_rows * _CODES + day_index
        group_keys, inverse = np.unique(
            np.concatenate(
                (
                    settlement_keys,
                    settlement_keys + _FLOW_BASE,
                    seeder_rows * _CODES + (seeder_days + _FLOW_BASE),
                )
            ),
            return_inverse=True,
        )
        groups = len(group_keys)
        of_settlement = inverse[:count]
        of_consumer_flow = inverse[count : 2 * count]
        of_seeder_flow = inverse[2 * count :]
        add_total = np.bincount(of_settlement, minlength=groups).astype(np.uint32)
        clean = (frames["flags"] & 1) == 0
        add_a = np.bincount(of_settlement[clean], minlength=groups).astype(np.uint64)
        np.add.at(add_a, of_seeder_flow, seeder_cost)
        add_b = np.zeros(groups, np.uint64)
        np.add.at(add_b, of_consumer_flow, cost)
        group_today = day_of_index[group_keys % DAY_BUCKET_COUNT]
        self._add_to_groups(
            group_keys, group_today, add_total, add_a.astype(np.uint32), add_b.astype(np.uint32)
        )

        delta = np.zeros(len(self._ids), np.int64)
        np.subtract.at(delta, consumer_rows, cost.view(np.int64))
        np.add.at(delta, seeder_rows, seeder_cost.view(np.int64))
        balance = np.array(self._balance, dtype=np.int64)
        balance += delta  # int64 arithmetic wraps like Go's
        self._balance = balance.tolist()
        self.records_in_runs += count
        return True

    def _add_to_groups(
        self,
        keys: np.ndarray,
        today: np.ndarray,
        add_total: np.ndarray,
        add_a: np.ndarray,
        add_b: np.ndarray,
    ) -> None:
        """add_to_bucket for each (sorted, distinct) key at once: a bucket that is unset or 30+ days older
        than its day restarts there, others add (uint32 wrap-around)."""
        position, found = self._locate(keys)
        at = position[found]
        stamp = self._stamp[at]
        day = today[found]
        restart = (stamp == ZERO_TIME) | (stamp <= day - _STALE_AFTER_S)
        keep = ~restart
        self._total[at] = add_total[found] + self._total[at] * keep
        self._a[at] = add_a[found] + self._a[at] * keep
        self._b[at] = add_b[found] + self._b[at] * keep
        self._stamp[at] = np.where(restart, day, stamp)
        new = ~found
        self._insert(position[new], keys[new], add_total[new], add_a[new], add_b[new], today[new])

    def _locate(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(insertion position in the store, found there) of each sorted key."""
        position = self._keys.searchsorted(keys)
        found = position < len(self._keys)
        found[found] = self._keys[position[found]] == keys[found]
        return position, found

    def _insert(
        self,
        position: np.ndarray,
        keys: np.ndarray,
        total: np.ndarray,
        a: np.ndarray,
        b: np.ndarray,
        stamp: np.ndarray,
    ) -> None:
        if len(keys):
            self._keys = np.insert(self._keys, position, keys)
            self._total = np.insert(self._total, position, total)
            self._a = np.insert(self._a, position, a)
            self._b = np.insert(self._b, position, b)
            self._stamp = np.insert(self._stamp, position, stamp)

    def _merge_overlay(self) -> None:
        """Write the buckets changed one event at a time into the store."""
        overlay = self._overlay
        if not overlay:
            return
        keys = np.fromiter(overlay.keys(), dtype=np.int64, count=len(overlay))
        values = np.array(list(overlay.values()), dtype=np.int64).reshape(-1, 4)
        order = keys.argsort()
        keys = keys[order]
        values = values[order]
        position, found = self._locate(keys)
        at = position[found]
        self._total[at] = values[found, 0]
        self._a[at] = values[found, 1]
        self._b[at] = values[found, 2]
        self._stamp[at] = values[found, 3]
        new = ~found
        fresh = values[new]
        self._insert(position[new], keys[new], fresh[:, 0], fresh[:, 1], fresh[:, 2], fresh[:, 3])
        overlay.clear()

    def _identity_index(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(sorted first words, their rows, every row's id as 4 words) of the known identities; None when two
        of them share a first word (bulk id lookup would be ambiguous)."""
        cached = self._index
        if cached is not None and cached[0] == len(self._ids):
            return cached[1], cached[2], cached[3]
        words = np.frombuffer(b"".join(self._ids), "<u8").reshape(-1, _ID_WORDS)
        order = words[:, 0].argsort(kind="stable")
        heads = words[order, 0]
        if len(heads) > 1 and bool((heads[1:] == heads[:-1]).any()):
            return None
        self._index = (len(self._ids), heads, order, words)
        return heads, order, words

    def _rows_of(
        self, frames: np.ndarray, seeded: np.ndarray, ts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Rows of each record's consumer and (where `seeded`) seeder, adding rows for new identities in
        first-touch order (consumer before seeder) with first_seen_at = that record's ts. None, changing
        nothing, when first words are ambiguous."""
        index = self._identity_index()
        if index is None:
            return None
        consumer_words = frames["consumer"]
        seeder_words = frames["seeder"][seeded]
        consumer_rows = self._known_rows(consumer_words, index)
        seeder_rows = self._known_rows(seeder_words, index)
        if consumer_rows is None or seeder_rows is None:
            return None
        missing_consumers = np.flatnonzero(consumer_rows < 0)
        missing_seeders = np.flatnonzero(seeder_rows < 0)
        if len(missing_consumers) or len(missing_seeders):
            words = np.concatenate((consumer_words[missing_consumers], seeder_words[missing_seeders]))
            # Touch order: record i touches its consumer at 2i, its seeder at 2i + 1.
            touch = np.concatenate((missing_consumers * 2, np.flatnonzero(seeded)[missing_seeders] * 2 + 1))
            new_heads, representative, which = np.unique(words[:, 0], return_index=True, return_inverse=True)
            if not (words == words[representative[which]]).all():
                return None  # two new identities share a first word
            first_touch = np.full(len(new_heads), np.iinfo(np.int64).max, np.int64)
            np.minimum.at(first_touch, which, touch)
            order = first_touch.argsort()
            rank = np.empty(len(order), np.int64)
            rank[order] = np.arange(len(order))
            base = len(self._ids)
            new_rows = base + rank[which]
            consumer_rows[missing_consumers] = new_rows[: len(missing_consumers)]
            seeder_rows[missing_seeders] = new_rows[len(missing_consumers) :]
            blob = words[representative[order]].tobytes()
            new_ids = [blob[start : start + 32] for start in range(0, len(blob), 32)]
            self._ids.extend(new_ids)
            self._rows.update(zip(new_ids, range(base, base + len(new_ids)), strict=True))
            self._first_seen.extend(ts[first_touch[order] // 2].tolist())
            self._balance.extend([0] * len(new_ids))
        return consumer_rows, seeder_rows

    @staticmethod
    def _known_rows(words: np.ndarray, index: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray | None:
        """The row of each id (4 words per id) among the known identities, -1 where unknown; None when an id
        shares its first word with a different known identity."""
        known_heads, known_rows, known_words = index
        rows = np.full(len(words), -1, np.int64)
        if len(known_heads) and len(words):
            heads = words[:, 0]
            position = known_heads.searchsorted(heads)
            np.minimum(position, len(known_heads) - 1, out=position)
            hit = known_heads[position] == heads
            rows[hit] = known_rows[position[hit]]
            if not (known_words[rows[hit], 1:] == words[hit, 1:]).all():
                return None
        return rows

    # --- the result --------------------------------------------------------------------------------------

    def finish(self) -> int:
        """Rebuild the consumer map (row order) from the columns; returns how many states it holds."""
        self._merge_overlay()
        rows = self._keys // _CODES
        records = np.empty((len(self._keys), 6), np.uint32)
        records[:, 0] = self._keys - rows * _CODES
        records[:, 1] = self._total
        records[:, 2] = self._a
        records[:, 3] = self._b
        stamp = self._stamp.view(np.uint64)
        records[:, 4] = stamp & np.uint64(_U32)
        records[:, 5] = stamp >> np.uint64(32)
        ends = (rows.searchsorted(np.arange(1, len(self._ids) + 1)) * _RECORD_BYTES).tolist()
        packed = memoryview(records.tobytes())
        consumers = self._consumers
        consumers.clear()
        build = ConsumerCreditState.from_packed
        start = 0
        for identity, first_seen_at, balance, end in zip(
            self._ids, self._first_seen, self._balance, ends, strict=True
        ):
            consumers[identity] = build(first_seen_at, balance, packed[start:end])
            start = end
        built = len(self._ids)
        self._clear()  # the map owns the state now
        return built
