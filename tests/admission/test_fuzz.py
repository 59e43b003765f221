"""Bad input: random byte flips and truncations of tlog and snapshot files (1,200 in-process cases) never
crash start-up; each case ends clean, with a fallback, or degraded — with a metric — and the ledger-derived
state is still every committed ledger entry applied exactly once."""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from unittest import mock

import trio

from tests.admission._helpers import (
    KIND_STARTER_GRANT,
    KIND_TRANSFER_IN,
    KIND_TRANSFER_OUT,
    KIND_USAGE,
    NOW,
    FakeLedger,
    SimpleCore,
    crash,
    dispute,
    make_id,
    open_persistent,
    recompute,
)
from tracker.admission._errors import SnapshotFormatError
from tracker.admission.core._state import BucketArray, ConsumerCreditState
from tracker.admission.persistence._snapshot_format import decode_snapshot
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_reader import scan_tlog_bytes
from tracker.admission.persistence.bulk._engine import MIN_BULK_RUN

CASES_PER_FILE_KIND = 600
_IDS = [make_id(byte) for byte in range(1, 6)]


async def _build_base(directory: Path, ledger: FakeLedger) -> None:
    persistent = await open_persistent(directory, ledger=ledger)
    rng = random.Random(7)
    for identity in _IDS:
        persistent.on_ledger_entry(ledger.append(KIND_STARTER_GRANT, identity, cost=1000))
    for round_number in range(3):
        for _ in range(8):
            kind = rng.choice([KIND_USAGE, KIND_USAGE, KIND_TRANSFER_OUT, KIND_TRANSFER_IN])
            consumer = rng.choice(_IDS)
            extra: dict[str, object] = {
                "cost": rng.randint(1, 50),
                "timestamp": NOW - rng.randint(0, 40) * 86400,
            }
            if kind == KIND_USAGE:
                extra["seeder"] = rng.choice([identity for identity in _IDS if identity != consumer])
            if kind == KIND_TRANSFER_IN:
                extra["recipient"] = consumer
                consumer = bytes(32)
            persistent.on_ledger_entry(ledger.append(kind, consumer, **extra))
        await persistent.on_dispute_event(dispute(rng.choice(_IDS), upheld=rng.choice([None, True])))
        if round_number < 2:
            await persistent.snapshot_now()
    await persistent.flush()
    crash(persistent)


def _ledger_part(state: ConsumerCreditState) -> tuple:
    return (
        state.first_seen_at,
        state.last_balance_seen,
        state.buckets(BucketArray.SETTLEMENT),
        state.buckets(BucketArray.FLOW),
    )


def _mutate(data: bytes, rng: random.Random) -> bytes:
    mode = rng.choice(["flip", "flip", "flips", "truncate", "flip_and_truncate"])
    mutated = bytearray(data)
    if mode in ("flip", "flip_and_truncate"):
        mutated[rng.randrange(len(mutated))] ^= rng.randint(1, 255)
    if mode == "flips":
        for _ in range(rng.randint(2, 8)):
            mutated[rng.randrange(len(mutated))] ^= rng.randint(1, 255)
    if mode in ("truncate", "flip_and_truncate"):
        del mutated[rng.randrange(len(mutated)) :]
    return bytes(mutated)


async def _run_cases(base: Path, work: Path, ledger: FakeLedger) -> dict[str, int]:
    expected = {identity: _ledger_part(state) for identity, state in recompute(ledger.entries).items()}
    rng = random.Random(20261126)
    outcomes = {"clean": 0, "torn_tail": 0, "tlog_damage": 0, "snapshot_fallback": 0}
    targets = ["admission.tlog"] * CASES_PER_FILE_KIND
    snapshot_names = [path.name for _, path in enumerate_snapshots(base / "admission.snapshot")]
    assert len(snapshot_names) == 2
    # Two thirds of the snapshot cases damage the newest snapshot (the one start-up reads first).
    targets += [snapshot_names[1 if index % 3 else 0] for index in range(CASES_PER_FILE_KIND)]
    for case, target in enumerate(targets):
        directory = work / f"case{case}"
        shutil.copytree(base, directory)
        original = (directory / target).read_bytes()
        mutated = _mutate(original, rng)
        (directory / target).write_bytes(mutated)
        core = SimpleCore()
        # Odd cases replay every stretch of ledger records as a bulk run, however short.
        with mock.patch(
            "tracker.admission.persistence.bulk._engine.MIN_BULK_RUN", 1 if case % 2 else MIN_BULK_RUN
        ):
            persistent = await open_persistent(directory, core=core, ledger=ledger)
        report = persistent.replay_report
        metrics = persistent.persistence_metrics
        assert report is not None
        # Every committed ledger entry is reflected exactly once, whatever happened to the files.
        assert {identity: _ledger_part(state) for identity, state in core.consumers.items()} == expected, case
        if target == "admission.tlog":
            scan = scan_tlog_bytes(mutated)
            if report.damage:
                outcomes["tlog_damage"] += 1
                assert persistent.degraded_mode
                assert metrics.tlog_corruption_records._value.get() == len(report.damage)
                assert list(directory.glob("admission.tlog.damaged-*"))
            elif scan.truncated:
                outcomes["torn_tail"] += 1
                assert report.torn_tails_cut == 1
            else:
                outcomes["clean"] += 1
                assert scan.clean
        elif target != snapshot_names[-1]:
            outcomes["clean"] += 1  # an older snapshot is not even read while the newest is good
            assert metrics.snapshot_load_failures._value.get() == 0
        else:
            try:
                decode_snapshot(mutated)
                outcomes["clean"] += 1
            except SnapshotFormatError:
                assert metrics.snapshot_load_failures._value.get() == 1
                assert report.snapshot_path is not None and report.snapshot_path.name == snapshot_names[0]
                assert not persistent.degraded_mode
                outcomes["snapshot_fallback"] += 1
        await persistent.aclose()
        shutil.rmtree(directory)
    return outcomes


def test_byte_flips_and_truncations_never_crash_startup(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    ledger = FakeLedger()
    trio.run(_build_base, base, ledger)
    outcomes = trio.run(_run_cases, base, tmp_path, ledger)
    assert sum(outcomes.values()) == 2 * CASES_PER_FILE_KIND
    # The loop really exercised every branch.
    assert outcomes["tlog_damage"] > 50 and outcomes["torn_tail"] > 50 and outcomes["snapshot_fallback"] > 50
