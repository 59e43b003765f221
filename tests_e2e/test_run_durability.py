"""Durability and repair as an operator meets them, through `trio-tracker run` subprocesses: a 2xx admin
mutation survives an immediate SIGKILL, a full disk answers 5xx and makes the shutdown exit 1, mid-file tlog
damage is quarantined and costs one record, a tlog path naming another file is refused without touching it,
admission state ahead of the ledger is refused, and the admin blocklist survives restarts and snapshots."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import struct
import subprocess
from pathlib import Path

import httpx
import pytest
import trio

from tests.admission._helpers import dispute, make_id_i, open_persistent
from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import (
    TrackerProcess,
    auth_headers,
    make_data_dir,
    seed_ledger_only,
    start_tracker,
    use_ephemeral_ports,
)

TRIALS = 20


def _peer(index: int) -> str:
    return f"{index:04x}" * 16


def _set_admission_path(config_path: Path, key: str, value: str) -> None:
    text = config_path.read_text()
    new_text, count = re.subn(rf'(^  {key}:) "[^"\n]*"', rf'\g<1> "{value}"', text, count=1, flags=re.M)
    assert count == 1, key
    config_path.write_text(new_text)


def _ready(config_path: Path) -> TrackerProcess:
    tracker = start_tracker(config_path)
    tracker.wait_ready()
    return tracker


def _metric(tracker: TrackerProcess, name: str) -> float:
    text = httpx.get(f"{tracker.metrics_url}/metrics", timeout=10).text
    match = re.search(rf"^{name} (\S+)$", text, re.M)
    assert match is not None, f"{name} not exported"
    return float(match.group(1))


def _blocklist(tracker: TrackerProcess) -> list[str]:
    response = httpx.get(f"{tracker.admin_url}/admission/peers/blocklist", headers=auth_headers(), timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _override_records(config_path: Path) -> list[dict[str, object]]:
    result = run_cli("admission", "inspect", "--config", str(config_path), "--records", "--json")
    assert result.returncode in (0, 4), result.stderr
    return [
        line
        for tlog in json.loads(result.stdout)["tlog"]
        for line in tlog.get("record_list", [])
        if line["kind"] == "operator_override"
    ]


def _error_lines(stderr: str) -> list[str]:
    """The `error:` lines on stderr; asserts every other line is a structured (JSON) log line, so no stray
    traceback was printed."""
    errors = []
    for line in stderr.splitlines():
        if line.startswith("error:"):
            errors.append(line)
        else:
            assert isinstance(json.loads(line), dict), line
    return errors


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(path)
    return path


def test_sigkill_right_after_a_2xx_mutation_loses_nothing(config_path: Path) -> None:
    for trial in range(TRIALS):
        tracker = _ready(config_path)
        with httpx.Client(base_url=tracker.admin_url, headers=auth_headers(), timeout=10) as client:
            response = client.post(f"/admission/peers/blocklist/{_peer(trial)}")
            assert response.status_code == 200, response.text
            os.kill(tracker.process.pid, signal.SIGKILL)  # no drain, no final flush, no final snapshot
        tracker.wait()
        assert tracker.process.returncode == -signal.SIGKILL
    added = [json.loads(str(line["params"]))["peer_id"] for line in _override_records(config_path)]
    assert added == [_peer(trial) for trial in range(TRIALS)]  # 0 losses in 20 trials
    tracker = _ready(config_path)
    try:
        assert _blocklist(tracker) == sorted(_peer(trial) for trial in range(TRIALS))
    finally:
        assert tracker.stop() == 0


def test_blocklist_survives_restarts_and_snapshots(config_path: Path) -> None:
    tracker = _ready(config_path)
    with httpx.Client(base_url=tracker.admin_url, headers=auth_headers(), timeout=10) as client:
        for index in (1, 2, 3):
            assert client.post(f"/admission/peers/blocklist/{_peer(index)}").status_code == 200
        assert client.delete(f"/admission/peers/blocklist/{_peer(2)}").status_code == 200
    assert tracker.stop() == 0  # clean: a final snapshot (Go's format: no blocklist in it)
    tracker = _ready(config_path)
    assert _blocklist(tracker) == [_peer(1), _peer(3)]
    with httpx.Client(base_url=tracker.admin_url, headers=auth_headers(), timeout=10) as client:
        assert client.post(f"/admission/peers/blocklist/{_peer(4)}").status_code == 200
        assert client.post("/admission/snapshot").status_code == 200
    tracker.kill()
    tracker = _ready(config_path)
    try:
        assert _blocklist(tracker) == [_peer(1), _peer(3), _peer(4)]
    finally:
        assert tracker.stop() == 0


def _mount_tmpfs(directory: Path, size: str) -> None:
    directory.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs to fill up (needs root / CAP_SYS_ADMIN): {result.stderr.strip()}")


def test_disk_full_answers_5xx_counts_and_the_failed_final_flush_exits_1(
    config_path: Path, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    _mount_tmpfs(small, "64k")
    try:
        _set_admission_path(config_path, "tlog_path", str(small / "admission.tlog"))
        _set_admission_path(config_path, "snapshot_path_prefix", str(small / "admission.snapshot"))
        tracker = _ready(config_path)
        with httpx.Client(base_url=tracker.admin_url, headers=auth_headers(), timeout=10) as client:
            assert client.post(f"/admission/peers/blocklist/{_peer(1)}").status_code == 200
            assert _metric(tracker, "admission_tlog_append_failures_total") == 0
            filler = small / "filler"
            fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
            try:  # take every free byte
                for size in (4096, 1):
                    while True:
                        try:
                            os.write(fd, b"\0" * size)
                        except OSError:
                            break
            finally:
                os.close(fd)
            acknowledged = [_peer(1)]
            for index in range(2, 200):  # the tlog's last page still has room: fill it, then fail
                response = client.post(f"/admission/peers/blocklist/{_peer(index)}")
                if response.status_code != 200:
                    break
                acknowledged.append(_peer(index))
            assert response.status_code == 500
            assert response.json() == {"error": "tlog write failed"}
            assert _metric(tracker, "admission_tlog_append_failures_total") >= 1
        tracker.send_signal(signal.SIGTERM)
        assert tracker.wait() == 1  # the buffered record could not be written at shutdown
        assert any("final tlog flush failed" in line for line in _error_lines(tracker.stderr))
        # Space again: what was acknowledged is there, the tlog is whole (no half-written frame).
        filler.unlink()
        added = [json.loads(str(line["params"]))["peer_id"] for line in _override_records(config_path)]
        assert added[: len(acknowledged)] == acknowledged
        result = run_cli("admission", "inspect", "--tlog", str(small / "admission.tlog"))
        assert result.returncode == 0, result.stdout
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)


def _frames(path: Path) -> list[tuple[int, int, bytes]]:
    """(offset, kind, payload) of every frame of an undamaged tlog file."""
    data = path.read_bytes()
    frames = []
    offset = 0
    while offset < len(data):
        (length,) = struct.unpack_from(">I", data, offset)
        frames.append((offset, data[offset + 20], data[offset + 21 : offset + 4 + length - 4]))
        offset += 4 + length
    return frames


def test_mid_file_frame_length_damage_is_quarantined_and_costs_one_record(config_path: Path) -> None:
    data_dir = config_path.parent
    assert _ready(config_path).stop() == 0  # a ledger and admission files as a real run leaves them
    consumers = [make_id_i(index) for index in range(30)]

    async def write_disputes() -> None:
        service = await open_persistent(data_dir, snapshot_path_prefix="")
        for consumer in consumers:
            assert await service.on_dispute_event(dispute(consumer))  # fsynced
        await service.aclose()

    trio.run(write_disputes)
    tlog = data_dir / "admission.tlog"
    damaged_offset = next(
        offset for offset, kind, payload in _frames(tlog) if kind == 1 and payload[:32] == consumers[10]
    )
    data = bytearray(tlog.read_bytes())
    data[damaged_offset : damaged_offset + 4] = b"\xff\xff\x00\x00"  # a frame length far too large
    tlog.write_bytes(bytes(data))

    before = run_cli("admission", "inspect", "--config", str(config_path))
    assert before.returncode == 4, before.stdout
    tracker = _ready(config_path)
    try:
        assert _metric(tracker, "admission_degraded_mode_active") == 1
        assert _metric(tracker, "admission_tlog_local_records_lost_total") == 1
        for index, consumer in enumerate(consumers):
            response = httpx.get(
                f"{tracker.admin_url}/admission/consumer/{consumer.hex()}", headers=auth_headers(), timeout=10
            )
            assert response.status_code == (404 if index == 10 else 200), index
    finally:
        assert tracker.stop() == 0
    quarantined = list(data_dir.glob("admission.tlog.damaged-*"))
    assert len(quarantined) == 1 and quarantined[0].read_bytes() == bytes(data)  # moved aside untouched
    after = run_cli("admission", "inspect", "--config", str(config_path))
    assert after.returncode == 4 and "quarantined" in after.stdout


def test_tlog_path_naming_another_file_is_refused_and_left_byte_identical(config_path: Path) -> None:
    seed_ledger_only(config_path, 0)
    data_dir = config_path.parent
    notes = data_dir / "notes.txt"
    notes.write_text("operator notes: do not delete\n" * 10)
    _set_admission_path(config_path, "tlog_path", str(notes))
    before = notes.read_bytes()
    ledger_before = {path.name: path.read_bytes() for path in data_dir.glob("ledger.sqlite*")}
    tracker = start_tracker(config_path)
    assert tracker.wait(30) == 1
    errors = _error_lines(tracker.stderr)
    assert len(errors) == 1 and "is not an admission tlog" in errors[0], tracker.stderr
    assert notes.read_bytes() == before
    assert {path.name: path.read_bytes() for path in data_dir.glob("ledger.sqlite*")} == ledger_before


def test_tlog_path_equal_to_the_ledger_path_leaves_the_ledger_byte_identical(config_path: Path) -> None:
    seed_ledger_only(config_path, 0)
    ledger = config_path.parent / "ledger.sqlite"
    _set_admission_path(config_path, "tlog_path", str(ledger))
    before = ledger.read_bytes()
    tracker = start_tracker(config_path)
    # The config check (ledger, tlog, snapshots, key must be distinct files) refuses it first: exit 3.
    assert tracker.wait(30) == 3, tracker.stderr
    assert "admission.tlog_path: collides with ledger.storage_path" in tracker.stderr
    assert ledger.read_bytes() == before


def test_tlog_path_naming_another_database_is_refused_before_anything_opens(config_path: Path) -> None:
    seed_ledger_only(config_path, 0)
    data_dir = config_path.parent
    other = data_dir / "other-app.sqlite"
    with sqlite3.connect(other) as connection:
        connection.execute("create table accounts (id integer primary key, name text)")
        connection.executemany("insert into accounts (name) values (?)", [(f"n{i}",) for i in range(300)])
    connection.close()
    _set_admission_path(config_path, "tlog_path", str(other))
    before = other.read_bytes()
    tracker = start_tracker(config_path)
    assert tracker.wait(30) == 1
    errors = _error_lines(tracker.stderr)
    assert len(errors) == 1 and "is not an admission tlog" in errors[0], tracker.stderr
    assert other.read_bytes() == before
    assert not list(data_dir.glob("other-app.sqlite.*"))  # nothing cut, moved or written beside it


def test_admission_ahead_of_the_ledger_is_refused_naming_the_fix(config_path: Path) -> None:
    data_dir = config_path.parent
    seed_ledger_only(config_path, 0)
    backup = data_dir / "backup"
    backup.mkdir()
    for path in data_dir.glob("ledger.sqlite*"):
        shutil.copy2(path, backup / path.name)
    seed_ledger_only(config_path, 1)
    assert _ready(config_path).stop() == 0  # admission has now seen every entry
    for path in data_dir.glob("ledger.sqlite*"):
        path.unlink()
    for path in backup.iterdir():  # an older backup comes back
        shutil.copy2(path, data_dir / path.name)
    tracker = start_tracker(config_path)
    assert tracker.wait(30) == 1
    errors = _error_lines(tracker.stderr)
    assert len(errors) == 1 and "ledger verify" in errors[0] and "backup" in errors[0], tracker.stderr
