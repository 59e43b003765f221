"""The SQLite file: schema v1 identical to the Go tracker's, pragmas, NULL signatures, reopen, read-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.ledger.helpers import identity_id
from tracker.ledger import Ledger, LedgerStorageError, LedgerStore

# PRAGMA table_info rows (name, type, notnull, default, pk) of the Go schema_v1.sql, per table.
GO_SCHEMA = {
    "schema_version": [("version", "INTEGER", 0, None, 1)],
    "entries": [
        ("seq", "INTEGER", 0, None, 1),
        ("prev_hash", "BLOB", 1, None, 0),
        ("hash", "BLOB", 1, None, 0),
        ("kind", "INTEGER", 1, None, 0),
        ("consumer_id", "BLOB", 1, None, 0),
        ("seeder_id", "BLOB", 1, None, 0),
        ("model", "TEXT", 1, "''", 0),
        ("input_tokens", "INTEGER", 1, "0", 0),
        ("output_tokens", "INTEGER", 1, "0", 0),
        ("cost_credits", "INTEGER", 1, None, 0),
        ("timestamp", "INTEGER", 1, None, 0),
        ("request_id", "BLOB", 1, None, 0),
        ("flags", "INTEGER", 1, "0", 0),
        ("ref", "BLOB", 1, None, 0),
        ("consumer_sig", "BLOB", 0, None, 0),
        ("seeder_sig", "BLOB", 0, None, 0),
        ("tracker_sig", "BLOB", 1, None, 0),
        ("canonical", "BLOB", 1, None, 0),
    ],
    "balances": [
        ("identity_id", "BLOB", 0, None, 1),
        ("credits", "INTEGER", 1, None, 0),
        ("last_seq", "INTEGER", 1, None, 0),
        ("updated_at", "INTEGER", 1, None, 0),
    ],
    "merkle_roots": [
        ("hour", "INTEGER", 0, None, 1),
        ("root", "BLOB", 1, None, 0),
        ("tracker_sig", "BLOB", 1, None, 0),
    ],
    "peer_root_archive": [
        ("tracker_id", "BLOB", 1, None, 1),
        ("hour", "INTEGER", 1, None, 2),
        ("root", "BLOB", 1, None, 0),
        ("sig", "BLOB", 1, None, 0),
        ("received_at", "INTEGER", 1, None, 0),
    ],
    "peer_revocations": [
        ("tracker_id", "BLOB", 1, None, 1),
        ("identity_id", "BLOB", 1, None, 2),
        ("reason", "INTEGER", 1, None, 0),
        ("revoked_at", "INTEGER", 1, None, 0),
        ("tracker_sig", "BLOB", 1, None, 0),
        ("received_at", "INTEGER", 1, None, 0),
    ],
    "known_peers": [
        ("tracker_id", "BLOB", 1, None, 1),
        ("addr", "TEXT", 1, None, 0),
        ("last_seen", "INTEGER", 1, None, 0),
        ("region_hint", "TEXT", 1, "''", 0),
        ("health_score", "REAL", 1, "0.0", 0),
        ("source", "TEXT", 1, None, 0),
    ],
}
GO_INDEXES = {
    ("idx_entries_consumer", "entries", ("consumer_id", "seq")),
    ("idx_entries_seeder", "entries", ("seeder_id", "seq")),
    ("idx_entries_time", "entries", ("timestamp",)),
    ("idx_peer_revocations_identity", "peer_revocations", ("identity_id",)),
    ("idx_known_peers_health", "known_peers", ("health_score",)),
}
SIDE_TABLES = {
    "transfer_in_recipients",
    "transfer_refs",
    "side_table_state",
    "peer_identities",
    "usage_reports",
    "countersignatures",
}


def _schema(path: Path):
    connection = sqlite3.connect(path)
    try:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if not name.startswith("sqlite_")
        }
        columns = {
            table: [row[1:6] for row in connection.execute(f"PRAGMA table_info({table})")] for table in tables
        }
        indexes = set()
        for name, table in connection.execute("SELECT name, tbl_name FROM sqlite_master WHERE type='index'"):
            if name.startswith("sqlite_autoindex"):
                continue
            indexed = tuple(row[2] for row in connection.execute(f"PRAGMA index_info({name})"))
            indexes.add((name, table, indexed))
        versions = connection.execute("SELECT version FROM schema_version").fetchall()
        unique_hash = any(
            row[2] == 1 and [c[2] for c in connection.execute(f"PRAGMA index_info({row[1]})")] == ["hash"]
            for row in connection.execute("PRAGMA index_list(entries)")
        )
    finally:
        connection.close()
    return tables, columns, indexes, versions, unique_hash


def test_schema_is_the_go_schema_v1_plus_our_side_tables(ledger_path: Path, identity) -> None:
    Ledger.open(ledger_path, identity).close()
    tables, columns, indexes, versions, unique_hash = _schema(ledger_path)
    assert tables == set(GO_SCHEMA) | SIDE_TABLES
    for table, expected in GO_SCHEMA.items():
        assert columns[table] == expected, table
    assert indexes == GO_INDEXES
    assert versions == [(1,)]
    assert unique_hash


def test_reopening_keeps_one_schema_version_row(ledger_path: Path, identity) -> None:
    for _ in range(3):
        Ledger.open(ledger_path, identity).close()
    assert _schema(ledger_path)[3] == [(1,)]


def test_pragmas_on_every_connection(ledger_path: Path) -> None:
    store = LedgerStore.open(ledger_path)
    try:
        for connection in (store._writer, store._reader):
            assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: survives power loss
            assert connection.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
            assert connection.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()
        store.close()  # idempotent


def test_synchronous_normal_can_be_asked_for_and_bad_modes_are_refused(ledger_path: Path) -> None:
    store = LedgerStore.open(ledger_path, synchronous="NORMAL")
    try:
        assert store._writer.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    finally:
        store.close()
    with pytest.raises(LedgerStorageError, match="synchronous must be one of NORMAL, FULL"):
        LedgerStore.open(ledger_path, synchronous="OFF; DROP TABLE entries")


def test_entries_rows_store_every_column_and_null_for_empty_signatures(
    ledger: Ledger, ledger_path: Path
) -> None:
    committed = ledger.issue_starter_grant(identity_id("a"), 1000)
    connection = sqlite3.connect(ledger_path)
    row = connection.execute(
        "SELECT seq, prev_hash, hash, kind, consumer_id, seeder_id, model, cost_credits, timestamp,"
        " request_id, flags, ref, consumer_sig, seeder_sig, tracker_sig, canonical FROM entries"
    ).fetchone()
    balance = connection.execute("SELECT identity_id, credits, last_seq, updated_at FROM balances").fetchone()
    connection.close()
    assert row == (
        1,
        bytes(32),
        committed.hash,
        4,
        identity_id("a"),
        bytes(32),
        "",
        1000,
        1_714_000_000,
        bytes(16),
        0,
        bytes(32),
        None,
        None,
        committed.entry.tracker_sig,
        committed.entry.body.SerializeToString(deterministic=True),
    )
    assert balance == (identity_id("a"), 1000, 1, 1_714_000_000)


def test_read_only_open_of_a_missing_file_fails_without_creating_it(tmp_path: Path) -> None:
    with pytest.raises(LedgerStorageError, match="no ledger database"):
        LedgerStore.open(tmp_path / "missing.sqlite", read_only=True)
    assert not (tmp_path / "missing.sqlite").exists()


def test_a_file_that_is_not_a_database_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(LedgerStorageError, match="cannot open ledger database"):
        LedgerStore.open(path)
    with pytest.raises(LedgerStorageError):
        LedgerStore.open(path, read_only=True)


def test_open_in_a_missing_directory_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerStorageError, match="cannot open ledger database"):
        LedgerStore.open(tmp_path / "nope" / "ledger.sqlite")
    with pytest.raises(LedgerStorageError, match="non-empty path"):
        LedgerStore.open("")


def test_read_only_store_refuses_writes(ledger: Ledger, ledger_path: Path) -> None:
    ledger.issue_starter_grant(identity_id("a"), 5)
    store = LedgerStore.open(ledger_path, read_only=True)
    try:
        assert store.tip()[0] == 1
        with pytest.raises(LedgerStorageError, match="read-only"):
            store.begin()
    finally:
        store.close()
