"""The hourly Merkle rollup on a real ledger: leaves, signature, idempotence, empty hours, restarts, races."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from tests.ledger.conftest import FakeClock
from tests.ledger.helpers import identity_id
from tracker.ledger import Ledger, merkle_root, merkle_root_preimage, verify_signature

HOUR = 100


def _merkle_rows(path: Path) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute("SELECT COUNT(*) FROM merkle_roots").fetchone()[0]
    finally:
        connection.close()


def test_empty_hour_writes_nothing(ledger: Ledger, ledger_path: Path) -> None:
    assert ledger.rollup_hour(HOUR) is None
    assert ledger.merkle_root(HOUR) is None
    assert _merkle_rows(ledger_path) == 0


def test_two_grants_in_an_hour_give_a_signed_root(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = HOUR * 3600 + 5
    first = ledger.issue_starter_grant(identity_id("a"), 1)
    clock.now = HOUR * 3600 + 3599
    second = ledger.issue_starter_grant(identity_id("b"), 1)
    clock.now = (HOUR + 1) * 3600  # next hour: not a leaf of HOUR
    ledger.issue_starter_grant(identity_id("c"), 1)
    root = ledger.rollup_hour(HOUR)
    assert root == merkle_root([first.hash, second.hash])
    stored_root, signature = ledger.merkle_root(HOUR)
    assert stored_root == root
    assert verify_signature(ledger.tracker_public_key, merkle_root_preimage(HOUR, root), signature)


def test_rollup_is_idempotent_immutable_and_survives_restart(
    ledger: Ledger, ledger_path: Path, clock: FakeClock, identity
) -> None:
    clock.now = HOUR * 3600 + 10
    ledger.issue_starter_grant(identity_id("a"), 1)
    root = ledger.rollup_hour(HOUR)
    stored = ledger.merkle_root(HOUR)
    ledger.issue_starter_grant(identity_id("late"), 1)  # same hour, after the root was written
    assert ledger.rollup_hour(HOUR) == root
    assert ledger.merkle_root(HOUR) == stored
    ledger.close()
    with Ledger.open(ledger_path, identity, clock=clock) as reopened:
        assert reopened.rollup_hour(HOUR) == root
        assert reopened.merkle_root(HOUR) == stored
    assert _merkle_rows(ledger_path) == 1


def test_parallel_rollups_of_the_same_hour_both_succeed(ledger: Ledger, clock: FakeClock) -> None:
    clock.now = HOUR * 3600
    for label in "abc":
        ledger.issue_starter_grant(identity_id(label), 1)
    roots: list[bytes | None] = []
    threads = [threading.Thread(target=lambda: roots.append(ledger.rollup_hour(HOUR))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(roots) == 4 and len(set(roots)) == 1 and roots[0] is not None
