"""The exactly-once property (docs/protocol.md): for any sequence of ledger entries
and disputes and any crash point — buffered records lost, a torn final frame, a snapshot whose SNAPSHOT_MARK
was lost, entries committed while admission was down, the newest snapshot gone, one frame damaged mid-file —
newest good snapshot + tlog + ledger cross-check gives the state of applying every committed ledger entry
exactly once (plus every dispute that was reported durable, but one in a damaged frame once no snapshot that
start-up loads holds it: at the damage, or later when the snapshots holding it are gone)."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

import trio
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.admission._helpers import (
    KIND_STARTER_GRANT,
    KIND_TRANSFER_IN,
    KIND_TRANSFER_OUT,
    KIND_USAGE,
    NOW,
    FakeLedger,
    crash,
    dispute,
    make_id,
    open_persistent,
    recompute,
)
from tracker.admission._service import AdmissionService
from tracker.admission.core._events import LedgerEvent
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_format import TLogKind
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file
from tracker.admission.persistence.bulk._engine import MIN_BULK_RUN

_IDS = [make_id(byte) for byte in (1, 2, 3, 4)]
_DAY = 86400
_timestamps = st.integers(0, 40).map(lambda days: NOW - days * _DAY)

_ledger_op = st.tuples(
    st.just("ledger"),
    st.sampled_from([KIND_USAGE, KIND_USAGE, KIND_TRANSFER_OUT, KIND_TRANSFER_IN, KIND_STARTER_GRANT]),
    st.sampled_from(_IDS),
    st.sampled_from([*_IDS, bytes(32)]),
    st.integers(0, 2000),
    _timestamps,
)
_operation = st.one_of(
    _ledger_op,
    _ledger_op.map(lambda op: ("unseen", *op[1:])),  # committed while admission missed it
    st.tuples(st.just("dispute"), st.sampled_from(_IDS), st.sampled_from([None, True, False]), _timestamps),
    st.just(("flush",)),
    st.just(("snapshot",)),
    st.just(("catch_up",)),
    st.tuples(
        st.just("crash"),
        st.sampled_from(["clean", "torn", "drop_newest_snapshot", "damage_frame"]),
        st.integers(1, 200),
    ),
)


def _tail_without_disputes(tlog: Path) -> int:
    """Bytes at the end of the active file written after the last durable (dispute) frame."""
    ends: list[tuple[int, int]] = []
    offset = 0

    def on_record(seq: int, ts: int, kind: int, payload: bytes) -> None:
        nonlocal offset
        offset += 25 + len(payload)
        ends.append((kind, offset))

    scan_tlog_file(tlog, on_record)
    last_durable = max(
        (end for kind, end in ends if kind in (TLogKind.DISPUTE_FILED, TLogKind.DISPUTE_RESOLVED)), default=0
    )
    return tlog.stat().st_size - last_durable


def _frame_spans(path: Path) -> list[tuple[int, int, int]]:
    """(offset, length field, kind) of every frame of a clean tlog file."""
    data = path.read_bytes()
    spans = []
    offset = 0
    while offset + 25 <= len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        spans.append((offset, length, data[offset + 20]))
        offset += 4 + length
    return spans


def _forget_local(seq: int, local_events: list, local_seqs: list[int]) -> None:
    index = local_seqs.index(seq)
    del local_events[index], local_seqs[index]


def _damage_one_frame(
    tmp_path: Path, choice: int, local_events: list, local_seqs: list[int], in_snapshots_only: list[int]
) -> tuple[bool, int]:
    """Flip a CRC byte of one frame that is not the last of the active file (a bad final frame is a torn
    tail by definition). A damaged dispute that no snapshot holds is lost: it leaves `local_events`; one the
    newest snapshot holds survives only in snapshots: its seq goes to `in_snapshots_only`. Returns
    (damaged, local records lost). `local_seqs` holds the tlog seq of each of `local_events`."""
    frames = []  # (path, offset, length, kind) in replay order
    for path in enumerate_tlog_files(tmp_path / "admission.tlog"):
        frames.extend((path, offset, length, kind) for offset, length, kind in _frame_spans(path))
    candidates = frames[:-1]
    if not candidates:
        return False, 0
    path, offset, length, kind = candidates[choice % len(candidates)]
    data = bytearray(path.read_bytes())
    snapshots = enumerate_snapshots(tmp_path / "admission.snapshot")
    covered = snapshots[-1][0] if snapshots else 0
    seq = int.from_bytes(data[offset + 4 : offset + 12], "big")
    lost = 0
    if kind in (TLogKind.DISPUTE_FILED, TLogKind.DISPUTE_RESOLVED):
        if seq > covered:
            _forget_local(seq, local_events, local_seqs)
            lost = 1
        else:
            in_snapshots_only.append(seq)
    data[offset + length] ^= 0xFF  # inside the CRC
    path.write_bytes(bytes(data))
    return True, lost


async def _run(tmp_path: Path, operations: list[tuple], fast_replay: bool) -> None:
    async def _restart(tmp_path: Path, ledger: FakeLedger) -> AdmissionService:
        return await open_persistent(tmp_path, ledger=ledger, fast_replay=fast_replay)

    ledger = FakeLedger()
    local_events: list[tuple[int, LedgerEvent]] = []
    local_seqs: list[int] = []  # the tlog seq of each local event
    # the seqs of local events whose tlog frame was damaged while a snapshot held them
    in_snapshots_only: list[int] = []
    persistent = await _restart(tmp_path, ledger)
    restarts = 0
    for operation in operations:
        name = operation[0]
        if name in ("ledger", "unseen"):
            _, kind, consumer, other, cost, timestamp = operation
            extra: dict[str, object] = {"cost": cost, "timestamp": timestamp}
            if kind == KIND_USAGE:
                extra["seeder"] = other if other != consumer else bytes(32)
            if kind == KIND_TRANSFER_IN:
                extra["recipient"] = consumer
                consumer = bytes(32)
            committed = ledger.append(kind, consumer, **extra)
            if name == "ledger":
                persistent.on_ledger_entry(committed)
        elif name == "dispute":
            _, consumer, upheld, timestamp = operation
            event = dispute(consumer, upheld=upheld, timestamp=timestamp)
            position = persistent.ledger_seq
            if await persistent.on_dispute_event(event):
                local_events.append((position, event))
                local_seqs.append(persistent.last_seq)
        elif name == "flush":
            await persistent.flush()
        elif name == "snapshot":
            if not persistent.behind:
                await persistent.snapshot_now()
        elif name == "catch_up":
            await persistent.catch_up()
        elif name == "crash":
            _, mode, cut = operation
            crash(persistent)
            tlog = tmp_path / "admission.tlog"
            if mode == "torn" and tlog.exists():
                cuttable = _tail_without_disputes(tlog)
                if cuttable > 0:
                    os.truncate(tlog, tlog.stat().st_size - min(cut, cuttable))
            if mode == "drop_newest_snapshot":
                snapshots = enumerate_snapshots(tmp_path / "admission.snapshot")
                if snapshots:
                    snapshots[-1][1].unlink()
                # A local record whose frame was damaged is lost once the snapshot start-up loads (the
                # newest left) is older than it. Its loss was counted when the frame was found damaged.
                covered = snapshots[-2][0] if len(snapshots) > 1 else 0
                for seq in [seq for seq in in_snapshots_only if seq > covered]:
                    in_snapshots_only.remove(seq)
                    _forget_local(seq, local_events, local_seqs)
            damaged, lost = (
                _damage_one_frame(tmp_path, cut, local_events, local_seqs, in_snapshots_only)
                if mode == "damage_frame"
                else (False, 0)
            )
            persistent = await _restart(tmp_path, ledger)
            restarts += 1
            expected = recompute(ledger.entries, local_events)
            assert persistent.core.consumers == expected, f"after restart {restarts} ({mode})"
            assert persistent.degraded_mode == damaged
            assert persistent.replay_report.lost_local_records == lost
    await persistent.catch_up()
    assert not persistent.behind
    assert persistent.core.consumers == recompute(ledger.entries, local_events)
    # Clean shutdown and one more start-up: still exactly once; seqs strictly increase across all restarts.
    await persistent.aclose()
    reopened = await _restart(tmp_path, ledger)
    assert reopened.core.consumers == recompute(ledger.entries, local_events)
    assert reopened.replay_report.cross_check_applied == 0
    seqs: list[int] = []
    for path in enumerate_tlog_files(tmp_path / "admission.tlog"):
        scan_tlog_file(
            path, lambda seq, ts, kind, payload: seqs.append(seq) if kind != TLogKind.SNAPSHOT_MARK else None
        )
    assert seqs == sorted(set(seqs))
    await reopened.aclose()


# A dispute whose frame is damaged while the snapshot holds it (the SNAPSHOT_MARK was still buffered: the
# first dispute's frame is hit); the snapshot taken after the repair has the same seq, so dropping the newest
# snapshot leaves none: that dispute is gone.
_DAMAGED_THEN_SNAPSHOT_LOST = [
    ("dispute", _IDS[0], None, NOW),
    ("ledger", KIND_USAGE, _IDS[0], _IDS[0], 0, NOW),
    ("dispute", _IDS[0], None, NOW),
    ("snapshot",),
    ("crash", "damage_frame", 2),
    ("ledger", KIND_USAGE, _IDS[0], _IDS[0], 0, NOW),
    ("crash", "drop_newest_snapshot", 1),
]


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    operations=st.lists(_operation, min_size=1, max_size=30),
    engine=st.sampled_from(["one_by_one", "bulk", "bulk_runs_of_any_length"]),
)
@example(operations=_DAMAGED_THEN_SNAPSHOT_LOST, engine="one_by_one")
@example(operations=_DAMAGED_THEN_SNAPSHOT_LOST, engine="bulk")
def test_recovery_is_exactly_once(tmp_path_factory: object, operations: list[tuple], engine: str) -> None:
    """Every replay engine: `apply_event` per record; `BulkReplay` (the production path), which takes runs
    of MIN_BULK_RUN+ contiguous ledger records as a whole; and `BulkReplay` taking every run as a whole,
    however short."""
    tmp_path = tmp_path_factory.mktemp("exactly_once")  # type: ignore[attr-defined]
    shortest_run = 1 if engine == "bulk_runs_of_any_length" else MIN_BULK_RUN
    with mock.patch("tracker.admission.persistence.bulk._engine.MIN_BULK_RUN", shortest_run):
        trio.run(_run, tmp_path, operations, engine != "one_by_one")
