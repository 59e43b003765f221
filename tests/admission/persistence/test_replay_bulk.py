"""Bulk replay (`BulkReplay`, `find_ledger_run`) gives exactly the state of applying each event with
`apply_ledger_event` (§6), whether events come one at a time, as whole runs of ledger-derived frames, or from
a snapshot read in place."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.admission._helpers import NOW, settlement
from tracker.admission.core._events import ZERO_ID, LedgerEvent, LedgerEventKind, apply_ledger_event
from tracker.admission.core._state import ZERO_TIME, BucketArray, ConsumerCreditState, DayBucket
from tracker.admission.persistence._records import record_to_event
from tracker.admission.persistence._replay import ReplayReport, replay_from_disk
from tracker.admission.persistence._snapshot_format import SnapshotData, decode_snapshot, encode_snapshot
from tracker.admission.persistence._snapshot_store import snapshot_path, write_snapshot_file
from tracker.admission.persistence._tlog_format import (
    DisputePayload,
    SettlementPayload,
    StarterGrantPayload,
    TLogKind,
    TransferDirection,
    TransferPayload,
    crc32c,
    encode_frame,
)
from tracker.admission.persistence.bulk._columns import decode_snapshot_columns
from tracker.admission.persistence.bulk._engine import BulkReplay, LedgerRun, find_ledger_run

_DAY = 86400
_IDS = [bytes([byte]) * 32 for byte in (1, 2, 3)] + [ZERO_ID]
_costs = st.one_of(st.integers(0, 100), st.just(2**64 - 1), st.just(2**33 + 5))
_events = st.builds(
    LedgerEvent,
    kind=st.sampled_from(list(LedgerEventKind)),
    consumer_id=st.sampled_from(_IDS),
    timestamp=st.integers(-5, 70).map(lambda days: NOW - days * _DAY + days * 977),
    seeder_id=st.sampled_from(_IDS),
    cost_credits=_costs,
    flags=st.integers(0, 3),
    dispute_upheld=st.booleans(),
)
# Settlements as they sit in a tlog: mostly inside one 30-day window (a run the bulk path takes), sometimes
# 30+ days apart on one day index or before 1970 (runs it must refuse).
_settlement_times = st.one_of(
    st.integers(0, 29).map(lambda days: NOW - days * _DAY + days * 613),
    st.integers(-40, 70).map(lambda days: NOW - days * _DAY),
    st.just(-5 * _DAY + 17),
)
_settlements = st.tuples(
    st.sampled_from(_IDS), st.sampled_from(_IDS), _costs, st.integers(0, 3), _settlement_times
)


def _initial_state() -> dict[bytes, ConsumerCreditState]:
    state = ConsumerCreditState(first_seen_at=NOW - 90 * _DAY, last_balance_seen=2**63 - 3)
    state.set_bucket(BucketArray.SETTLEMENT, 5, DayBucket(2**32 - 1, 7, 0, NOW - 45 * _DAY))
    state.set_bucket(BucketArray.FLOW, 18, DayBucket(0, 2**32 - 2, 1, NOW - _DAY * 30))
    state.set_bucket(BucketArray.DISPUTE, 0, DayBucket(1, 1, 1, ZERO_TIME))
    state.set_bucket(BucketArray.FLOW, 3, DayBucket(4, 5, 6, NOW + 200 * _DAY))  # a stamp in the future
    return {_IDS[0]: state}


def _settlement_event(consumer: bytes, seeder: bytes, cost: int, flags: int, ts: int) -> LedgerEvent:
    return settlement(consumer, cost, seeder, ts, flags)


def _settlement_frames(settlements: list[tuple], first_ledger_seq: int = 1) -> bytes:
    return b"".join(
        encode_frame(
            (first_ledger_seq + offset) << 20,
            ts,
            TLogKind.SETTLEMENT,
            SettlementPayload(consumer, seeder, cost, flags).encode(),
        )
        for offset, (consumer, seeder, cost, flags, ts) in enumerate(settlements)
    )


def _find_run(data: bytes, offset: int = 0, first_ledger_seq: int = 1, limit: int | None = None) -> LedgerRun:
    """`find_ledger_run` with the tlog seq scheme (ledger entry L is seq L << 20)."""
    return find_ledger_run(data, offset, first_ledger_seq << 20, 1 << 20, limit)


def _expected(events: list[LedgerEvent]) -> dict[bytes, ConsumerCreditState]:
    expected = _initial_state()
    for event in events:
        apply_ledger_event(expected, event)
    return expected


def _run_frames(records: list[tuple[int, int, bytes]], first_ledger_seq: int = 1) -> bytes:
    """(kind, ts, payload) records as frames with contiguous ledger-derived seqs."""
    return b"".join(
        encode_frame((first_ledger_seq + offset) << 20, ts, kind, payload)
        for offset, (kind, ts, payload) in enumerate(records)
    )


def _events_of(records: list[tuple[int, int, bytes]]) -> list[LedgerEvent]:
    return [event for kind, ts, payload in records if (event := record_to_event(kind, ts, payload))]


_run_records = st.one_of(
    _settlements.map(
        lambda s: (TLogKind.SETTLEMENT, s[4], SettlementPayload(s[0], s[1], s[2], s[3]).encode())
    ),
    st.tuples(st.sampled_from(_IDS), _costs, st.sampled_from([1, 2, 0, 7]), _settlement_times).map(
        lambda t: (TLogKind.TRANSFER, t[3], TransferPayload(t[0], t[1], t[2]).encode())
    ),
    st.tuples(st.sampled_from([*_IDS, b"\x09" * 32]), _costs, _settlement_times).map(
        lambda t: (TLogKind.STARTER_GRANT, t[2], StarterGrantPayload(t[0], t[1]).encode())
    ),
)


@settings(max_examples=400, deadline=None)
@given(events=st.lists(_events, max_size=40))
def test_events_one_at_a_time_equal_apply_ledger_event(events: list[LedgerEvent]) -> None:
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    for event in events:
        bulk.apply(event)
    assert bulk.finish() == len(bulk_state)
    expected = _expected(events)
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)  # first-touch order, as a dict would have it


@settings(max_examples=500, deadline=None)
@given(
    before=st.lists(_events, max_size=10),
    records=st.lists(_run_records, min_size=1, max_size=60),
    after=st.lists(_events, max_size=10),
)
def test_a_ledger_run_equals_apply_ledger_event(
    before: list[LedgerEvent], records: list[tuple[int, int, bytes]], after: list[LedgerEvent]
) -> None:
    """Events, then a whole run of settlement / transfer / starter-grant frames, then events."""
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    for event in before:
        bulk.apply(event)
    run = _find_run(_run_frames(records))
    assert len(run) == len(records)
    bulk.apply_ledger_run(run)
    for event in after:
        bulk.apply(event)
    bulk.finish()
    expected = _expected([*before, *_events_of(records), *after])
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)


def test_runs_inside_one_window_are_taken_in_bulk() -> None:
    records = [
        (
            TLogKind.SETTLEMENT,
            NOW - (index % 30) * _DAY + index,
            SettlementPayload(_IDS[index % 3], _IDS[(index + 1) % 4], index, index % 2).encode(),
        )
        for index in range(300)
    ]
    records[100] = (TLogKind.STARTER_GRANT, NOW - 40 * _DAY, StarterGrantPayload(_IDS[1], 50).encode())
    records[200] = (TLogKind.TRANSFER, NOW, TransferPayload(_IDS[1], 7, TransferDirection.OUT).encode())
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    bulk.apply_ledger_run(_find_run(_run_frames(records)))
    assert bulk.records_in_runs == 300
    bulk.finish()
    assert bulk_state == _expected(_events_of(records))


@pytest.mark.parametrize(
    ("times", "in_bulk"),
    [
        ([NOW, NOW - 30 * _DAY], 3),  # two UTC days on one day index: split between them
        ([NOW, 5], 2),  # before the bulk range: that settlement alone, one by one
        ([NOW, 2**62 + 1], 2),  # after the bulk range: the same
    ],
)
def test_runs_split_where_the_bulk_preconditions_break(times: list[int], in_bulk: int) -> None:
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    records = [(TLogKind.SETTLEMENT, ts, SettlementPayload(_IDS[1], _IDS[2], 5, 0).encode()) for ts in times]
    records.append((TLogKind.STARTER_GRANT, NOW, StarterGrantPayload(_IDS[2], 9).encode()))
    bulk.apply_ledger_run(_find_run(_run_frames(records)))
    assert bulk.records_in_runs == in_bulk
    bulk.finish()
    assert bulk_state == _expected(_events_of(records))


def test_identities_sharing_their_first_eight_bytes_stay_apart() -> None:
    """The bulk id lookup sorts by the first 8 bytes; identities that share them are still told apart, new
    ones and known ones (from a snapshot, from single events, from an earlier run)."""
    first = bytes(8) + b"\x01" * 24
    second = bytes(8) + b"\x02" * 24
    third = bytes(8) + b"\x03" * 24
    known = {first: ConsumerCreditState(NOW - _DAY, 5)}
    settlements = [(first, second, 3, 0, NOW), (second, first, 4, 1, NOW), (third, second, 5, 0, NOW)]
    bulk_state = {identity: state.copy() for identity, state in known.items()}
    bulk = BulkReplay(bulk_state)
    bulk.apply_ledger_run(_find_run(_settlement_frames(settlements)))
    bulk.settlement(second, third, 1, 0, NOW)
    bulk.apply_ledger_run(_find_run(_settlement_frames(settlements, 4), 0, 4))
    assert bulk.records_in_runs == 6
    assert bulk.identities == 3
    bulk.finish()
    expected = {identity: state.copy() for identity, state in known.items()}
    for record in [*settlements, (second, third, 1, 0, NOW), *settlements]:
        apply_ledger_event(expected, _settlement_event(*record))
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)


def test_find_ledger_run_stops_at_the_first_frame_that_does_not_qualify() -> None:
    settlements = [(_IDS[0], _IDS[1], 1, 0, NOW)] * 5
    frames = _settlement_frames(settlements)
    dispute = encode_frame(6 << 20, NOW, TLogKind.DISPUTE_FILED, DisputePayload(_IDS[0], False).encode())
    assert len(_find_run(frames + dispute + frames)) == 5
    assert len(_find_run(frames, 0, 2)) == 0  # seqs start at 1, not 2
    gap = _settlement_frames(settlements[:2]) + _settlement_frames(settlements[:2], first_ledger_seq=4)
    assert len(_find_run(gap)) == 2
    local = encode_frame(
        (3 << 20) + 1, NOW, TLogKind.SETTLEMENT, SettlementPayload(_IDS[0], _IDS[1], 1, 0).encode()
    )
    assert len(_find_run(_settlement_frames(settlements[:2]) + local)) == 2
    long_grant = encode_frame(
        3 << 20, NOW, TLogKind.STARTER_GRANT, StarterGrantPayload(_IDS[0], 1).encode() + b"x"
    )
    assert len(_find_run(_settlement_frames(settlements[:2]) + long_grant)) == 2  # not exactly a grant
    corrupt = bytearray(frames)
    corrupt[3 * 101 + 50] ^= 0xFF
    assert len(_find_run(bytes(corrupt))) == 3
    assert len(_find_run(frames[:-1])) == 4  # a torn last frame is not part of a run
    assert len(_find_run(frames, 2 * 101, 3)) == 3
    assert len(_find_run(frames, 0, 1, limit=2)) == 2
    mixed = _run_frames(
        [
            (TLogKind.TRANSFER, NOW, TransferPayload(_IDS[0], 5, TransferDirection.IN).encode()),
            (TLogKind.STARTER_GRANT, NOW, StarterGrantPayload(_IDS[1], 5).encode()),
            (TLogKind.SETTLEMENT, NOW, SettlementPayload(_IDS[0], _IDS[1], 1, 0).encode()),
        ]
    )
    run = _find_run(mixed)
    assert run.kinds == [TLogKind.TRANSFER, TLogKind.STARTER_GRANT, TLogKind.SETTLEMENT]
    assert run.end == len(mixed)


def test_a_snapshot_read_in_place_equals_the_decoded_one() -> None:
    consumers = _initial_state()
    other = ConsumerCreditState(NOW, -5)
    other.set_bucket(BucketArray.DISPUTE, 29, DayBucket(0, 0, 0, NOW))  # written, though all counters zero
    consumers[_IDS[1]] = other
    consumers[_IDS[2]] = ConsumerCreditState()
    data = encode_snapshot(7, NOW, consumers, {})
    bulk_state: dict[bytes, ConsumerCreditState] = {}
    bulk = BulkReplay(bulk_state)
    bulk.adopt_snapshot(decode_snapshot_columns(data))
    bulk.finish()
    decoded = decode_snapshot(data).consumers
    assert bulk_state == decoded == consumers
    assert list(bulk_state) == list(consumers)


def test_a_snapshot_with_a_repeated_id_keeps_the_last_entry_at_the_first_position() -> None:
    first = encode_snapshot(7, NOW, {_IDS[0]: ConsumerCreditState(1, 1)}, {})
    second = encode_snapshot(7, NOW, {_IDS[1]: ConsumerCreditState(2, 2)}, {})
    third = encode_snapshot(7, NOW, _initial_state(), {})
    entry = slice(28, 28 + 1848)  # header (24 bytes) and consumer count, then the entry
    body = bytearray(first[:24]) + (3).to_bytes(4, "little")
    body += first[entry] + second[entry] + third[entry] + first[-8:-4]  # + seeder count 0
    data = bytes(body) + crc32c(bytes(body)).to_bytes(4, "little")
    bulk_state: dict[bytes, ConsumerCreditState] = {}
    bulk = BulkReplay(bulk_state)
    bulk.adopt_snapshot(decode_snapshot_columns(data))
    bulk.finish()
    decoded = decode_snapshot(data).consumers
    assert bulk_state == decoded
    assert list(bulk_state) == list(decoded) == [_IDS[0], _IDS[1]]
    assert bulk_state[_IDS[0]] == _initial_state()[_IDS[0]]


def test_adopting_a_snapshot_after_events_is_refused() -> None:
    bulk = BulkReplay({})
    bulk.apply(_settlement_event(_IDS[0], _IDS[1], 1, 0, NOW))
    with pytest.raises(RuntimeError):
        bulk.adopt_snapshot(decode_snapshot_columns(encode_snapshot(1, NOW, {}, {})))


# --- replay from disk: runs mixed with other records, damage, a snapshot ----------------------------------


def _mixed_tlog() -> list[bytes]:
    """Frames after a snapshot at ledger 1: settlements between a local dispute, transfers, a grant, and a
    stretch spanning two UTC days on one day index (where a bulk run splits)."""
    rng = random.Random(5)
    pool = [rng.randbytes(32) for _ in range(40)] + [ZERO_ID]
    frames: list[bytes] = []
    ledger = 1

    def settlements(count: int, times: list[int]) -> None:
        nonlocal ledger
        for _ in range(count):
            ledger += 1
            payload = SettlementPayload(
                rng.choice(pool), rng.choice(pool), rng.randrange(1000), rng.randrange(4)
            ).encode()
            frames.append(encode_frame(ledger << 20, rng.choice(times), TLogKind.SETTLEMENT, payload))

    window = [NOW - days * _DAY + days * 7 for days in range(30)]
    settlements(300, window)
    frames.append(
        encode_frame((ledger << 20) + 1, NOW, TLogKind.DISPUTE_FILED, DisputePayload(pool[0], False).encode())
    )
    settlements(400, window)
    ledger += 1
    transfer = TransferPayload(pool[1], 77, TransferDirection.OUT).encode()
    frames.append(encode_frame(ledger << 20, NOW, TLogKind.TRANSFER, transfer))
    settlements(10, window)
    ledger += 1
    grant = StarterGrantPayload(rng.randbytes(32), 1000).encode()
    frames.append(encode_frame(ledger << 20, NOW - 3 * _DAY, TLogKind.STARTER_GRANT, grant))
    settlements(300, [NOW, NOW - 30 * _DAY])
    ledger += 1
    frames.append(encode_frame(ledger << 20, NOW, TLogKind.TRANSFER, transfer))
    settlements(500, window)
    return frames


def _replay_copy(
    source: Path, target: Path, bulk: BulkReplay | None
) -> tuple[dict[bytes, ConsumerCreditState], ReplayReport]:
    shutil.copytree(source, target)
    consumers = bulk._consumers if bulk is not None else {}

    def install(snapshot: SnapshotData) -> None:
        consumers.clear()
        consumers.update(snapshot.consumers)

    report = replay_from_disk(
        tlog_path=str(target / "admission.tlog"),
        snapshot_prefix=str(target / "admission.snapshot"),
        install_snapshot=install,
        apply_event=lambda event: apply_ledger_event(consumers, event),
        bulk_factory=None if bulk is None else lambda: bulk,
        now=lambda: 1.0,
    )
    return consumers, report


@pytest.mark.parametrize("damage", ["none", "torn_tail", "bad_crc_inside_a_run", "seq_gap"])
def test_replay_from_disk_in_bulk_equals_one_by_one(tmp_path: Path, damage: str) -> None:
    source = tmp_path / "source"
    source.mkdir()
    snapshot_state = _initial_state()
    write_snapshot_file(
        snapshot_path(source / "admission.snapshot", 1 << 20),
        encode_snapshot(1 << 20, NOW, snapshot_state, {}),
    )
    frames = _mixed_tlog()
    if damage == "seq_gap":
        del frames[500]  # a lost stretch: records after it wait for the ledger
    data = b"".join(frames)
    if damage == "torn_tail":
        data = data[:-30]
    elif damage == "bad_crc_inside_a_run":
        corrupt = bytearray(data)
        corrupt[1200 * 101] ^= 0x40
        data = bytes(corrupt)
    (source / "admission.tlog").write_bytes(data)

    bulk = BulkReplay({})
    bulk_state, bulk_report = _replay_copy(source, tmp_path / "bulk", bulk)
    one_state, one_report = _replay_copy(source, tmp_path / "one", None)
    # Runs before the damage went in bulk (when nothing is damaged: every record but the local dispute).
    assert bulk.records_in_runs >= 300
    if damage == "none":
        assert bulk.records_in_runs == len(frames) - 1
    assert bulk_state == one_state
    assert list(bulk_state) == list(one_state)
    for name in (
        "snapshot_seq",
        "last_seq",
        "applied_seq",
        "ledger_contiguous",
        "floor",
        "tlog_records_read",
        "tlog_records_applied",
        "torn_tails_cut",
        "deferred_after_seq",
        "deferred_records",
        "degraded",
    ):
        assert getattr(bulk_report, name) == getattr(one_report, name), name
    assert [(d.offset, d.reason) for d in bulk_report.damage] == [
        (d.offset, d.reason) for d in one_report.damage
    ]
    assert (tmp_path / "bulk" / "admission.tlog").read_bytes() == (
        tmp_path / "one" / "admission.tlog"
    ).read_bytes()
    if damage == "none":
        assert bulk_report.tlog_records_applied == len(frames)


def test_columns_grow_past_their_first_capacity() -> None:
    """Thousands of new identities, some from single events and some from runs, each batch past the
    capacity the columns started with."""
    rng = random.Random(9)
    identities = [rng.randbytes(32) for _ in range(5000)]
    events = [
        _settlement_event(identities[index], identities[-1 - index], index, index % 2, NOW - index % 30 * 613)
        for index in range(1500)
    ]
    run = [
        (identities[1500 + index], rng.choice(identities), 7, 0, NOW - (index % 30) * _DAY)
        for index in range(3000)
    ]
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    for event in events:
        bulk.apply(event)
    bulk.apply_ledger_run(_find_run(_settlement_frames(run)))
    assert bulk.records_in_runs == len(run)
    bulk.finish()
    expected = _expected([*events, *(_settlement_event(*settlement) for settlement in run)])
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)


def test_ids_of_other_lengths_never_match_a_tlog_id() -> None:
    """An id that is not 32 bytes (possible in events, never in a tlog) is kept apart from the all-zero id."""
    odd: dict[bytes, ConsumerCreditState] = {
        b"": ConsumerCreditState(NOW, 1),
        b"\x00" * 5: ConsumerCreditState(),
    }
    rng = random.Random(4)
    events = [_settlement_event(rng.randbytes(32), ZERO_ID, 1, 0, NOW) for _ in range(1100)]  # index them
    bulk_state = {identity: state.copy() for identity, state in odd.items()}
    bulk = BulkReplay(bulk_state)
    for event in events:
        bulk.apply(event)
    records = [(ZERO_ID, _IDS[1], 3, 0, NOW), (_IDS[1], ZERO_ID, 4, 0, NOW)]
    bulk.apply_ledger_run(_find_run(_settlement_frames(records)))
    bulk.finish()
    expected = {identity: state.copy() for identity, state in odd.items()}
    for event in [*events, *(_settlement_event(*record) for record in records)]:
        apply_ledger_event(expected, event)
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)
