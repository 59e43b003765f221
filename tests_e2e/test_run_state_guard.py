"""`run` refuses state it must not touch: a second tracker on one directory, a ledger that is not this
tracker's (foreign schema, damaged tip, another key), a missing ledger beside admission files; and
`config validate` refuses state files that share a file. One stderr line, exit 1 (3 for the config rule),
the ledger's bytes unchanged."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import (
    make_data_dir,
    seed_ledger_only,
    start_tracker,
    tracker_env,
    use_ephemeral_ports,
)
from tracker.identity import generate_identity, write_identity


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(path)
    return path


def _run(config_path: Path, *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("run", "--config", str(config_path), *extra, timeout=30, env=tracker_env())


def _started_once(config_path: Path) -> None:
    tracker = start_tracker(config_path)
    tracker.wait_ready()
    assert tracker.stop() == 0


def test_a_second_run_on_one_directory_exits_1_naming_the_holder(config_path: Path) -> None:
    first = start_tracker(config_path)
    try:
        first.wait_ready()
        result = _run(config_path)
        data_dir = config_path.parent
        assert result.returncode == 1
        assert result.stderr == (
            f"error: {data_dir} is in use by another trio-tracker (pid {first.process.pid}, lock "
            f"{data_dir}/.trio-tracker.lock); stop it first, or give this tracker its own data directory\n"
        )
    finally:
        assert first.stop() == 0
    tracker = start_tracker(config_path)  # the lock went with the process; a stale lock file is harmless
    tracker.wait_ready()
    assert tracker.stop() == 0


def test_a_second_run_with_only_the_tlog_directory_shared_is_refused(
    config_path: Path, tmp_path: Path
) -> None:
    other = make_data_dir(tmp_path / "other")
    use_ephemeral_ports(other)
    shared_tlog = config_path.parent / "admission.tlog"
    other.write_text(re.sub(r"(?m)^(  tlog_path:).*$", rf'\1 "{shared_tlog}"', other.read_text()))
    first = start_tracker(config_path)
    try:
        first.wait_ready()
        result = _run(other)
        assert result.returncode == 1
        assert f"pid {first.process.pid}" in result.stderr
    finally:
        assert first.stop() == 0


def test_a_foreign_sqlite_file_is_refused_and_left_byte_identical(config_path: Path) -> None:
    ledger = config_path.parent / "ledger.sqlite"
    connection = sqlite3.connect(ledger)
    connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, name TEXT)")
    connection.execute("INSERT INTO accounts VALUES (1, 'alice')")
    connection.commit()
    connection.close()
    before = ledger.read_bytes()
    result = _run(config_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"error: ledger: {ledger} is not a trio-tracker ledger (none of the ledger's tables; tables that are "
        "not a ledger's: accounts); point ledger.storage_path at this tracker's ledger (the file was left "
        "unchanged)\n"
    )
    assert ledger.read_bytes() == before
    assert not (config_path.parent / "ledger.sqlite-wal").exists()


def test_a_ledger_signed_by_another_key_is_refused(config_path: Path) -> None:
    seed_ledger_only(config_path, 0)
    key = config_path.parent / "identity.key"
    key.unlink()
    write_identity(key, generate_identity())
    before = (config_path.parent / "ledger.sqlite").read_bytes()
    result = _run(config_path)
    assert result.returncode == 1
    assert re.fullmatch(
        r"error: ledger: \S+/ledger\.sqlite: its tip entry seq=\d+ is not signed by this tracker's identity "
        r"key \(\S+/identity\.key\); use the key that wrote this ledger, or restore this tracker's ledger "
        r"from a backup \(`trio-tracker ledger verify` checks every entry\)\n",
        result.stderr,
    )
    assert (config_path.parent / "ledger.sqlite").read_bytes() == before


def test_a_ledger_with_a_damaged_tip_is_refused(config_path: Path) -> None:
    seed_ledger_only(config_path, 0)
    connection = sqlite3.connect(config_path.parent / "ledger.sqlite")
    connection.execute(
        "UPDATE entries SET canonical = CAST(canonical || X'00' AS BLOB)"
        " WHERE seq = (SELECT MAX(seq) FROM entries)"
    )
    connection.commit()
    connection.close()
    result = _run(config_path)
    assert result.returncode == 1
    assert "does not hash to its stored hash; run `trio-tracker ledger verify` and restore" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_missing_ledger_beside_admission_files_needs_the_flag(config_path: Path) -> None:
    _started_once(config_path)
    data_dir = config_path.parent
    for name in os.listdir(data_dir):
        if name.startswith("ledger.sqlite"):
            (data_dir / name).unlink()
    result = _run(config_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: ledger: {data_dir}/ledger.sqlite is missing but admission state "
    )
    assert "pass --allow-new-ledger to start a new, empty ledger" in result.stderr
    assert not (data_dir / "ledger.sqlite").exists()
    before = {name: (data_dir / name).read_bytes() for name in os.listdir(data_dir) if "admission" in name}
    assert before, "the first run left admission files"
    tracker = start_tracker(config_path, extra_args=("--allow-new-ledger",))
    tracker.wait_ready()
    assert tracker.stop() == 0
    assert (data_dir / "ledger.sqlite").exists()
    set_aside = [
        r
        for r in tracker.log_records()
        if r.get("message") == "admission: old state set aside for a new ledger"
    ]
    assert len(set_aside) == 1
    moved = [Path(name) for name in set_aside[0]["files"]]
    # every old admission file is kept byte for byte under its `.orphaned-` name
    assert sorted(before) == sorted(path.name.split(".orphaned-")[0] for path in moved)
    for path in moved:
        assert path.read_bytes() == before[path.name.split(".orphaned-")[0]]
    # the new chain starts without the flag from now on
    tracker = start_tracker(config_path)
    tracker.wait_ready()
    assert tracker.stop() == 0


def test_a_fresh_directory_needs_no_flag(config_path: Path) -> None:
    _started_once(config_path)


def test_config_validate_refuses_a_tlog_that_is_the_ledger(config_path: Path) -> None:
    ledger = config_path.parent / "ledger.sqlite"
    config_path.write_text(re.sub(r"(?m)^(  tlog_path:).*$", rf'\1 "{ledger}"', config_path.read_text()))
    for command in (("config", "validate"), ("run",)):
        result = run_cli(*command, "--config", str(config_path), timeout=30, env=tracker_env())
        assert result.returncode == 3
        assert result.stderr == (
            "validation failed:\n"
            f"  - admission.tlog_path: collides with ledger.storage_path (both {ledger})\n"
        )
    assert not ledger.exists()
