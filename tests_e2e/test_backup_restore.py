"""`trio-tracker backup` end to end: a backup taken while a running tracker takes admin mutations (tlog
records) and the ledger takes appends, restored into a fresh directory with the steps of docs/operations.md,
serves the ledger as of the backup's tip with admission state equal to every one of those entries applied
once; plus the refusals and repairs the command promises (non-empty target, a torn tlog tail, a damaged
snapshot, admission files ahead of the ledger)."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import httpx
import trio

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import (
    CONSUMERS,
    auth_headers,
    make_data_dir,
    recompute_from_ledger,
    seed_ledger_only,
    seed_through_admission,
    served_consumer,
    start_tracker,
    use_ephemeral_ports,
)
from tracker.admission import enumerate_snapshots
from tracker.config import load as load_config
from tracker.identity import load_identity
from tracker.ledger import balance_deltas, open_ledger

REPO_ROOT = Path(__file__).resolve().parent.parent


def _restore(backup: Path, new_dir: Path) -> Path:
    """The steps of docs/operations.md ("Restore into a new directory"): check the sums, copy every file but
    the manifest and the sums into the new directory, point the config's paths at it."""
    manifest = json.loads((backup / "manifest.json").read_text())
    old_dir = Path(manifest["config_path"]).parent
    check = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=backup, capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    new_dir.mkdir(mode=0o700)
    for path in backup.iterdir():
        if path.name not in ("manifest.json", "SHA256SUMS"):
            shutil.copy2(path, new_dir / path.name)
    assert sorted(path.name for path in new_dir.iterdir()) == sorted(
        item["name"] for item in manifest["files"]
    )
    config_path = new_dir / "tracker.yaml"
    config_path.write_text(config_path.read_text().replace(str(old_dir), str(new_dir)))
    return config_path


def _ledger_balances_up_to(config_path: Path, tip_seq: int) -> tuple[dict[bytes, int], bytes | None]:
    """Balances from replaying the source ledger's entries 1..tip_seq, and the hash of entry tip_seq."""
    config = load_config(config_path)
    identity = load_identity(config.server.identity_key_path)

    async def entries() -> list:
        async with open_ledger(config.ledger.storage_path, identity) as ledger:
            return await ledger.entries_since(0, 0)

    balances: dict[bytes, int] = {}
    tip_hash = None
    for committed in trio.run(entries):
        if committed.seq > tip_seq:
            break
        for identity_id, delta in balance_deltas(committed.body, committed.transfer_in_recipient):
            balances[identity_id] = balances.get(identity_id, 0) + delta
        tip_hash = committed.hash
    return balances, tip_hash


class _LedgerAppender(threading.Thread):
    """Appends rounds of usage entries to the ledger of a running tracker from another connection."""

    def __init__(self, config_path: Path) -> None:
        super().__init__(daemon=True)
        self.config_path = config_path
        self.stop = threading.Event()
        self.rounds = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set() and self.rounds < 12:
                self.rounds += 1
                seed_ledger_only(self.config_path, self.rounds)
        except BaseException as error:
            self.error = error


class _BlocklistLoad(threading.Thread):
    """Admin mutations: each POST/DELETE of a blocklist entry writes an admission tlog record."""

    def __init__(self, admin_url: str) -> None:
        super().__init__(daemon=True)
        self.admin_url = admin_url
        self.stop = threading.Event()
        self.ok = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.admin_url, headers=auth_headers(), timeout=5) as client:
            step = 0
            while not self.stop.is_set():
                peer = f"{step % 7:064x}"
                method = "POST" if step % 2 == 0 else "DELETE"
                step += 1
                if client.request(method, f"/admission/peers/blocklist/{peer}").status_code == 200:
                    self.ok += 1


def test_backup_under_load_then_restore_serves_the_same_balances(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "source")
    use_ephemeral_ports(config_path)
    seed_through_admission(config_path)  # ledger entries, their tlog records and a snapshot
    tracker = start_tracker(config_path)
    backup = tmp_path / "backup"
    try:
        tracker.wait_ready()
        load = _BlocklistLoad(tracker.admin_url)
        appender = _LedgerAppender(config_path)
        load.start()
        appender.start()
        time.sleep(1.0)
        result = run_cli("backup", "--config", str(config_path), "--to", str(backup), timeout=120)
        time.sleep(0.3)
        appender.stop.set()
        load.stop.set()
        appender.join(60)
        load.join(10)
        assert appender.error is None, appender.error
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith(f"OK: backup {backup}: "), result.stdout
        assert load.ok > 5 and appender.rounds >= 2
        assert tracker.stop() == 0, tracker.stderr
    finally:
        tracker.kill()

    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["verified"] is True and manifest["problems"] == []
    roles = {item["role"] for item in manifest["files"]}
    assert {"config", "identity_key", "ledger", "admission_tlog", "admission_snapshot"} <= roles
    tip = manifest["ledger_tip_seq"]
    assert tip > 0 and manifest["admission_ledger_position"] <= tip
    assert manifest["tracker_id"] == load_identity(tmp_path / "source" / "identity.key").tracker_id.hex()
    # The copy is the source's history up to `tip`: same entry hash there, so the same chain before it.
    expected_balances, source_tip_hash = _ledger_balances_up_to(config_path, tip)
    assert source_tip_hash is not None and source_tip_hash.hex() == manifest["ledger_tip_hash"]

    restored_config = _restore(backup, tmp_path / "restored")
    assert run_cli("config", "validate", "--config", str(restored_config)).returncode == 0
    verify = run_cli("ledger", "verify", "--config", str(restored_config))
    assert verify.returncode == 0 and f"tip seq {tip} " in verify.stdout, verify.stdout + verify.stderr
    restored = start_tracker(restored_config)
    try:
        restored.wait_ready()
        served = {
            consumer.identity_id: served_consumer(restored, consumer.identity_id) for consumer in CONSUMERS
        }
        assert restored.stop() == 0, restored.stderr
    finally:
        restored.kill()
    for consumer in CONSUMERS:
        assert served[consumer.identity_id].balance == expected_balances[consumer.identity_id]
        balance = run_cli("ledger", "balance", "--config", str(restored_config), consumer.identity_id.hex())
        assert json.loads(balance.stdout)["credits"] == expected_balances[consumer.identity_id]
    # Admission state after the restore = every ledger entry of the copy applied exactly once.
    recomputed = recompute_from_ledger(restored_config)
    for consumer_id, state in served.items():
        assert state.admission == json.loads(json.dumps(recomputed[consumer_id].admission))


def test_backup_refuses_a_non_empty_target(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "source")
    seed_ledger_only(config_path, 0)
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep-me").write_text("operator file")
    result = run_cli("backup", "--config", str(config_path), "--to", str(target))
    assert result.returncode == 1
    assert "is not empty" in result.stderr
    assert sorted(path.name for path in target.iterdir()) == ["keep-me"]
    missing = run_cli("backup", "--config", str(config_path))
    assert missing.returncode == 1 and "--to is required" in missing.stderr


def test_torn_tlog_tail_is_cut_and_damaged_snapshot_left_out(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "source")
    seed_through_admission(config_path)
    config = load_config(config_path)
    tlog = Path(config.admission.tlog_path)
    good_size = tlog.stat().st_size
    with open(tlog, "ab") as handle:
        handle.write(b"\x00\x00\x00\x40partial")  # a frame header promising more bytes than follow
    _, newest = enumerate_snapshots(config.admission.snapshot_path_prefix)[-1]
    bad = newest.with_name(newest.name[:-1] + "9")  # a later, unreadable snapshot
    bad.write_bytes(newest.read_bytes()[:-4] + b"\x00\x00\x00\x00")
    backup = tmp_path / "backup"
    result = run_cli("backup", "--config", str(config_path), "--to", str(backup))
    assert result.returncode == 0, result.stdout + result.stderr
    assert (backup / tlog.name).stat().st_size == good_size
    assert not (backup / bad.name).exists() and (backup / newest.name).exists()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert [item["source"] for item in manifest["skipped"]] == [str(bad)]
    assert "CRC" in manifest["skipped"][0]["reason"] and f"left out {bad}" in result.stderr


def test_admission_files_ahead_of_the_ledger_fail_verification(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "source")
    config = load_config(config_path)
    identity = load_identity(config.server.identity_key_path)

    async def create_empty_ledger() -> None:
        async with open_ledger(config.ledger.storage_path, identity):
            pass

    trio.run(create_empty_ledger)
    ledger = Path(config.ledger.storage_path)
    empty_copy = tmp_path / "empty-ledger.sqlite"
    with sqlite3.connect(ledger) as source, sqlite3.connect(empty_copy) as target:
        source.backup(target)
    seed_through_admission(config_path)  # tlog records and a snapshot for entries 1..N
    for suffix in ("-wal", "-shm"):
        ledger.with_name(ledger.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(empty_copy, ledger)  # the ledger now ends before what admission reflects

    backup = tmp_path / "backup"
    result = run_cli("backup", "--config", str(config_path), "--to", str(backup))
    assert result.returncode == 1
    assert result.stdout.startswith(f"FAILED: backup {backup}: verification found"), result.stdout
    assert "not a consistent copy" in result.stderr
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["verified"] is False and manifest["ledger_tip_seq"] == 0
    assert manifest["admission_ledger_position"] > 0
