"""Bulk replay (`BulkReplay`, `find_settlement_run`) gives exactly the state of applying each event with
`apply_ledger_event` (§6), whether events come one at a time, as whole runs of settlement frames, or from a
snapshot read in place."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.admission._events import ZERO_ID, LedgerEvent, LedgerEventKind, apply_ledger_event
from tracker.admission._replay import ReplayReport, replay_from_disk
from tracker.admission._replay_bulk import BulkReplay, find_settlement_run
from tracker.admission._snapshot_format import (
    SnapshotData,
    decode_snapshot,
    decode_snapshot_columns,
    encode_snapshot,
)
from tracker.admission._snapshot_store import snapshot_path, write_snapshot_file
from tracker.admission._state import ZERO_TIME, BucketArray, ConsumerCreditState, DayBucket
from tracker.admission._tlog_format import (
    DisputePayload,
    SettlementPayload,
    StarterGrantPayload,
    TLogKind,
    TransferDirection,
    TransferPayload,
    crc32c,
    encode_frame,
)

from ._helpers import NOW

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
    return LedgerEvent(
        kind=LedgerEventKind.SETTLEMENT,
        consumer_id=consumer,
        seeder_id=seeder,
        cost_credits=cost,
        flags=flags,
        timestamp=ts,
    )


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


def _expected(events: list[LedgerEvent]) -> dict[bytes, ConsumerCreditState]:
    expected = _initial_state()
    for event in events:
        apply_ledger_event(expected, event)
    return expected


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


@settings(max_examples=400, deadline=None)
@given(
    before=st.lists(_events, max_size=10),
    settlements=st.lists(_settlements, min_size=1, max_size=60),
    after=st.lists(_events, max_size=10),
)
def test_a_settlement_run_equals_apply_ledger_event(
    before: list[LedgerEvent], settlements: list[tuple], after: list[LedgerEvent]
) -> None:
    """Events, then a whole run of settlement frames, then events. A refused run changes nothing and is
    then applied one record at a time (what replay does)."""
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    for event in before:
        bulk.apply(event)
    data = _settlement_frames(settlements)
    run = find_settlement_run(data, 0, 1)
    assert len(run) == len(settlements)
    if not bulk.apply_settlement_run(run):
        for settlement in settlements:
            bulk.settlement(*settlement)
    for event in after:
        bulk.apply(event)
    bulk.finish()
    expected = _expected([*before, *(_settlement_event(*s) for s in settlements), *after])
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)


def test_runs_inside_one_window_are_taken_in_bulk() -> None:
    settlements = [
        (_IDS[index % 3], _IDS[(index + 1) % 4], index, index % 2, NOW - (index % 30) * _DAY + index)
        for index in range(300)
    ]
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    assert bulk.apply_settlement_run(find_settlement_run(_settlement_frames(settlements), 0, 1))
    bulk.finish()
    assert bulk_state == _expected([_settlement_event(*s) for s in settlements])


@pytest.mark.parametrize(
    ("times", "why"),
    [
        ([NOW, NOW - 30 * _DAY], "two UTC days on one day index"),
        ([NOW, 5], "a timestamp before the bulk range"),
        ([NOW, 2**62 + 1], "a timestamp after the bulk range"),
    ],
)
def test_runs_outside_the_preconditions_are_refused_unchanged(times: list[int], why: str) -> None:
    bulk_state = _initial_state()
    bulk = BulkReplay(bulk_state)
    settlements = [(_IDS[1], _IDS[2], 5, 0, ts) for ts in times]
    assert not bulk.apply_settlement_run(find_settlement_run(_settlement_frames(settlements), 0, 1)), why
    assert bulk.identities == 1
    bulk.finish()
    assert bulk_state == _initial_state()


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
    assert bulk.apply_settlement_run(find_settlement_run(_settlement_frames(settlements), 0, 1))
    bulk.settlement(second, third, 1, 0, NOW)
    assert bulk.apply_settlement_run(find_settlement_run(_settlement_frames(settlements, 4), 0, 4))
    assert bulk.identities == 3
    bulk.finish()
    expected = {identity: state.copy() for identity, state in known.items()}
    for settlement in [*settlements, (second, third, 1, 0, NOW), *settlements]:
        apply_ledger_event(expected, _settlement_event(*settlement))
    assert bulk_state == expected
    assert list(bulk_state) == list(expected)


def test_find_settlement_run_stops_at_the_first_frame_that_does_not_qualify() -> None:
    settlements = [(_IDS[0], _IDS[1], 1, 0, NOW)] * 5
    frames = _settlement_frames(settlements)
    dispute = encode_frame(6 << 20, NOW, TLogKind.DISPUTE_FILED, DisputePayload(_IDS[0], False).encode())
    assert len(find_settlement_run(frames + dispute + frames, 0, 1)) == 5
    assert len(find_settlement_run(frames, 0, 2)) == 0  # seqs start at 1, not 2
    gap = _settlement_frames(settlements[:2]) + _settlement_frames(settlements[:2], first_ledger_seq=4)
    assert len(find_settlement_run(gap, 0, 1)) == 2
    local = encode_frame(
        (3 << 20) + 1, NOW, TLogKind.SETTLEMENT, SettlementPayload(_IDS[0], _IDS[1], 1, 0).encode()
    )
    assert len(find_settlement_run(_settlement_frames(settlements[:2]) + local, 0, 1)) == 2
    corrupt = bytearray(frames)
    corrupt[3 * 101 + 50] ^= 0xFF
    assert len(find_settlement_run(bytes(corrupt), 0, 1)) == 3
    assert len(find_settlement_run(frames[:-1], 0, 1)) == 4  # a torn last frame is not part of a run
    assert len(find_settlement_run(frames, 2 * 101, 3)) == 3
    assert len(find_settlement_run(frames, 0, 1, limit=2)) == 2


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
    """Frames after a snapshot at ledger 1: settlement runs of 300, 400 and 500 (taken whole) between a local
    dispute, transfers, a grant, a short run and a run spanning two UTC days on one day index (refused)."""
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
        bulk=bulk,
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
    # The long runs before the damage went in whole (all three, 1200 settlements, when nothing is damaged).
    assert bulk.records_in_runs >= 300
    if damage == "none":
        assert bulk.records_in_runs == 1200
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
