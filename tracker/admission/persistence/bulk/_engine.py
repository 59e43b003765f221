"""Bulk start-up replay: the consumer-state map rebuilt in columns, with exactly the §6 apply rules
(`apply_ledger_event`), so that a 100k-consumer snapshot plus a million tlog records load in seconds.

Applying records one at a time to `ConsumerCreditState` objects costs microseconds each in Python, most of it
spent touching scattered objects. Here, while replay runs, the state lives in flat numpy columns with one row
per identity (`_ids`, `_rows`: identity → row, `_first_seen`) and one slot per row and bucket code
(key = row * 90 + code, code = array * 30 + day index): `_total`, `_a`, `_b` (uint32), `_stamp` (int64),
`_written` (bool), plus `_balance` (int64) per row and `_id_words` (each id as 4 uint64 words, for bulk id
lookup through `_index_heads` / `_index_rows`, the first words sorted). Single events update slots through
memoryviews; the columns grow by doubling.

A snapshot's consumer entries are copied in from the mapped file (`adopt_snapshot`). A run of ledger-derived
records with contiguous seqs and valid CRCs — settlements, transfers, starter grants, as `find_ledger_run`
finds them — is applied as a whole by `apply_ledger_run`, in time proportional to the run:

- per bucket, the settlements of the run add up, and a bucket restarts at most once, on the run's first
  touch, because all settlements of a run that map to one day index carry the same UTC day (checked;
  otherwise the run is replayed one record at a time);
- a balance ends as the last starter grant of the run (if any) plus every move after it;
- new identities get rows in first-touch order, and first_seen_at follows the grant rule in record order.

Everything else goes through `apply` / `settlement`, one event at a time. `finish()` writes one
ConsumerCreditState per row back into the consumer map. Tests compare the result with `apply_ledger_event`
applied event by event.
"""

from __future__ import annotations

import mmap
from dataclasses import dataclass
from itertools import repeat

import numpy as np
import numpy.typing as npt

from tracker.admission.core._events import ZERO_ID, LedgerEvent, LedgerEventKind
from tracker.admission.core._state import (
    DAY_BUCKET_COUNT,
    SECONDS_PER_DAY,
    ZERO_TIME,
    ConsumerCreditState,
    day_bucket_index,
)
from tracker.admission.persistence._records import record_to_event
from tracker.admission.persistence._tlog_format import (
    FRAME_CRC_FIELD,
    FRAME_HEADER,
    FRAME_HEADER_FIELDS,
    FRAME_HEADER_SIZE,
    FRAME_OVERHEAD,
    ID_WORDS,
    SETTLEMENT_FIELDS,
    SETTLEMENT_PAYLOAD,
    STARTER_GRANT_FIELDS,
    TRANSFER_FIELDS,
    TLogKind,
    TransferDirection,
    crc32c,
)
from tracker.admission.persistence.bulk._columns import SnapshotColumns

__all__ = ["MIN_BULK_RUN", "BulkReplay", "LedgerRun", "find_ledger_run"]

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
"""Shorter runs are cheaper one record at a time."""


def _frame_dtype(payload: tuple[tuple[object, ...], ...]) -> np.dtype:
    return np.dtype([*FRAME_HEADER_FIELDS, *payload, FRAME_CRC_FIELD])


# Complete frames (§7.1) of the kinds a run holds (§7.3 payloads), from the layouts in _tlog_format.
SETTLEMENT_FRAME = _frame_dtype(SETTLEMENT_FIELDS)
TRANSFER_FRAME = _frame_dtype(TRANSFER_FIELDS)
STARTER_GRANT_FRAME = _frame_dtype(STARTER_GRANT_FIELDS)
_RUN_FRAMES = {
    TLogKind.SETTLEMENT: SETTLEMENT_FRAME,
    TLogKind.TRANSFER: TRANSFER_FRAME,
    TLogKind.STARTER_GRANT: STARTER_GRANT_FRAME,
}
_RUN_LENGTHS = {int(kind): frame.itemsize - 4 for kind, frame in _RUN_FRAMES.items()}  # the length field
_HEADER = FRAME_HEADER
_TRANSFER_OUT = int(TransferDirection.OUT)
_SETTLEMENT_KIND = int(TLogKind.SETTLEMENT)
_FRAME_SIZES = np.zeros(256, np.int64)  # kind → complete frame size, for the run kinds
_FRAME_SIZES[[int(kind) for kind in _RUN_FRAMES]] = [frame.itemsize for frame in _RUN_FRAMES.values()]
_SETTLEMENT_LENGTH = _RUN_LENGTHS[TLogKind.SETTLEMENT]
_SETTLEMENT_FRAME_SIZE = SETTLEMENT_FRAME.itemsize
_SETTLEMENT_PAYLOAD = SETTLEMENT_PAYLOAD


@dataclass(slots=True)
class LedgerRun:
    """Frames found by `find_ledger_run`: frame i starts at `offsets[i]` in `data` and has kind `kinds[i]`;
    `end` is the offset after the last one."""

    data: bytes | mmap.mmap
    offsets: list[int]
    kinds: list[int]
    end: int

    def __len__(self) -> int:
        return len(self.offsets)

    def part(self, start: int, stop: int) -> LedgerRun:
        """Frames `start` to `stop` (exclusive) of this run."""
        end = self.offsets[stop] if stop < len(self.offsets) else self.end
        return LedgerRun(self.data, self.offsets[start:stop], self.kinds[start:stop], end)

    def frames(self, kind: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions in the run, the frames as records) of one kind, copied out of `data`."""
        dtype = _RUN_FRAMES[TLogKind(kind)]
        positions = np.flatnonzero(np.array(self.kinds, np.uint8) == kind)
        if not len(positions):
            return positions, np.empty(0, dtype)
        starts = np.array(self.offsets, np.int64)[positions]
        windows = np.lib.stride_tricks.sliding_window_view(np.frombuffer(self.data, np.uint8), dtype.itemsize)
        frames = windows[starts].view(dtype).reshape(-1)
        del windows  # a view of `data`: drop it at once, so that a mapped file can close
        return positions, frames


def find_ledger_run(
    data: bytes | mmap.mmap, offset: int, first_seq: int, seq_step: int, limit: int | None = None
) -> LedgerRun:
    """The longest run of complete frames from `offset` with seqs `first_seq`, `first_seq + seq_step`, …, of
    the kinds SETTLEMENT, TRANSFER and STARTER_GRANT with exactly their payload sizes, and a valid CRC. At
    most `limit` frames (no limit when None)."""
    size = len(data)
    unpack_header = _HEADER.unpack_from
    lengths = _RUN_LENGTHS
    offsets: list[int] = []
    kinds: list[int] = []
    expected = first_seq
    remaining = -1 if limit is None else limit
    while remaining and offset + FRAME_OVERHEAD <= size:
        length, seq, _, kind = unpack_header(data, offset)
        if seq != expected or lengths.get(kind) != length or offset + 4 + length > size:
            break
        # Settlements usually come many in a row: look at them together.
        count = (
            _settlement_stretch(data, offset, seq, seq_step, remaining) if kind == TLogKind.SETTLEMENT else 1
        )
        stop = offset + count * (4 + length)
        offsets.extend(range(offset, stop, 4 + length))
        kinds.extend(repeat(kind, count))
        offset = stop
        expected += count * seq_step
        remaining -= count
    good = _good_crcs(data, offsets, kinds)
    if good < len(offsets):
        offset = offsets[good]
        del offsets[good:], kinds[good:]
    return LedgerRun(data, offsets, kinds, offset)


def _settlement_stretch(
    data: bytes | mmap.mmap, offset: int, first_seq: int, seq_step: int, limit: int
) -> int:
    """How many (≥ 1) complete SETTLEMENT frames of length 97 with seqs `first_seq`, `first_seq + seq_step`, …
    follow one another from `offset`, the first of them checked by the caller (at most `limit` when it is
    not negative). CRCs are not checked."""
    available = (len(data) - offset) // _SETTLEMENT_FRAME_SIZE
    if limit >= 0:
        available = min(available, limit)
    if first_seq + available * seq_step >= _U64:
        available = max(1, (_U64 - 1 - first_seq) // seq_step)
    checked = 0
    window = 128
    while checked < available:  # growing windows: a short stretch costs little, a long one few numpy calls
        count = min(window, available - checked)
        frames = np.frombuffer(
            data, SETTLEMENT_FRAME, count=count, offset=offset + checked * _SETTLEMENT_FRAME_SIZE
        )
        expected = np.arange(count, dtype=np.uint64) * np.uint64(seq_step) + np.uint64(
            first_seq + checked * seq_step
        )
        good = (
            (frames["length"] == _SETTLEMENT_LENGTH)
            & (frames["kind"] == _SETTLEMENT_KIND)
            & (frames["seq"] == expected)
        )
        del frames
        if not good.all():
            return checked + int(good.argmin())
        checked += count
        window *= 8
    return checked


def _good_crcs(data: bytes | mmap.mmap, offsets: list[int], kinds: list[int]) -> int:
    """How many of the frames (of run kinds) at `offsets` have a valid CRC before the first that does not."""
    if not offsets:
        return 0
    starts = np.array(offsets, np.int64)
    ends = starts + _FRAME_SIZES[np.array(kinds, np.uint8)]
    computed = np.fromiter(
        map(crc32c, map(data.__getitem__, map(slice, (starts + 4).tolist(), (ends - 4).tolist()))),
        dtype=np.uint32,
        count=len(offsets),
    )
    raw = np.frombuffer(data, np.uint8)
    stored = np.lib.stride_tricks.sliding_window_view(raw, 4)[ends - 4].view(">u4").reshape(-1)
    del raw
    matches = computed == stored
    return len(offsets) if matches.all() else int(matches.argmin())


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

    _total: npt.NDArray[np.uint32]
    _a: npt.NDArray[np.uint32]
    _b: npt.NDArray[np.uint32]
    _stamp: npt.NDArray[np.int64]
    _written: npt.NDArray[np.bool_]
    _balance: npt.NDArray[np.int64]
    _id_words: npt.NDArray[np.uint64]
    _total_view: memoryview
    _a_view: memoryview
    _b_view: memoryview
    _stamp_view: memoryview
    _written_view: memoryview
    _balance_view: memoryview

    def __init__(self, consumers: dict[bytes, ConsumerCreditState]) -> None:
        self._consumers = consumers
        self._day_cache: dict[int, tuple[int, int]] = {}
        self.records_in_runs = 0  # records applied as part of a whole run
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
        old: tuple[np.ndarray, ...] | None = (
            None if keep == 0 else (self._total, self._a, self._b, self._stamp, self._written)
        )
        old_rows = None if keep == 0 else (self._balance, self._id_words)
        slots = capacity * _CODES
        self._total = np.zeros(slots, np.uint32)
        self._a = np.zeros(slots, np.uint32)
        self._b = np.zeros(slots, np.uint32)
        self._stamp = np.zeros(slots, np.int64)
        self._written = np.zeros(slots, np.bool_)
        self._balance = np.zeros(capacity, np.int64)
        self._id_words = np.zeros((capacity, ID_WORDS), np.uint64)
        if old is not None and old_rows is not None:
            new: tuple[np.ndarray, ...] = (self._total, self._a, self._b, self._stamp, self._written)
            for new_column, old_column in zip(new, old, strict=True):
                new_column[: keep * _CODES] = old_column[: keep * _CODES]
            self._balance[:keep] = old_rows[0][:keep]
            self._id_words[:keep] = old_rows[1][:keep]
        self._capacity = capacity
        self._total_view = self._total.data
        self._a_view = self._a.data
        self._b_view = self._b.data
        self._stamp_view = self._stamp.data
        self._written_view = self._written.data
        self._balance_view = self._balance.data

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
        self._id_words[:count] = np.frombuffer(b"".join(ids), "<u8").reshape(count, ID_WORDS)
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
        cached = self._day_cache.get(ts)
        index, today = cached if cached is not None else self._day(ts)
        key = row * _CODES + base + index
        totals, a_values, b_values, stamps = self._total_view, self._a_view, self._b_view, self._stamp_view
        stamp = stamps[key]
        if not self._written_view[key] or stamp == ZERO_TIME or today - stamp >= _STALE_AFTER_S:
            self._written_view[key] = True
            totals[key], a_values[key], b_values[key], stamps[key] = total & _U32, a & _U32, b & _U32, today
            return
        totals[key] = (totals[key] + total) & _U32
        a_values[key] = (a_values[key] + a) & _U32
        b_values[key] = (b_values[key] + b) & _U32

    def _move_balance(self, row: int, delta: int) -> None:
        balance = (self._balance_view[row] + delta) % _U64
        self._balance_view[row] = balance - _U64 if balance > _I64_MAX else balance

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
            self._balance_view[row] = 0
            self._move_balance(row, cost)
        elif kind == LedgerEventKind.DISPUTE_FILED:
            self._add(self._row(bytes(event.consumer_id), ts), _DISPUTE_BASE, ts, 0, 1, 0)
        elif kind == LedgerEventKind.DISPUTE_RESOLVED and event.dispute_upheld:
            self._add(self._row(bytes(event.consumer_id), ts), _DISPUTE_BASE, ts, 0, 0, 1)

    # --- runs of settlements -----------------------------------------------------------------------------

    def apply_ledger_run(self, run: LedgerRun) -> None:
        """Apply a run found by `find_ledger_run` (see the module docstring for how): in bulk up to the first
        settlement that breaks the bulk preconditions, that one alone, and so on."""
        while len(run):
            settlement_at, settlements = run.frames(TLogKind.SETTLEMENT)
            cut = self._bulk_prefix(settlement_at, settlements["ts"].astype(np.int64), len(run))
            if cut == 0:
                self._apply_one_by_one(run.part(0, 1))
                run = run.part(1, len(run))
                continue
            if cut < len(run):
                keep = settlement_at < cut
                settlement_at, settlements = settlement_at[keep], settlements[keep]
            self._apply_in_bulk(run.part(0, cut), settlement_at, settlements)
            run = run.part(cut, len(run))

    @staticmethod
    def _bulk_prefix(settlement_at: np.ndarray, ts: np.ndarray, count: int) -> int:
        """How many leading records of a run can go in bulk: up to the first settlement with a timestamp out
        of the bulk range or on a day index an earlier settlement of the run saw with another UTC day."""
        if not len(ts):
            return count
        bad = (ts < _MIN_BULK_TS) | (ts > _MAX_BULK_TS)
        day_number = np.where(bad, _MIN_BULK_TS // SECONDS_PER_DAY, ts // SECONDS_PER_DAY)
        day_index = day_number % DAY_BUCKET_COUNT
        indexes, first = np.unique(day_index[~bad], return_index=True)
        first_day = np.zeros(DAY_BUCKET_COUNT, np.int64)
        first_day[indexes] = day_number[~bad][first]
        bad |= day_number != first_day[day_index]
        if not bad.any():
            return count
        return int(settlement_at[int(bad.argmax())])

    def _apply_in_bulk(self, run: LedgerRun, settlement_at: np.ndarray, settlements: np.ndarray) -> None:
        count = len(run)
        ts = settlements["ts"].astype(np.int64)
        transfer_at, transfers = run.frames(TLogKind.TRANSFER)
        grant_at, grants = run.frames(TLogKind.STARTER_GRANT)
        seeded: npt.NDArray[np.bool_] = np.any(settlements["seeder"], axis=1)
        seeded_at = settlement_at[seeded]
        # Every identity the run touches, in record order: record i touches its consumer at 2i and a
        # settlement's seeder at 2i + 1.
        touched_rows = self._rows_of(
            np.concatenate(
                (
                    settlements["consumer"],
                    settlements["seeder"][seeded],
                    transfers["consumer"],
                    grants["consumer"],
                )
            ),
            np.concatenate((settlement_at * 2, seeded_at * 2 + 1, transfer_at * 2, grant_at * 2)),
            np.concatenate((ts, ts[seeded], transfers["ts"].astype(np.int64), grants["ts"].astype(np.int64))),
        )
        ends = np.cumsum([len(settlements), int(seeded.sum()), len(transfers)])
        consumer_rows, seeder_rows, transfer_rows, grant_rows = np.split(touched_rows, ends)
        cost = settlements["cost"].astype(np.uint64)
        self._add_settlements(consumer_rows, seeder_rows, seeded, ts, cost, settlements["flags"])

        # Balances: moves (as int64, wrapping like Go's) count when they come after the row's last grant.
        transfer_cost = transfers["cost"].astype(np.uint64).view(np.int64)
        transfer_cost = np.where(transfers["direction"] == _TRANSFER_OUT, -transfer_cost, transfer_cost)
        move_rows = np.concatenate((consumer_rows, seeder_rows, transfer_rows))
        move_at = np.concatenate((settlement_at, seeded_at, transfer_at))
        moves = np.concatenate((-cost.view(np.int64), cost[seeded].view(np.int64), transfer_cost))
        balance = self._balance
        if len(grant_rows):
            # Each granted row's last grant (grants are in record order: the last occurrence wins).
            granted, from_end = np.unique(grant_rows[::-1], return_index=True)
            last = len(grant_rows) - 1 - from_end
            balance[granted] = grants["cost"].astype(np.uint64).view(np.int64)[last]
            position = np.minimum(granted.searchsorted(move_rows), len(granted) - 1)
            last_grant_at = np.where(granted[position] == move_rows, grant_at[last][position], -1)
            later = move_at > last_grant_at
            move_rows, moves = move_rows[later], moves[later]
            first_seen = self._first_seen
            for row, grant_ts in zip(
                grant_rows.tolist(), grants["ts"].astype(np.int64).tolist(), strict=True
            ):
                if first_seen[row] == ZERO_TIME or first_seen[row] > grant_ts:
                    first_seen[row] = grant_ts
        np.add.at(balance, move_rows, moves)
        self.records_in_runs += count

    def _apply_one_by_one(self, run: LedgerRun) -> None:
        data = run.data
        for offset, kind in zip(run.offsets, run.kinds, strict=True):
            length, _, ts, _ = _HEADER.unpack_from(data, offset)
            payload = data[offset + FRAME_HEADER_SIZE : offset + length]
            if kind == TLogKind.SETTLEMENT:
                consumer, seeder, cost, flags = _SETTLEMENT_PAYLOAD.unpack(payload)
                self.settlement(consumer, seeder, cost, flags, ts)
            else:
                event = record_to_event(kind, ts, payload)
                if event is not None:
                    self.apply(event)

    def _add_settlements(
        self,
        consumer_rows: np.ndarray,
        seeder_rows: np.ndarray,
        seeded: np.ndarray,
        ts: np.ndarray,
        cost: np.ndarray,
        flags: np.ndarray,
    ) -> None:
        """The day buckets of settlements in a `_bulk_prefix`."""
        day_number = ts // SECONDS_PER_DAY
        day_index = day_number % DAY_BUCKET_COUNT
        today = day_number * SECONDS_PER_DAY
        settlement_keys = consumer_rows * _CODES + day_index
        consumer_flow_keys = settlement_keys + _FLOW_BASE
        seeder_flow_keys = seeder_rows * _CODES + (day_index[seeded] + _FLOW_BASE)
        # Every record of a bucket shares its day, so the first touch's restart decision (taken on the state
        # before the run) is every touch's: restart all those buckets first, then add.
        restarts = []
        for keys, day in (
            (settlement_keys, today),
            (consumer_flow_keys, today),
            (seeder_flow_keys, today[seeded]),
        ):
            restart = self._restarts(keys, day)
            restarts.append((keys[restart], day[restart]))
        for keys, day in restarts:
            self._total[keys] = 0
            self._a[keys] = 0
            self._b[keys] = 0
            self._stamp[keys] = day
            self._written[keys] = True
        clean = (flags & 1) == 0
        np.add.at(self._total, settlement_keys, np.uint32(1))
        np.add.at(self._a, settlement_keys[clean], np.uint32(1))
        np.add.at(self._b, consumer_flow_keys, cost.astype(np.uint32))
        np.add.at(self._a, seeder_flow_keys, cost[seeded].astype(np.uint32))

    def _restarts(self, keys: np.ndarray, today: np.ndarray) -> np.ndarray:
        """Which of these buckets `add_to_bucket` would restart at `today`: unset, or 30+ days older."""
        stamp = self._stamp[keys]
        restarts: np.ndarray = ~self._written[keys] | (stamp == ZERO_TIME) | (stamp <= today - _STALE_AFTER_S)
        return restarts

    def _rebuild_index(self) -> None:
        """Sort every known identity's first word into the index (32-byte ids only: a tlog id has 32 bytes,
        and other ids have no words to compare)."""
        count = len(self._ids)
        rows = np.arange(count)
        if any(len(identity) != 32 for identity in self._ids):
            rows = rows[np.fromiter((len(identity) == 32 for identity in self._ids), np.bool_, count)]
        heads = self._id_words[rows, 0]
        order = heads.argsort(kind="stable")
        self._index_heads = heads[order]
        self._index_rows = rows[order]
        self._unindexed = 0

    def _rows_of(self, words: np.ndarray, touch: np.ndarray, ts: np.ndarray) -> np.ndarray:
        """The row of each id (4 words per id), adding rows for new identities in `touch` order with
        first_seen_at = the touching record's `ts`."""
        if self._unindexed > max(1024, len(self._index_heads) // 8):
            self._rebuild_index()
        rows = self._indexed_rows(words)
        missing = np.flatnonzero(rows < 0)
        if len(missing):
            # Not in the index (new, added since it was built, or sharing a first word with another
            # identity): look these up by their bytes, in touch order.
            missing = missing[touch[missing].argsort(kind="stable")]
            blob = words[missing].tobytes()
            timestamps = ts[missing].tolist()
            row_of = self._row
            rows[missing] = np.fromiter(
                (row_of(blob[at : at + 32], timestamps[at // 32]) for at in range(0, len(blob), 32)),
                dtype=np.int64,
                count=len(missing),
            )
        return rows

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
