"""The snapshot taken at once after a tlog repair never replaces a snapshot file under the same name with
other bytes: an unreadable one is moved aside first (its bytes kept), an identical state keeps the file as
it is, and retention counts real snapshots."""

from __future__ import annotations

from pathlib import Path

from tests.admission._helpers import KIND_USAGE, FakeLedger, crash, make_id_i, open_persistent, recompute
from tracker.admission._service import AdmissionService
from tracker.admission.core._state import BucketArray, ConsumerCreditState, DayBucket, SeederHeartbeatState
from tracker.admission.persistence._seq import LEDGER_SEQ_SHIFT
from tracker.admission.persistence._snapshot_format import encode_snapshot
from tracker.admission.persistence._snapshot_store import (
    enumerate_snapshots,
    prune_snapshots,
    read_snapshot_file,
    snapshot_path,
    store_snapshot,
    write_snapshot_file,
)

_FRAME = 101  # one usage (settlement) frame


def _feed(persistent: AdmissionService, ledger: FakeLedger, index: int) -> None:
    assert persistent.on_ledger_entry(ledger.append(KIND_USAGE, make_id_i(index), cost=1))


def _damage_first_frame(tlog: Path) -> None:
    data = bytearray(tlog.read_bytes())
    data[_FRAME + 40] ^= 0x01  # inside the 2nd frame: frames after it resynchronise, the file is repaired
    tlog.write_bytes(bytes(data))


async def _two_snapshots(tmp_path: Path, ledger: FakeLedger) -> tuple[Path, Path]:
    persistent = await open_persistent(tmp_path, ledger=ledger)
    for index in range(3):
        _feed(persistent, ledger, index)
    older = await persistent.snapshot_now()
    for index in range(3, 5):
        _feed(persistent, ledger, index)
    newest = await persistent.snapshot_now()
    await persistent.flush()
    crash(persistent)
    assert older is not None and newest is not None
    return older, newest


async def test_an_unreadable_snapshot_at_the_repair_seq_is_kept_aside_not_overwritten(tmp_path: Path) -> None:
    ledger = FakeLedger()
    older, newest = await _two_snapshots(tmp_path, ledger)
    older_bytes = older.read_bytes()
    damaged = newest.read_bytes()[:-1] + b"\x00"  # trailer CRC mismatch: unreadable
    newest.write_bytes(damaged)
    _damage_first_frame(tmp_path / "admission.tlog")

    reopened = await open_persistent(tmp_path, ledger=ledger)
    assert reopened.replay_report.damage and reopened.replay_report.unusable_snapshots == [newest]
    assert reopened.core.consumers == recompute(ledger.entries)
    # The damaged snapshot's bytes are kept aside, untouched.
    aside = list(tmp_path.glob(f"{newest.name}.damaged-*"))
    assert [path.read_bytes() for path in aside] == [damaged]
    # The snapshot taken after the repair is under its own name, readable, with the recovered state; the older
    # snapshot is byte-identical: two real snapshots are retained.
    assert [seq for seq, _ in enumerate_snapshots(tmp_path / "admission.snapshot")] == [
        3 << LEDGER_SEQ_SHIFT,
        5 << LEDGER_SEQ_SHIFT,
    ]
    assert older.read_bytes() == older_bytes
    recovered = read_snapshot_file(newest)
    assert recovered.seq == 5 << LEDGER_SEQ_SHIFT and set(recovered.consumers) == set(reopened.core.consumers)
    await reopened.aclose()


async def test_a_snapshot_of_the_same_state_is_kept_byte_identical(tmp_path: Path) -> None:
    ledger = FakeLedger()
    _, newest = await _two_snapshots(tmp_path, ledger)
    newest_bytes = newest.read_bytes()
    _damage_first_frame(tmp_path / "admission.tlog")
    clock = iter(range(2_000_000_000, 2_000_001_000, 100))  # every read of the clock a later second

    reopened = await open_persistent(tmp_path, ledger=ledger, clock=lambda: float(next(clock)))
    assert reopened.replay_report.damage and reopened.last_seq == 5 << LEDGER_SEQ_SHIFT
    # The repair recovered exactly the state the newest snapshot holds: that file stays as it was.
    assert newest.read_bytes() == newest_bytes
    assert len(enumerate_snapshots(tmp_path / "admission.snapshot")) == 2
    await reopened.aclose(final_snapshot=False)


def _consumers(*credits: int) -> dict[bytes, ConsumerCreditState]:
    consumers = {}
    for index, total in enumerate(credits):
        state = ConsumerCreditState(first_seen_at=1_700_000_000, last_balance_seen=total)
        state.set_bucket(BucketArray.SETTLEMENT, 3, DayBucket(total, total, 0, 1_700_000_000))
        consumers[bytes([index + 1]) * 32] = state
    return consumers


def _seeders(heartbeats: int) -> dict[bytes, SeederHeartbeatState]:
    return {
        b"\x55" * 32: SeederHeartbeatState(last_bucket_roll_at=heartbeats, last_headroom_ts=1_700_000_000)
    }


def test_store_snapshot_keeps_the_same_state_whatever_its_time_and_entry_order(tmp_path: Path) -> None:
    path = snapshot_path(tmp_path / "admission.snapshot", 7)
    consumers = _consumers(5, 6, 7)
    write_snapshot_file(path, encode_snapshot(7, 1_000, consumers, _seeders(1)))
    before = path.read_bytes()
    reordered = dict(reversed(list(consumers.items())))
    stored = store_snapshot(path, encode_snapshot(7, 2_000, reordered, _seeders(1)))
    assert not stored.written and stored.moved_aside is None
    assert path.read_bytes() == before
    assert [candidate.name for candidate in tmp_path.iterdir()] == [path.name]


def test_store_snapshot_replaces_older_seeder_counters_of_the_same_position(tmp_path: Path) -> None:
    path = snapshot_path(tmp_path / "admission.snapshot", 7)
    write_snapshot_file(path, encode_snapshot(7, 1_000, _consumers(5), _seeders(1)))
    newer = encode_snapshot(7, 2_000, _consumers(5), _seeders(2))
    stored = store_snapshot(path, newer)
    assert stored.written and stored.moved_aside is None
    assert path.read_bytes() == newer
    assert [candidate.name for candidate in tmp_path.iterdir()] == [path.name]


def test_store_snapshot_moves_other_bytes_aside_before_writing(tmp_path: Path) -> None:
    prefix = tmp_path / "admission.snapshot"
    for seq, existing in [
        (7, encode_snapshot(7, 1_000, _consumers(5), _seeders(1))),  # other credit state at the same seq
        (8, b"not a snapshot at all"),
        (9, encode_snapshot(9, 1_000, {}, {})[:-1] + b"\x00"),  # trailer CRC mismatch
    ]:
        path = snapshot_path(prefix, seq)
        path.write_bytes(existing)
        new = encode_snapshot(seq, 2_000, _consumers(6), _seeders(1))
        stored = store_snapshot(path, new)
        assert stored.written and stored.moved_aside is not None
        assert stored.moved_aside.name.startswith(f"{path.name}.damaged-")
        assert stored.moved_aside.read_bytes() == existing
        assert path.read_bytes() == new
    # Moved-aside files are not snapshots: retention counts and prunes only the real ones, never them.
    assert [seq for seq, _ in enumerate_snapshots(prefix)] == [7, 8, 9]
    prune_snapshots(prefix, 1)
    assert [seq for seq, _ in enumerate_snapshots(prefix)] == [9]
    assert len(list(tmp_path.glob("*.damaged-*"))) == 3
