"""A database written without our side tables (as the Go tracker writes it) opens, verifies and keeps
working."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.ledger.helpers import identity_id, party, transfer_in_record, transfer_out_record
from tracker.ledger import Ledger, LedgerStore, TransferRefExists, verify_ledger

CONSUMER = party("consumer")


def _go_style_ledger(path: Path, identity, clock) -> None:
    with Ledger.open(path, identity, clock=clock) as ledger:
        ledger.issue_starter_grant(CONSUMER.identity_id, 100)
        ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 10, b"\x01" * 32))
        ledger.append_transfer_in(transfer_in_record(ledger, identity_id("r"), 5, b"\x02" * 32))
    connection = sqlite3.connect(path)
    for table in ("transfer_in_recipients", "transfer_refs", "side_table_state"):
        connection.execute(f"DROP TABLE {table}")
    connection.commit()
    connection.close()


def test_read_only_verify_of_a_go_style_file_skips_only_the_projection_check(
    ledger_path: Path, identity, clock
) -> None:
    _go_style_ledger(ledger_path, identity, clock)
    store = LedgerStore.open(ledger_path, read_only=True)
    try:
        report = verify_ledger(store, identity.public_key)
    finally:
        store.close()
    assert report.damage is None
    assert report.entries_checked == 3
    assert report.unattributed_transfer_ins == 1
    assert "projection check skipped" in report.notes[0]


def test_reopening_a_go_style_file_backfills_transfer_refs(ledger_path: Path, identity, clock) -> None:
    _go_style_ledger(ledger_path, identity, clock)
    with Ledger.open(ledger_path, identity, clock=clock) as ledger:
        assert ledger.tip().seq == 3
        assert ledger.entry_by_seq(3).transfer_in_recipient is None
        with pytest.raises(TransferRefExists):
            ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 1, b"\x01" * 32))
        with pytest.raises(TransferRefExists):
            ledger.append_transfer_in(transfer_in_record(ledger, identity_id("s"), 1, b"\x02" * 32))
        committed = ledger.append_transfer_in(transfer_in_record(ledger, identity_id("s"), 1, b"\x03" * 32))
        assert committed.transfer_in_recipient == identity_id("s")
        assert ledger.assert_chain_integrity() == 4
