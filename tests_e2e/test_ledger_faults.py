"""`ledger verify` / `ledger balance` on damaged, foreign, Go-written and read-only ledgers: exit codes, the
stdout line, and the bytes and directory left behind."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests_e2e.conftest import TRIO_TRACKER, run_cli
from tracker.config import config_for_data_dir, render_yaml
from tracker.identity import TrackerIdentity, generate_identity, load_identity, write_identity
from tracker.ledger import Ledger, build_usage_entry, canonical_bytes


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    config = config_for_data_dir(tmp_path)
    (tmp_path / "tracker.yaml").write_text(render_yaml(config))
    write_identity(config.server.identity_key_path, generate_identity())
    return tmp_path


def _identity(data_dir: Path) -> TrackerIdentity:
    return load_identity(data_dir / "identity.key")


def _grants(data_dir: Path, count: int = 3) -> None:
    with Ledger.open(data_dir / "ledger.sqlite", _identity(data_dir)) as ledger:
        for index in range(count):
            ledger.issue_starter_grant(bytes([index + 1]) * 32, 100 * (index + 1))


def _verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("ledger", "verify", "--config", str(data_dir / "tracker.yaml"))


def _sql(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


def test_a_dropped_table_is_damage_exit_4(data_dir: Path) -> None:
    _grants(data_dir)
    _sql(data_dir / "ledger.sqlite", "DROP TABLE balances")
    result = _verify(data_dir)
    assert result.returncode == 4, result.stderr
    assert (
        result.stdout == f"DAMAGED: ledger {data_dir}/ledger.sqlite: not a ledger schema: no balances table\n"
    )


def test_a_table_with_other_columns_is_damage_exit_4(data_dir: Path) -> None:
    _grants(data_dir)
    _sql(
        data_dir / "ledger.sqlite",
        "CREATE TABLE m2 (hour INTEGER PRIMARY KEY, root BLOB NOT NULL)",
        "DROP TABLE merkle_roots",
        "ALTER TABLE m2 RENAME TO merkle_roots",
    )
    result = _verify(data_dir)
    assert result.returncode == 4, result.stderr
    assert (
        "not a ledger schema: table merkle_roots has columns (hour, root), not the ledger's" in result.stdout
    )


def test_a_malformed_sqlite_schema_is_damage_exit_4(data_dir: Path) -> None:
    _grants(data_dir)
    connection = sqlite3.connect(data_dir / "ledger.sqlite")
    connection.execute("PRAGMA writable_schema = ON")
    connection.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE balances (' WHERE name = 'balances'")
    connection.commit()
    connection.close()
    result = _verify(data_dir)
    assert result.returncode == 4, (result.stdout, result.stderr)
    assert result.stdout.startswith(f"DAMAGED: ledger {data_dir}/ledger.sqlite: the SQLite file is corrupt: ")
    assert "malformed database schema" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_foreign_application_database_is_damage_exit_4_and_unchanged(data_dir: Path) -> None:
    path = data_dir / "ledger.sqlite"
    _sql(path, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)", "INSERT INTO notes VALUES (1, 'x')")
    before = path.read_bytes()
    result = _verify(data_dir)
    assert result.returncode == 4
    assert "not a ledger schema: none of the ledger's tables" in result.stdout
    assert "tables that are not a ledger's: notes" in result.stdout
    assert path.read_bytes() == before
    assert sorted(os.listdir(data_dir)) == ["identity.key", "ledger.sqlite", "tracker.yaml"]


def _append_go_self_pay(data_dir: Path, identity_id: bytes, cost: int) -> None:
    """A usage entry whose consumer is its seeder, written as the Go tracker writes it: the entry row, and
    the balance row at old + cost (its seeder upsert, run last, wins). Our append refuses such entries."""
    identity = _identity(data_dir)
    path = data_dir / "ledger.sqlite"
    connection = sqlite3.connect(path)
    try:
        seq, prev_hash = connection.execute(
            "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        (old,) = connection.execute(
            "SELECT credits FROM balances WHERE identity_id = ?", (identity_id,)
        ).fetchone()
        now = int(time.time())
        body = build_usage_entry(
            prev_hash=prev_hash,
            seq=seq + 1,
            consumer_id=identity_id,
            seeder_id=identity_id,
            model="claude-sonnet-4-6",
            input_tokens=10,
            output_tokens=5,
            cost_credits=cost,
            timestamp=now,
            request_id=b"\x07" * 16,
            consumer_sig_missing=True,
        )
        canonical = canonical_bytes(body)
        connection.execute(
            "INSERT INTO entries (seq, prev_hash, hash, kind, consumer_id, seeder_id, model, input_tokens,"
            " output_tokens, cost_credits, timestamp, request_id, flags, ref, consumer_sig, seeder_sig,"
            " tracker_sig, canonical) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                seq + 1,
                prev_hash,
                hashlib.sha256(canonical).digest(),
                int(body.kind),
                identity_id,
                identity_id,
                body.model,
                body.input_tokens,
                body.output_tokens,
                cost,
                now,
                body.request_id,
                body.flags,
                body.ref,
                None,
                b"\x01" * 64,
                identity.sign(canonical),
                canonical,
            ),
        )
        connection.execute(
            "UPDATE balances SET credits = ?, last_seq = ?, updated_at = ? WHERE identity_id = ?",
            (old + cost, seq + 1, now, identity_id),
        )
        connection.commit()
    finally:
        connection.close()


def test_a_go_written_self_pay_usage_verifies_with_go_balance_semantics(data_dir: Path) -> None:
    _grants(data_dir)
    _append_go_self_pay(data_dir, b"\x02" * 32, 30)
    result = _verify(data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"OK: ledger {data_dir}/ledger.sqlite: 4 entries, tip seq 4 ")
    balance = run_cli("ledger", "balance", "--config", str(data_dir / "tracker.yaml"), "02" * 32)
    assert balance.returncode == 0
    assert '"credits": 230' in balance.stdout


def test_a_self_pay_stored_without_the_go_quirk_is_still_damage(data_dir: Path) -> None:
    _grants(data_dir)
    _append_go_self_pay(data_dir, b"\x02" * 32, 30)
    _sql(data_dir / "ledger.sqlite", f"UPDATE balances SET credits = 200 WHERE identity_id = X'{'02' * 32}'")
    result = _verify(data_dir)
    assert result.returncode == 4
    assert "stores credits=200 last_seq=4, the chain replay gives credits=230" in result.stdout


def test_offline_tools_create_nothing_and_change_no_byte(data_dir: Path) -> None:
    _grants(data_dir)
    path = data_dir / "ledger.sqlite"
    before = path.read_bytes()
    assert sorted(os.listdir(data_dir)) == ["identity.key", "ledger.sqlite", "tracker.yaml"]
    assert _verify(data_dir).returncode == 0
    balance = run_cli("ledger", "balance", "--config", str(data_dir / "tracker.yaml"), "01" * 32)
    assert balance.returncode == 0 and '"credits": 100' in balance.stdout
    assert sorted(os.listdir(data_dir)) == ["identity.key", "ledger.sqlite", "tracker.yaml"]
    assert path.read_bytes() == before


def test_offline_tools_read_the_write_ahead_log_of_a_killed_tracker(data_dir: Path) -> None:
    """With a -wal beside the file (commits not yet checkpointed), the read goes through it."""
    _grants(data_dir, 2)
    keeper = sqlite3.connect(data_dir / "ledger.sqlite")  # holds the WAL open, as a live or killed writer
    try:
        keeper.execute("SELECT COUNT(*) FROM entries").fetchone()  # keeps the -wal from being removed
        with Ledger.open(data_dir / "ledger.sqlite", _identity(data_dir)) as ledger:
            ledger.issue_starter_grant(b"\x09" * 32, 900)
        assert (data_dir / "ledger.sqlite-wal").stat().st_size > 0
        result = _verify(data_dir)
        assert result.returncode == 0, result.stdout
        assert ": 3 entries, tip seq 3 " in result.stdout
    finally:
        keeper.close()


def _unshare_available() -> bool:
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _unshare_available(), reason="no user+mount namespaces here (unshare -rm)")
def test_offline_tools_work_on_a_read_only_bind_mount(data_dir: Path) -> None:
    _grants(data_dir)
    before = (data_dir / "ledger.sqlite").read_bytes()
    command = " ".join(TRIO_TRACKER)
    config = data_dir / "tracker.yaml"
    script = (
        f"mount --bind {data_dir} {data_dir} && mount -o remount,ro,bind {data_dir} && "
        f"! touch {data_dir}/probe 2>/dev/null && "
        f"{command} ledger verify --config {config} && "
        f"{command} ledger balance --config {config} {'03' * 32}"
    )
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: ledger" in result.stdout and '"credits": 300' in result.stdout
    assert (data_dir / "ledger.sqlite").read_bytes() == before
