"""AdmissionService: persist-then-apply, replay, snapshots, the acceptance tests #9–#12 and #16
(admission.md §12), writer visibility through the fsync ticker, catch-up after gaps."""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import trio

from tests.admission._helpers import (
    KIND_STARTER_GRANT,
    KIND_TRANSFER_IN,
    KIND_TRANSFER_OUT,
    KIND_USAGE,
    NOW,
    FakeLedger,
    SimpleCore,
    admission_config,
    crash,
    dispute,
    make_id,
    make_id_i,
    metric_value,
    open_persistent,
    real_core,
    recompute,
    settlement,
)
from tracker.admission._errors import NotReplayedError
from tracker.admission._service import AdmissionService
from tracker.admission.core._decision import Outcome
from tracker.admission.persistence import _tlog_writer
from tracker.admission.persistence._seq import LEDGER_SEQ_SHIFT
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_format import TLogKind
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file


def _tlog_records(tmp_path: Path) -> list[tuple[int, int, int, bytes]]:
    found: list[tuple[int, int, int, bytes]] = []
    for path in enumerate_tlog_files(tmp_path / "admission.tlog"):
        scan_tlog_file(path, lambda *record: found.append(record))
    return found


def _feed(
    persistent: AdmissionService, ledger: FakeLedger, kind: int, consumer: bytes, **kwargs: object
) -> None:
    assert persistent.on_ledger_entry(ledger.append(kind, consumer, **kwargs))


async def test_entries_are_persisted_with_ledger_tied_seqs_and_replayed(tmp_path: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    _feed(persistent, ledger, KIND_STARTER_GRANT, make_id(1), cost=1000)
    _feed(persistent, ledger, KIND_USAGE, make_id(1), seeder=make_id(2), cost=30)
    _feed(persistent, ledger, KIND_TRANSFER_OUT, make_id(1), cost=5)
    _feed(persistent, ledger, KIND_TRANSFER_IN, bytes(32), cost=7, recipient=make_id(3))
    assert persistent.core.consumers == recompute(ledger.entries)
    await persistent.flush()
    records = _tlog_records(tmp_path)
    assert [(seq, kind) for seq, _, kind, _ in records] == [
        (1 << LEDGER_SEQ_SHIFT, TLogKind.STARTER_GRANT),
        (2 << LEDGER_SEQ_SHIFT, TLogKind.SETTLEMENT),
        (3 << LEDGER_SEQ_SHIFT, TLogKind.TRANSFER),
        (4 << LEDGER_SEQ_SHIFT, TLogKind.TRANSFER),
    ]
    crash(persistent)
    reopened = await open_persistent(tmp_path, ledger=ledger)
    assert reopened.core.consumers == recompute(ledger.entries)
    assert reopened.replay_report.cross_check_applied == 0
    assert reopened.last_seq == 4 << LEDGER_SEQ_SHIFT
    # A duplicate delivery is ignored; the next entry continues the sequence.
    assert not reopened.on_ledger_entry(ledger.entries[-1])
    _feed(reopened, ledger, KIND_USAGE, make_id(3), cost=1)
    assert reopened.core.consumers == recompute(ledger.entries)
    await reopened.aclose()


async def test_events_before_replay_are_refused(tmp_path: Path) -> None:
    persistent = AdmissionService(SimpleCore(), admission_config(tmp_path))
    with pytest.raises(NotReplayedError):
        persistent.on_ledger_event(settlement(make_id(1)))


async def test_acceptance_9_crash_mid_event_cross_check_fills_gap(tmp_path: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(10):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=5)
    await persistent.flush()
    crash(persistent)
    ledger.append(KIND_USAGE, make_id_i(42), cost=5)  # committed, never reached the tlog
    reopened = await open_persistent(tmp_path, ledger=ledger)
    consumers = reopened.core.consumers
    assert len(consumers) == 11
    assert all(state.sums().total_settled == 1 for state in consumers.values())  # exactly once, not twice
    assert consumers == recompute(ledger.entries)
    assert reopened.replay_report.cross_check_applied == 1
    await reopened.aclose()
    # The gap entry was appended to the tlog by the cross-check, once.
    seqs = [seq for seq, _, kind, _ in _tlog_records(tmp_path) if kind == TLogKind.SETTLEMENT]
    assert seqs == [seq << LEDGER_SEQ_SHIFT for seq in range(1, 12)]


async def test_acceptance_9_unflushed_records_are_recovered_from_the_ledger(tmp_path: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(5):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=10)
    await persistent.flush()
    _feed(persistent, ledger, KIND_USAGE, make_id_i(99), cost=10)  # buffered only: lost in the crash
    crash(persistent)
    reopened = await open_persistent(tmp_path, ledger=ledger)
    assert reopened.core.consumers == recompute(ledger.entries)
    assert make_id_i(99) in reopened.core.consumers
    await reopened.aclose()


async def test_empty_tlog_and_ledger_with_one_settlement(tmp_path: Path) -> None:
    ledger = FakeLedger()
    ledger.append(KIND_USAGE, make_id_i(99), cost=1)
    persistent = await open_persistent(tmp_path, ledger=ledger)
    assert make_id_i(99) in persistent.core.consumers
    await persistent.aclose()


@pytest.mark.parametrize("offset", [30, 20])
async def test_acceptance_10_mid_file_corruption_counted_decisions_flow(tmp_path: Path, offset: int) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(5):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=1)
    await persistent.flush()
    crash(persistent)
    tlog = tmp_path / "admission.tlog"
    data = bytearray(tlog.read_bytes())
    data[offset] ^= 0xFF
    tlog.write_bytes(bytes(data))

    core = real_core(tmp_path)
    reopened = await open_persistent(tmp_path, core=core, ledger=ledger)
    assert reopened.tlog_corruptions == 1
    assert metric_value(reopened.persistence_metrics, "tlog_corruption_records") == 1
    assert reopened.degraded_mode and core.degraded_mode
    assert core.metrics.registry.get_sample_value("admission_degraded_mode_active") == 1
    # The damaged file is kept aside, never deleted; the good prefix (nothing before frame 1) stays in place.
    aside = list(tmp_path.glob("admission.tlog.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(data)
    # Decisions still flow and the ledger cross-check restored every entry exactly once.
    assert core.decide(make_id(0x77), None, NOW).outcome == Outcome.ADMIT
    assert core.consumers == recompute(ledger.entries)
    # The recovered state was captured right away and later appends are readable.
    assert enumerate_snapshots(tmp_path / "admission.snapshot")
    _feed(reopened, ledger, KIND_USAGE, make_id_i(7), cost=1)
    await reopened.aclose()
    assert scan_tlog_file(tlog).clean


async def test_corruption_in_the_middle_recovers_every_frame_after_it(tmp_path: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(5):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=1)
    filed = dispute(make_id_i(1))
    await persistent.on_dispute_event(filed)
    for index in range(5, 8):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=1)
    await persistent.flush()
    crash(persistent)
    tlog = tmp_path / "admission.tlog"
    data = bytearray(tlog.read_bytes())
    data[3 * 101 + 40] ^= 0x01  # inside the 4th frame (ledger entry 4)
    tlog.write_bytes(bytes(data))
    reopened = await open_persistent(tmp_path, ledger=ledger, snapshot_path_prefix="")
    report = reopened.replay_report
    # Frames 1-3 applied; the frames after the damaged one were read back (resynchronised), waited behind the
    # hole at ledger entry 4, and were merged in order with the entries the ledger restored.
    assert report.tlog_records_applied == 3 and report.deferred_records == 5
    assert report.damage[0].ranges == [(3 * 101, 4 * 101)] and report.lost_local_records == 0
    aside = list(tmp_path.glob("admission.tlog.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(data)  # quarantined untouched
    # Under the original name: every valid frame (the damaged one removed).
    assert tlog.read_bytes()[: 8 * 101] == bytes(data[: 3 * 101] + data[4 * 101 : 9 * 101])
    assert scan_tlog_file(tlog).clean
    # The dispute (its only copy is the tlog) survived the damage before it; ledger entries are exact.
    assert reopened.core.consumers == recompute(ledger.entries, [(5, filed)])
    assert reopened.degraded_mode
    await reopened.aclose()


@pytest.mark.parametrize("fast_replay", [True, False])
async def test_damaged_dispute_frame_costs_that_record_only(tmp_path: Path, fast_replay: bool) -> None:
    persistent = await open_persistent(tmp_path, snapshot_path_prefix="")
    events = [dispute(make_id_i(index)) for index in range(30)]
    for event in events:
        assert await persistent.on_dispute_event(event)
    crash(persistent)
    tlog = tmp_path / "admission.tlog"
    data = bytearray(tlog.read_bytes())
    frame = len(data) // 30
    data[10 * frame : 10 * frame + 4] = b"\x00\x10\x00\x00"  # a length far too large (1 MiB)
    tlog.write_bytes(bytes(data))
    core = SimpleCore()
    reopened = await open_persistent(tmp_path, core=core, snapshot_path_prefix="", fast_replay=fast_replay)
    assert core.consumers == recompute([], [(0, event) for index, event in enumerate(events) if index != 10])
    assert reopened.replay_report.lost_local_records == 1
    assert metric_value(reopened.persistence_metrics, "tlog_local_records_lost") == 1
    assert reopened.degraded_mode
    await reopened.aclose()


async def test_acceptance_11_newest_snapshot_deleted_older_plus_tlog(tmp_path: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(200):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=1)
    first = await persistent.snapshot_now()
    for index in range(200, 400):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=1)
    second = await persistent.snapshot_now()
    await persistent.flush()
    crash(persistent)
    assert first is not None and second is not None
    assert [seq for seq, _ in enumerate_snapshots(tmp_path / "admission.snapshot")] == [
        200 << LEDGER_SEQ_SHIFT,
        400 << LEDGER_SEQ_SHIFT,
    ]
    second.unlink()
    reopened = await open_persistent(tmp_path)  # no ledger source: snapshot 200 + tlog records after it
    assert len(reopened.core.consumers) == 400
    assert reopened.replay_report.snapshot_path == first
    assert reopened.replay_report.tlog_records_applied == 200
    assert reopened.core.consumers == recompute(ledger.entries)
    assert not reopened.degraded_mode
    await reopened.aclose()


async def test_acceptance_12_all_snapshots_corrupt_degraded_decisions_flow(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path)
    for seq_hint in range(3):
        await persistent.snapshot_now()
        persistent.on_ledger_event(settlement(make_id(seq_hint + 1)))
    await persistent.flush()
    crash(persistent)
    snapshots = enumerate_snapshots(tmp_path / "admission.snapshot")
    assert len(snapshots) == 3
    for _, path in snapshots:
        data = bytearray(path.read_bytes())
        data[30] ^= 0xFF
        path.write_bytes(bytes(data))
    core = real_core(tmp_path)
    reopened = await open_persistent(tmp_path, core=core)
    assert reopened.degraded_mode and core.degraded_mode
    assert reopened.snapshot_load_failures == 3
    assert metric_value(reopened.persistence_metrics, "snapshot_load_failures") == 3
    assert core.decide(make_id(0x55), None, NOW).outcome == Outcome.ADMIT
    # The tlog still holds every event: nothing is lost.
    assert set(core.consumers) == {make_id(1), make_id(2), make_id(3)}
    await reopened.aclose()


async def test_acceptance_12_variant_newest_corrupt_falls_back(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path)
    persistent.on_ledger_event(settlement(make_id(1)))
    await persistent.snapshot_now()
    persistent.on_ledger_event(settlement(make_id(2)))
    newest = await persistent.snapshot_now()
    await persistent.flush()
    crash(persistent)
    assert newest is not None
    newest.write_bytes(newest.read_bytes()[:-1] + b"\x00")
    reopened = await open_persistent(tmp_path)
    assert not reopened.degraded_mode
    assert reopened.snapshot_load_failures == 1
    assert set(reopened.core.consumers) == {make_id(1), make_id(2)}
    await reopened.aclose()


async def test_acceptance_16_one_record_per_settlement(tmp_path: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(1000):
        _feed(persistent, ledger, KIND_USAGE, make_id_i(index), cost=1)
    await persistent.aclose()
    kinds = [kind for _, _, kind, _ in _tlog_records(tmp_path)]
    assert kinds.count(TLogKind.SETTLEMENT) == 1000
    assert kinds.count(TLogKind.SNAPSHOT_MARK) == 1  # the final snapshot on close
    assert len(kinds) == 1001


async def test_snapshot_retention_and_mark(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path, snapshots_retained=2)
    for index in range(3):
        persistent.on_ledger_event(settlement(make_id(index + 1)))
        await persistent.snapshot_now()
    await persistent.flush()
    assert len(enumerate_snapshots(tmp_path / "admission.snapshot")) == 2
    records = _tlog_records(tmp_path)
    assert records[-1][2] == TLogKind.SNAPSHOT_MARK
    assert records[-1][0] == 0
    await persistent.aclose()


async def test_dispute_is_durable_before_apply_and_replayed_once(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path, fsync_batch_window_ms=3_600_000)
    assert await persistent.on_dispute_event(dispute(make_id(9)))
    assert await persistent.on_dispute_event(dispute(make_id(9), upheld=True))
    assert not await persistent.on_dispute_event(dispute(make_id(9), upheld=False))  # nothing to persist
    # Readable at once, without any flush.
    assert [kind for _, _, kind, _ in _tlog_records(tmp_path)] == [
        TLogKind.DISPUTE_FILED,
        TLogKind.DISPUTE_RESOLVED,
    ]
    expected = persistent.core.consumers[make_id(9)].copy()
    crash(persistent)
    reopened = await open_persistent(tmp_path)
    assert reopened.core.consumers == {make_id(9): expected}
    sums = reopened.core.consumers[make_id(9)].sums()
    assert (sums.filed, sums.upheld) == (1, 1)
    with pytest.raises(ValueError, match="on_dispute_event"):
        reopened.on_ledger_event(dispute(make_id(9)))
    await reopened.aclose()


async def test_failed_append_is_not_applied_and_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    persistent = await open_persistent(tmp_path)

    def fail(fd: int, data: object) -> int:
        raise OSError(errno.EIO, "Input/output error")

    real_write = os.write
    monkeypatch.setattr(_tlog_writer.os, "write", fail)
    assert not await persistent.on_dispute_event(dispute(make_id(4)))
    assert make_id(4) not in persistent.core.consumers
    assert persistent.append_failures == 1
    assert metric_value(persistent.persistence_metrics, "tlog_append_failures") == 1
    monkeypatch.setattr(_tlog_writer.os, "write", real_write)
    await persistent.aclose()


async def _eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Poll (real time bounded) while worker threads finish; with MockClock the mock time barely moves."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await trio.sleep(0.001)


async def test_gap_in_live_entries_is_caught_up_by_the_ticker(tmp_path: Path, autojump_clock: object) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(tmp_path, ledger=ledger)
    first = ledger.append(KIND_USAGE, make_id(1), cost=1)
    ledger.append(KIND_USAGE, make_id(2), cost=1)  # its callback never arrives
    third = ledger.append(KIND_USAGE, make_id(3), cost=1)
    assert persistent.on_ledger_entry(first)
    assert not persistent.on_ledger_entry(third)
    assert persistent.behind
    async with trio.open_nursery() as nursery:
        await nursery.start(persistent.run_fsync_ticker)
        await _eventually(lambda: not persistent.behind)
        nursery.cancel_scope.cancel()
    assert persistent.core.consumers == recompute(ledger.entries)
    await persistent.aclose()
    reopened = await open_persistent(tmp_path, ledger=ledger)
    assert reopened.core.consumers == recompute(ledger.entries)
    await reopened.aclose()


async def test_settlement_visible_within_one_fsync_window(tmp_path: Path) -> None:
    # Real clock (the Go test's numbers): 50 ms window, visible after 150 ms.
    persistent = await open_persistent(tmp_path, fsync_batch_window_ms=50)
    async with trio.open_nursery() as nursery:
        await nursery.start(persistent.run_fsync_ticker)
        persistent.on_ledger_event(settlement(make_id(1)))
        assert _tlog_records(tmp_path) == []
        await trio.sleep(0.15)
        assert [kind for _, _, kind, _ in _tlog_records(tmp_path)] == [TLogKind.SETTLEMENT]
        nursery.cancel_scope.cancel()
    await persistent.aclose()


async def test_fsync_ticker_touches_the_disk_only_when_something_is_not_yet_durable(tmp_path: Path) -> None:
    # Real clock, 5 ms window: an idle region costs no write, no fsync (and no worker thread) per tick; a
    # record is written and fsynced within a window; a record written without fsync is fsynced by the next
    # tick.
    persistent = await open_persistent(tmp_path, fsync_batch_window_ms=5)
    metrics = persistent.persistence_metrics
    await persistent.flush(fsync=True)  # what start-up left buffered
    fsyncs = metric_value(metrics, "tlog_fsyncs")
    tlog = tmp_path / "admission.tlog"
    size = tlog.stat().st_size
    async with trio.open_nursery() as nursery:
        await nursery.start(persistent.run_fsync_ticker)
        await trio.sleep(0.2)  # about 40 ticks
        assert metric_value(metrics, "tlog_fsyncs") == fsyncs
        assert tlog.stat().st_size == size
        persistent.on_ledger_event(settlement(make_id(1)))
        await _eventually(lambda: metric_value(metrics, "tlog_fsyncs") == fsyncs + 1)
        assert [kind for _, _, kind, _ in _tlog_records(tmp_path)] == [TLogKind.SETTLEMENT]
        await trio.sleep(0.2)
        assert metric_value(metrics, "tlog_fsyncs") == fsyncs + 1
        persistent.on_ledger_event(settlement(make_id(2)))
        await persistent.flush(fsync=False)  # written, not yet durable
        assert len(_tlog_records(tmp_path)) == 2
        await _eventually(lambda: metric_value(metrics, "tlog_fsyncs") == fsyncs + 2)
        await trio.sleep(0.2)
        assert metric_value(metrics, "tlog_fsyncs") == fsyncs + 2
        nursery.cancel_scope.cancel()
    await persistent.aclose()


async def test_snapshot_ticker_emits_every_interval(tmp_path: Path, autojump_clock: object) -> None:
    persistent = await open_persistent(tmp_path, snapshot_interval_s=600)
    async with trio.open_nursery() as nursery:
        await nursery.start(persistent.run_snapshot_ticker)
        persistent.on_ledger_event(settlement(make_id(1)))
        await trio.sleep(599)
        assert enumerate_snapshots(tmp_path / "admission.snapshot") == []
        await trio.sleep(2)
        # Wait until snapshot_now has returned (the ticker's next 600 s start then), not just for the file.
        await _eventually(lambda: persistent.last_snapshot_path is not None)
        assert len(enumerate_snapshots(tmp_path / "admission.snapshot")) == 1
        persistent.on_ledger_event(settlement(make_id(2)))
        await trio.sleep(600)
        await _eventually(lambda: len(enumerate_snapshots(tmp_path / "admission.snapshot")) == 2)
        nursery.cancel_scope.cancel()
    await persistent.aclose()


async def test_seqs_never_go_backwards_across_restarts(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path)
    for index in range(3):
        persistent.on_ledger_event(settlement(make_id(index + 1)))
    await persistent.aclose()
    first_last = persistent.last_seq
    reopened = await open_persistent(tmp_path)
    assert reopened.last_seq == first_last
    reopened.record_operator_override("anonymous", "snapshot", {}, now=NOW)
    reopened.on_ledger_event(settlement(make_id(9)))
    await reopened.aclose()
    seqs = [seq for seq, _, kind, _ in _tlog_records(tmp_path) if kind != TLogKind.SNAPSHOT_MARK]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    snapshot_seqs = [seq for seq, _ in enumerate_snapshots(tmp_path / "admission.snapshot")]
    assert snapshot_seqs == sorted(snapshot_seqs) and snapshot_seqs[-1] == reopened.last_seq


async def test_torn_tail_is_cut_so_new_appends_are_readable(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path)
    persistent.on_ledger_event(settlement(make_id(1)))
    await persistent.flush()
    crash(persistent)
    tlog = tmp_path / "admission.tlog"
    with open(tlog, "ab") as handle:
        handle.write(b"\x00\x00\x00\x61\x00\x00")  # a frame cut short by the crash
    reopened = await open_persistent(tmp_path)
    assert reopened.replay_report.torn_tails_cut == 1 and not reopened.degraded_mode
    reopened.on_ledger_event(settlement(make_id(2)))
    await reopened.flush()
    scan = scan_tlog_file(tlog)
    assert scan.clean and scan.records == 2
    crash(reopened)
    again = await open_persistent(tmp_path)
    assert set(again.core.consumers) == {make_id(1), make_id(2)}
    await again.aclose()


async def test_ledger_failure_during_cross_check_leaves_admission_behind(tmp_path: Path) -> None:
    ledger = FakeLedger()
    ledger.append(KIND_USAGE, make_id(1), cost=1)
    ledger.fail = True
    persistent = await open_persistent(tmp_path, ledger=ledger)
    assert persistent.behind
    ledger.fail = False
    assert await persistent.catch_up() == 1
    assert persistent.core.consumers == recompute(ledger.entries)
    await persistent.aclose()


async def test_writer_closed_on_aclose_and_final_snapshot(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path)
    persistent.on_ledger_event(settlement(make_id(1)))
    await persistent.aclose()
    await persistent.aclose()  # idempotent
    assert persistent.writer is not None and persistent.writer.closed
    assert len(enumerate_snapshots(tmp_path / "admission.snapshot")) == 1


async def _write_ledger_records(tmp_path: Path, ledger: FakeLedger, ledger_seqs: list[int]) -> None:
    """tlog records for the given ledger entries only (as if the others were lost), written directly."""
    from tracker.admission.core._events import event_from_committed_entry
    from tracker.admission.persistence._records import event_to_record
    from tracker.admission.persistence._tlog_writer import TLogWriter

    writer = TLogWriter.open(tmp_path / "admission.tlog")
    for seq in ledger_seqs:
        event = event_from_committed_entry(ledger.entries[seq - 1])
        assert event is not None
        kind, payload = event_to_record(event)  # type: ignore[misc]
        writer.append(seq << LEDGER_SEQ_SHIFT, event.timestamp, kind, payload)
    writer.close_sync()


@pytest.mark.parametrize("fast_replay", [True, False])
async def test_hole_in_the_tlog_is_filled_from_the_ledger_in_order(tmp_path: Path, fast_replay: bool) -> None:
    ledger = FakeLedger()
    ledger.append(KIND_STARTER_GRANT, make_id(1), cost=1000, timestamp=NOW - 5 * 86400)
    ledger.append(KIND_USAGE, make_id(2), seeder=make_id(1), cost=10, timestamp=NOW - 3 * 86400)
    ledger.append(KIND_STARTER_GRANT, make_id(2), cost=500, timestamp=NOW - 4 * 86400)
    ledger.append(KIND_USAGE, make_id(1), seeder=make_id(2), cost=7)
    await _write_ledger_records(tmp_path, ledger, [1, 3, 4])  # entry 2 never reached the disk
    persistent = await open_persistent(tmp_path, ledger=ledger, fast_replay=fast_replay)
    report = persistent.replay_report
    assert report.tlog_records_applied == 1 and report.deferred_after_seq == 1 << LEDGER_SEQ_SHIFT
    assert report.cross_check_applied == 3
    assert persistent.core.consumers == recompute(ledger.entries)  # same order, so the same first_seen_at
    await persistent.aclose()


async def test_hole_without_a_ledger_applies_what_the_tlog_has(tmp_path: Path) -> None:
    ledger = FakeLedger()
    for index in range(4):
        ledger.append(KIND_USAGE, make_id(index + 1), cost=3)
    await _write_ledger_records(tmp_path, ledger, [1, 3, 4])
    persistent = await open_persistent(tmp_path)
    assert set(persistent.core.consumers) == {make_id(1), make_id(3), make_id(4)}
    assert persistent.ledger_seq == 4
    await persistent.aclose()
