"""`trio-tracker ledger verify` and `ledger balance` run as an operator would: exit codes, stdout, stderr."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests_e2e.conftest import run_cli
from tracker.config import config_for_data_dir, render_yaml
from tracker.identity import generate_identity, write_identity
from tracker.ledger import Ledger, SignedBalanceSnapshot, TransferInRecord, verify_balance_snapshot


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    config = config_for_data_dir(tmp_path)
    (tmp_path / "tracker.yaml").write_text(render_yaml(config))
    write_identity(config.server.identity_key_path, generate_identity())
    return tmp_path


def _ledger(data_dir: Path) -> Ledger:
    from tracker.identity import load_identity

    return Ledger.open(data_dir / "ledger.sqlite", load_identity(data_dir / "identity.key"))


def _fill(data_dir: Path, grants: int = 5) -> None:
    with _ledger(data_dir) as ledger:
        for index in range(grants):
            ledger.issue_starter_grant(bytes([index + 1]) * 32, 100 * (index + 1))
        tip = ledger.tip()
        ledger.append_transfer_in(
            TransferInRecord(
                tip.hash, tip.seq + 1, b"\x42" * 32, 7, int(__import__("time").time()), b"\x01" * 32
            )
        )


def _verify(data_dir: Path):
    return run_cli("ledger", "verify", "--config", str(data_dir / "tracker.yaml"))


def test_verify_a_sound_ledger_exits_0(data_dir: Path) -> None:
    _fill(data_dir)
    result = _verify(data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"OK: ledger {data_dir / 'ledger.sqlite'}: 6 entries, tip seq 6")
    assert "chain sound; 6 balances match the chain replay" in result.stdout


def test_verify_an_empty_ledger_exits_0(data_dir: Path) -> None:
    _ledger(data_dir).close()
    result = _verify(data_dir)
    assert (result.returncode, "empty chain" in result.stdout) == (0, True)


def _tamper(data_dir: Path, sql: str, *args: object) -> None:
    connection = sqlite3.connect(data_dir / "ledger.sqlite")
    connection.execute(sql, args)
    connection.commit()
    connection.close()


def test_verify_reports_a_flipped_canonical_byte_with_its_seq_and_exits_4(data_dir: Path) -> None:
    _fill(data_dir)
    connection = sqlite3.connect(data_dir / "ledger.sqlite")
    canonical = bytearray(connection.execute("SELECT canonical FROM entries WHERE seq = 3").fetchone()[0])
    connection.close()
    canonical[-1] ^= 0xFF
    _tamper(data_dir, "UPDATE entries SET canonical = ? WHERE seq = 3", bytes(canonical))
    result = _verify(data_dir)
    assert result.returncode == 4
    assert "DAMAGED" in result.stdout and "first bad seq=3" in result.stdout
    assert "hash mismatch at seq=3" in result.stdout


def test_verify_reports_a_tampered_prev_hash_and_exits_4(data_dir: Path) -> None:
    _fill(data_dir)
    _tamper(data_dir, "UPDATE entries SET prev_hash = ? WHERE seq = 2", b"\xff" * 32)
    result = _verify(data_dir)
    assert result.returncode == 4
    assert "first bad seq=2" in result.stdout and "prev_hash" in result.stdout


def test_verify_reports_a_projection_that_differs_from_the_chain(data_dir: Path) -> None:
    _fill(data_dir)
    _tamper(data_dir, "UPDATE balances SET credits = credits + 1 WHERE identity_id = ?", bytes([2]) * 32)
    result = _verify(data_dir)
    assert result.returncode == 4
    assert "first bad seq=2" in result.stdout and "balance projection" in result.stdout


def test_verify_with_another_tracker_key_reports_bad_signatures(data_dir: Path) -> None:
    _fill(data_dir)
    (data_dir / "identity.key").unlink()
    write_identity(data_dir / "identity.key", generate_identity())
    result = _verify(data_dir)
    assert result.returncode == 4
    assert "tracker signature invalid at seq=1" in result.stdout


def test_verify_without_a_ledger_file_exits_1(data_dir: Path) -> None:
    result = _verify(data_dir)
    assert result.returncode == 1
    assert "no ledger database" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (data_dir / "ledger.sqlite").exists()


def test_verify_on_a_file_that_is_not_a_database_exits_4(data_dir: Path) -> None:
    (data_dir / "ledger.sqlite").write_bytes(b"garbage" * 500)
    result = _verify(data_dir)
    assert result.returncode == 4
    assert result.stdout == (
        f"DAMAGED: ledger {data_dir}/ledger.sqlite: the SQLite file is corrupt: file is not a database\n"
    )
    assert "Traceback" not in result.stderr


def test_verify_config_errors_use_the_config_exit_codes(data_dir: Path) -> None:
    assert run_cli("ledger", "verify").returncode == 1
    assert run_cli("ledger", "verify", "--config", str(data_dir / "missing.yaml")).returncode == 1
    (data_dir / "bad.yaml").write_text("data_dir: [unclosed\n")
    assert run_cli("ledger", "verify", "--config", str(data_dir / "bad.yaml")).returncode == 2
    (data_dir / "key-missing.yaml").write_text(
        (data_dir / "tracker.yaml").read_text().replace("identity.key", "nokey.key")
    )
    result = run_cli("ledger", "verify", "--config", str(data_dir / "key-missing.yaml"))
    assert result.returncode == 1 and "nokey.key" in result.stderr


def test_verify_prints_progress_on_long_chains(data_dir: Path) -> None:
    with _ledger(data_dir) as ledger:
        from tracker.ledger import StarterGrantRequest

        ledger.append_batch([StarterGrantRequest(b"\x07" * 32, 1)] * 10_500)
    result = _verify(data_dir)
    assert result.returncode == 0, result.stdout
    assert "ledger verify: 10000/10500 entries checked" in result.stderr


def test_balance_prints_the_signed_snapshot_as_json(data_dir: Path) -> None:
    _fill(data_dir)
    result = run_cli("ledger", "balance", "--config", str(data_dir / "tracker.yaml"), "03" * 32)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["identity_id"] == "03" * 32
    assert document["credits"] == 300
    assert document["chain_tip_seq"] == 6
    assert document["expires_at"] - document["issued_at"] == 600
    snapshot = SignedBalanceSnapshot()
    snapshot.ParseFromString(bytes.fromhex(document["snapshot"]))
    from tracker.identity import load_identity

    assert verify_balance_snapshot(snapshot, load_identity(data_dir / "identity.key").public_key)
    assert snapshot.tracker_sig.hex() == document["tracker_sig"]
    recipient = run_cli("ledger", "balance", "--config", str(data_dir / "tracker.yaml"), "42" * 32)
    assert json.loads(recipient.stdout)["credits"] == 7


def test_balance_of_an_unknown_identity_is_zero(data_dir: Path) -> None:
    _fill(data_dir)
    result = run_cli("ledger", "balance", "--config", str(data_dir / "tracker.yaml"), "AB" * 32)
    assert result.returncode == 0
    assert json.loads(result.stdout)["credits"] == 0


@pytest.mark.parametrize("bad_id", ["zz" * 32, "ab" * 31, "ab" * 33, ""])
def test_balance_rejects_a_bad_id_with_exit_1(data_dir: Path, bad_id: str) -> None:
    _fill(data_dir)
    result = run_cli("ledger", "balance", "--config", str(data_dir / "tracker.yaml"), bad_id)
    assert result.returncode == 1
    assert "bad identity id" in result.stderr and "Traceback" not in result.stderr


def test_ledger_help_documents_the_exit_codes() -> None:
    result = run_cli("ledger", "verify", "--help")
    assert result.returncode == 0
    assert "4  the ledger is damaged" in result.stdout
