"""Bulk start-up replay: the consumer-state map rebuilt in columns, with exactly the §6 apply rules
(`apply_ledger_event`), so that a 100k-consumer snapshot plus a million tlog records load in seconds.

Applying records one at a time to `ConsumerCreditState` objects costs microseconds each in Python, most of it
spent touching scattered objects. Here, while replay runs, the state lives in flat numpy columns with one row
per identity (`_ids`, `_rows`: identity → row, `_first_seen`) and one slot per row and bucket code
(key = row * 90 + code, code = array * 30 + day index): `_total`, `_a`, `_b` (uint32), `_stamp` (int64),
`_written` (bool), plus `_balance` (int64) per row and `_id_words` (each id as 4 uint64 words, for bulk id
lookup through `_index_heads` / `_index_rows`, the first words sorted). Single events update slots through
memoryviews; the columns grow by doubling.

A snapshot's consumer entries are copied in from the mapped file (`adopt_snapshot`). A run of plain
settlements (ledger-derived, contiguous, valid CRC — `find_settlement_run`) is applied as a whole by
`apply_settlement_run` in time proportional to the run: per bucket, the settlements of the run add up, and a
bucket restarts at most once, on the run's first touch,
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

MIN_BULK_RUN = 64
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
        "_a_view",
        "_b",
        "_b_view",
        "_balance",
        "_balance_view",
        "_capacity",
        "_consumers",
        "_day_cache",
        "_first_seen",
        "_id_words",
        "_ids",
        "_index_heads",
        "_index_rows",
        "_rows",
        "_stamp",
        "_stamp_view",
        "_total",
        "_total_view",
        "_unindexed",
        "_written",
        "_written_view",
        "records_in_runs",
    )

    def __init__(self, consumers: dict[bytes, ConsumerCreditState]) -> None:
        self._consumers = consumers
        self._day_cache: dict[int, tuple[int, int]] = {}
        self.records_in_runs = 0  # settlements applied as part of a whole run
        self._clear()
        for identity, state in consumers.items():
            row = self._row(identity, state.first_seen_at)
            self._balance_view[row] = state.last_balance_seen
            for which, index, bucket in state.written_buckets():
                key = row * _CODES + int(which) * DAY_BUCKET_COUNT + index
                self._written_view[key] = True
                self._total_view[key] = bucket.total
                self._a_view[key] = bucket.a
                self._b_view[key] = bucket.b
                self._stamp_view[key] = bucket.day_stamp

    def _clear(self) -> None:
        self._rows: dict[bytes, int] = {}
        self._ids: list[bytes] = []
        self._first_seen: list[int] = []
        self._capacity = 0
        self._index_heads = np.empty(0, np.uint64)
        self._index_rows = np.empty(0, np.int64)
        self._unindexed = 0  # rows added since the index was built (they are looked up by their bytes)
        self._allocate(0)

    def _allocate(self, capacity: int, keep: int = 0) -> None:
        """(Re)allocate the columns for `capacity` rows, keeping the first `keep` rows."""
        old = None if keep == 0 else (self._total, self._a, self._b, self._stamp, self._written)
        old_rows = None if keep == 0 else (self._balance, self._id_words)
        slots = capacity * _CODES
        self._total = np.zeros(slots, np.uint32)
        self._a = np.zeros(slots, np.uint32)
        self._b = np.zeros(slots, np.uint32)
        self._stamp = np.zeros(slots, np.int64)
        self._written = np.zeros(slots, np.bool_)
        self._balance = np.zeros(capacity, np.int64)
        self._id_words = np.zeros((capacity, _ID_WORDS), np.uint64)
        if old is not None and old_rows is not None:
            for new_column, old_column in zip(
                (self._total, self._a, self._b, self._stamp, self._written), old, strict=True
            ):
                new_column[: keep * _CODES] = old_column[: keep * _CODES]
            self._balance[:keep] = old_rows[0][:keep]
            self._id_words[:keep] = old_rows[1][:keep]
        self._capacity = capacity
        self._total_view = memoryview(self._total)
        self._a_view = memoryview(self._a)
        self._b_view = memoryview(self._b)
        self._stamp_view = memoryview(self._stamp)
        self._written_view = memoryview(self._written)
        self._balance_view = memoryview(self._balance)

    def _reserve(self, rows: int) -> None:
        if rows > self._capacity:
            self._allocate(max(rows, 2 * self._capacity, 1024), keep=len(self._ids))

    @property
    def identities(self) -> int:
        return len(self._ids)

    # --- snapshot ----------------------------------------------------------------------------------------

    def adopt_snapshot(self, snapshot: SnapshotColumns) -> None:
        """Take the consumers of a snapshot (copied out of its entries; nothing refers to them afterwards).
        Only before anything else: a snapshot replaces the whole state."""
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
        count = len(ids)
        self._allocate(count + count // 4 + 1024)
        self._rows = rows
        self._ids = ids
        self._first_seen = entries["first_seen_at"].tolist()
        self._balance[:count] = entries["last_balance_seen"]
        self._id_words[:count] = np.frombuffer(b"".join(ids), "<u8").reshape(count, _ID_WORDS)
        # Entries hold [day][array]; the columns hold [array][day] (code = array * 30 + day).
        buckets = entries["buckets"].transpose(0, 2, 1)
        slots = count * _CODES
        for column, field in ((self._total, "total"), (self._a, "a"), (self._b, "b")):
            column[:slots].reshape(count, 3, DAY_BUCKET_COUNT)[:] = buckets[field]
        self._stamp[:slots].reshape(count, 3, DAY_BUCKET_COUNT)[:] = buckets["day_stamp"]
        written = self._written[:slots]
        np.not_equal(self._stamp[:slots], ZERO_TIME, out=written)
        written |= self._total[:slots] != 0
        written |= self._a[:slots] != 0
        written |= self._b[:slots] != 0
        self._rebuild_index()

    # --- one event at a time -----------------------------------------------------------------------------

    def _row(self, identity: bytes, ts: int) -> int:
        row = self._rows.get(identity)
        if row is None:
            row = self._rows[identity] = len(self._ids)
            self._reserve(row + 1)
            self._ids.append(identity)
            self._first_seen.append(ts)
            if len(identity) == 32:
                self._id_words[row] = np.frombuffer(identity, "<u8")
            self._unindexed += 1
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
        totals, a_values, b_values, stamps = self._total_view, self._a_view, self._b_view, self._stamp_view
        if not self._written_view[key]:
            self._written_view[key] = True
            totals[key], a_values[key], b_values[key], stamps[key] = total & _U32, a & _U32, b & _U32, today
            return
        stamp = stamps[key]
        if stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            totals[key], a_values[key], b_values[key], stamps[key] = 0, 0, 0, today
        totals[key] = (totals[key] + total) & _U32
        a_values[key] = (a_values[key] + a) & _U32
        b_values[key] = (b_values[key] + b) & _U32

    def _move_balance(self, row: int, delta: int) -> None:
        balance = (self._balance_view[row] + delta) % _U64
        self._balance_view[row] = balance - _U64 if balance > _I64_MAX else balance

    def settlement(self, consumer: bytes, seeder: bytes, cost: int, flags: int, ts: int) -> None:
        """One SETTLEMENT (§6): `_add` and `_move_balance` inlined, as replay takes this path for every
        settlement outside a bulk run."""
        rows = self._rows
        row = rows.get(consumer)
        if row is None:
            row = self._row(consumer, ts)
        seeder_row = -1
        if seeder and seeder != ZERO_ID:
            seeder_row = rows.get(seeder)
            if seeder_row is None:
                seeder_row = self._row(seeder, ts)
        cached = self._day_cache.get(ts)
        index, today = cached if cached is not None else self._day(ts)
        written, totals, a_values, b_values, stamps, balances = (
            self._written_view,
            self._total_view,
            self._a_view,
            self._b_view,
            self._stamp_view,
            self._balance_view,
        )
        clean = 0 if flags & 1 else 1
        key = row * _CODES + index
        stamp = stamps[key]
        if not written[key] or stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            written[key], totals[key], a_values[key], b_values[key], stamps[key] = True, 1, clean, 0, today
        else:
            totals[key] = (totals[key] + 1) & _U32
            a_values[key] = (a_values[key] + clean) & _U32
        key += _FLOW_BASE
        stamp = stamps[key]
        if not written[key] or stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            written[key], totals[key], a_values[key], b_values[key], stamps[key] = (
                True,
                0,
                0,
                cost & _U32,
                today,
            )
        else:
            b_values[key] = (b_values[key] + cost) & _U32
        balance = (balances[row] - cost) % _U64
        balances[row] = balance - _U64 if balance > _I64_MAX else balance
        if seeder_row < 0:
            return
        key = seeder_row * _CODES + _FLOW_BASE + index
        stamp = stamps[key]
        if not written[key] or stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            written[key], totals[key], a_values[key], b_values[key], stamps[key] = (
                True,
                0,
                cost & _U32,
                0,
                today,
            )
        else:
            a_values[key] = (a_values[key] + cost) & _U32
        balance = (balances[seeder_row] + cost) % _U64
        balances[seeder_row] = balance - _U64 if balance > _I64_MAX else balance

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
            self._balance_view[row] = 0
            self._move_balance(row, cost)
        elif kind == LedgerEventKind.DISPUTE_FILED:
            self._add(self._row(bytes(event.consumer_id), ts), _DISPUTE_BASE, ts, 0, 1, 0)
        elif kind == LedgerEventKind.DISPUTE_RESOLVED and event.dispute_upheld:
            self._add(self._row(bytes(event.consumer_id), ts), _DISPUTE_BASE, ts, 0, 0, 1)

    # --- runs of settlements -----------------------------------------------------------------------------

    def apply_settlement_run(self, frames: np.ndarray) -> bool:
        """Apply a run found by `find_settlement_run` as a whole. Returns False, changing nothing, when the
        run does not meet the bulk preconditions (timestamps out of range, or two UTC days on one day index);
        the caller then replays it one record at a time."""
        count = len(frames)
        ts = frames["ts"].astype(np.int64)
        if count == 0 or int(ts.min()) < _MIN_BULK_TS or int(ts.max()) > _MAX_BULK_TS:
            return False
        day_number = ts // SECONDS_PER_DAY
        day_index = day_number % DAY_BUCKET_COUNT
        today = day_number * SECONDS_PER_DAY
        earliest = np.full(DAY_BUCKET_COUNT, _MAX_BULK_TS, np.int64)
        np.minimum.at(earliest, day_index, today)
        latest = np.zeros(DAY_BUCKET_COUNT, np.int64)
        np.maximum.at(latest, day_index, today)
        touched = latest > 0
        if not np.array_equal(earliest[touched], latest[touched]):
            return False
        seeded = frames["seeder"].any(axis=1)
        consumer_rows, seeder_rows = self._rows_of(frames, seeded, ts)

        settlement_keys = consumer_rows * _CODES + day_index
        consumer_flow_keys = settlement_keys + _FLOW_BASE
        seeder_flow_keys = seeder_rows * _CODES + (day_index[seeded] + _FLOW_BASE)
        seeder_today = today[seeded]
        # Every record of a bucket shares its day, so the first touch's restart decision (taken on the state
        # before the run) is every touch's: restart all those buckets first, then add.
        restarts = []
        for keys, day in (
            (settlement_keys, today),
            (consumer_flow_keys, today),
            (seeder_flow_keys, seeder_today),
        ):
            restart = self._restarts(keys, day)
            restarts.append((keys[restart], day[restart]))
        for keys, day in restarts:
            self._total[keys] = 0
            self._a[keys] = 0
            self._b[keys] = 0
            self._stamp[keys] = day
            self._written[keys] = True
        cost = frames["cost"].astype(np.uint64)
        seeder_cost = cost[seeded]
        clean = (frames["flags"] & 1) == 0
        np.add.at(self._total, settlement_keys, np.uint32(1))
        np.add.at(self._a, settlement_keys[clean], np.uint32(1))
        np.add.at(self._b, consumer_flow_keys, cost.astype(np.uint32))
        np.add.at(self._a, seeder_flow_keys, seeder_cost.astype(np.uint32))
        np.subtract.at(self._balance, consumer_rows, cost.view(np.int64))  # int64 wraps like Go's
        np.add.at(self._balance, seeder_rows, seeder_cost.view(np.int64))
        self.records_in_runs += count
        return True

    def _restarts(self, keys: np.ndarray, today: np.ndarray) -> np.ndarray:
        """Which of these buckets `add_to_bucket` would restart at `today`: unset, or 30+ days older."""
        stamp = self._stamp[keys]
        return ~self._written[keys] | (stamp == ZERO_TIME) | (stamp <= today - _STALE_AFTER_S)

    def _rebuild_index(self) -> None:
        """Sort every known identity's first word into the index."""
        count = len(self._ids)
        heads = self._id_words[:count, 0]
        order = heads.argsort(kind="stable")
        self._index_heads = heads[order]
        self._index_rows = order
        self._unindexed = 0

    def _rows_of(
        self, frames: np.ndarray, seeded: np.ndarray, ts: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows of each record's consumer and (where `seeded`) seeder, adding rows for new identities in
        first-touch order (consumer before seeder) with first_seen_at = that record's ts."""
        if self._unindexed > max(1024, len(self._index_heads) // 8):
            self._rebuild_index()
        consumer_words = frames["consumer"]
        seeder_words = frames["seeder"][seeded]
        consumer_rows = self._indexed_rows(consumer_words)
        seeder_rows = self._indexed_rows(seeder_words)
        missing_consumers = np.flatnonzero(consumer_rows < 0)
        missing_seeders = np.flatnonzero(seeder_rows < 0)
        if len(missing_consumers) or len(missing_seeders):
            # Not in the index (new, added since it was built, or sharing a first word with another
            # identity): look these up by their bytes, in touch order — record i touches its consumer at 2i,
            # its seeder at 2i + 1.
            seeder_records = np.flatnonzero(seeded)[missing_seeders]
            touch = np.concatenate((missing_consumers * 2, seeder_records * 2 + 1))
            order = touch.argsort(kind="stable")
            blob = np.concatenate((consumer_words[missing_consumers], seeder_words[missing_seeders]))[
                order
            ].tobytes()
            timestamps = ts[touch[order] // 2].tolist()
            row_of = self._row
            found = np.fromiter(
                (row_of(blob[at : at + 32], timestamps[at // 32]) for at in range(0, len(blob), 32)),
                dtype=np.int64,
                count=len(order),
            )
            rows = np.empty(len(order), np.int64)
            rows[order] = found
            consumer_rows[missing_consumers] = rows[: len(missing_consumers)]
            seeder_rows[missing_seeders] = rows[len(missing_consumers) :]
        return consumer_rows, seeder_rows

    def _indexed_rows(self, words: np.ndarray) -> np.ndarray:
        """The row of each id (4 words per id) found through the index, -1 where it is not there."""
        known_heads = self._index_heads
        rows = np.full(len(words), -1, np.int64)
        if len(known_heads) and len(words):
            heads = words[:, 0]
            position = known_heads.searchsorted(heads)
            np.minimum(position, len(known_heads) - 1, out=position)
            candidate = self._index_rows[position]
            hit = (known_heads[position] == heads) & (self._id_words[candidate, 1:] == words[:, 1:]).all(
                axis=1
            )
            rows[hit] = candidate[hit]
        return rows

    # --- the result --------------------------------------------------------------------------------------

    def finish(self) -> int:
        """Rebuild the consumer map (row order) from the columns; returns how many states it holds."""
        count = len(self._ids)
        keys = np.flatnonzero(self._written[: count * _CODES])
        rows = keys // _CODES
        records = np.empty((len(keys), 6), np.uint32)
        records[:, 0] = keys - rows * _CODES
        records[:, 1] = self._total[keys]
        records[:, 2] = self._a[keys]
        records[:, 3] = self._b[keys]
        stamp = self._stamp[keys].view(np.uint64)
        records[:, 4] = stamp & np.uint64(_U32)
        records[:, 5] = stamp >> np.uint64(32)
        ends = (rows.searchsorted(np.arange(1, count + 1)) * _RECORD_BYTES).tolist()
        packed = memoryview(records.tobytes())
        balances = self._balance[:count].tolist()
        consumers = self._consumers
        consumers.clear()
        build = ConsumerCreditState.from_packed
        start = 0
        for identity, first_seen_at, balance, end in zip(
            self._ids, self._first_seen, balances, ends, strict=True
        ):
            consumers[identity] = build(first_seen_at, balance, packed[start:end])
            start = end
        self._clear()  # the map owns the state now
        return count
