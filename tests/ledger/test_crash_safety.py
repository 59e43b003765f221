"""A process appending in a loop (and recording countersignatures) is SIGKILLed; every acknowledged entry
must be on the reopened, sound chain, and every acknowledged countersignature in its side table."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.ledger.helpers import identity_id, tracker_identity
from tracker.ledger import Ledger, LedgerStore, SettlementStore, verify_ledger

ACKS_BEFORE_KILL = 400


def _run_and_kill(path: Path, *mode: str) -> tuple[dict[int, str], dict[int, str]]:
    """Run the crash child until ACKS_BEFORE_KILL appends were acknowledged, SIGKILL it; the acknowledged
    entries (seq → hash hex) and countersignatures (seq → signature hex)."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.ledger.crash_child", str(path), *mode],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acknowledged: dict[int, str] = {}
    signed: dict[int, str] = {}
    try:
        assert child.stdout is not None
        for line in child.stdout:
            kind, seq, value = line.split()
            (acknowledged if kind == "ACK" else signed)[int(seq)] = value
            if len(acknowledged) >= ACKS_BEFORE_KILL:
                break
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert len(acknowledged) >= ACKS_BEFORE_KILL, child.stderr.read() if child.stderr else ""
    return acknowledged, signed


def test_sigkill_while_countersignatures_are_recorded_loses_no_acknowledged_one(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    acknowledged, signed = _run_and_kill(path, "countersign")
    assert len(signed) >= ACKS_BEFORE_KILL // 2
    with Ledger.open(path, tracker_identity()) as ledger:
        assert ledger.tip().seq >= max(acknowledged)
        assert ledger.assert_chain_integrity() == ledger.tip().seq
    settlements = SettlementStore.open(path)
    try:
        for seq, signature in signed.items():
            row = settlements.countersignature(seq)
            assert row is not None and row.consumer_sig.hex() == signature, seq
    finally:
        settlements.close()


def test_sigkill_during_appends_loses_no_acknowledged_entry(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    acknowledged, _ = _run_and_kill(path)

    identity = tracker_identity()
    with Ledger.open(path, identity) as ledger:
        tip = ledger.tip()
        assert tip.seq >= max(acknowledged)
        for seq, entry_hash in acknowledged.items():
            assert ledger.entry_by_seq(seq).hash.hex() == entry_hash
        assert ledger.assert_chain_integrity() == tip.seq
        total = sum(ledger.balance(identity_id(f"worker-{worker}")).credits for worker in range(8))
        assert total == tip.seq
        ledger.issue_starter_grant(identity_id("after"), 1)  # the reopened ledger keeps appending
    store = LedgerStore.open(path, read_only=True)
    try:
        report = verify_ledger(store, identity.public_key)
    finally:
        store.close()
    assert report.damage is None and report.entries_checked == tip.seq + 1
