"""`trio-tracker admission inspect` as an operator runs it: text and JSON summaries, exit 0 clean, 4 on
damage, 1 on I/O errors."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from tests.admission._helpers import (
    KIND_USAGE,
    NOW,
    FakeLedger,
    dispute,
    make_id_i,
    open_persistent,
)
from tests_e2e.conftest import run_cli


def _init(tmp_path: Path) -> Path:
    data_dir = tmp_path / "data"
    result = run_cli("init", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    return data_dir


async def _write_some(data_dir: Path) -> None:
    ledger = FakeLedger()
    persistent = await open_persistent(data_dir, ledger=ledger)
    for index in range(5):
        persistent.on_ledger_entry(ledger.append(KIND_USAGE, make_id_i(index), cost=3))
    await persistent.on_dispute_event(dispute(make_id_i(1)))
    persistent.record_operator_override("anonymous", "queue/drain", {"n": 2}, now=NOW)
    await persistent.aclose()


def test_inspect_clean_then_damaged(tmp_path: Path) -> None:
    data_dir = _init(tmp_path)
    config = str(data_dir / "tracker.yaml")
    empty = run_cli("admission", "inspect", "--config", config)
    assert empty.returncode == 0, empty.stderr
    assert "OK: 0 tlog file(s), 0 snapshot(s)" in empty.stdout

    trio.run(_write_some, data_dir)
    clean = run_cli("admission", "inspect", "--config", config)
    assert clean.returncode == 0, clean.stderr
    assert "dispute_filed 1, operator_override 1, settlement 5, snapshot_mark 1" in clean.stdout
    assert "5 consumers, 0 seeders" in clean.stdout

    as_json = run_cli("admission", "inspect", "--config", config, "--json")
    report = json.loads(as_json.stdout)
    assert as_json.returncode == 0 and report["damaged"] is False
    tlog = report["tlog"][0]
    assert tlog["counts"] == {"dispute_filed": 1, "operator_override": 1, "settlement": 5, "snapshot_mark": 1}
    assert (tlog["seq_min"], tlog["ledger_seq_max"]) == (1 << 20, 5)
    assert report["snapshots"][0]["consumers"] == 5

    records = run_cli(
        "admission", "inspect", "--tlog", str(data_dir / "admission.tlog"), "--records", "--json"
    )
    listed = json.loads(records.stdout)["tlog"][0]["record_list"]
    assert [line["kind"] for line in listed][:6] == ["settlement"] * 5 + ["dispute_filed"]
    assert listed[6]["action"] == "queue/drain" and listed[6]["params"] == '{"n":2}'

    # A torn tail on the active file is the normal end after a crash: reported, exit 0.
    tlog_path = data_dir / "admission.tlog"
    with open(tlog_path, "ab") as handle:
        handle.write(b"\x00\x00\x00")
    torn = run_cli("admission", "inspect", "--tlog", str(tlog_path))
    assert torn.returncode == 0 and "torn frame at offset" in torn.stdout

    # A CRC mismatch mid-file is damage: exit 4 with the offset.
    data = bytearray(tlog_path.read_bytes())
    data[101 + 30] ^= 0xFF
    tlog_path.write_bytes(bytes(data))
    damaged = run_cli("admission", "inspect", "--config", config)
    assert damaged.returncode == 4
    assert "damaged bytes at offset 101..202" in damaged.stdout and "DAMAGED: 1 file(s)" in damaged.stdout

    snapshot = next(data_dir.glob("admission.snapshot.*"))
    snapshot.write_bytes(snapshot.read_bytes()[:-3])
    bad_snapshot = run_cli("admission", "inspect", "--snapshot", str(snapshot), "--json")
    assert bad_snapshot.returncode == 4
    assert (
        json.loads(bad_snapshot.stdout)["snapshots"][0]["error"] == "admission/snapshot: trailer CRC mismatch"
    )


def test_inspect_usage_and_io_errors(tmp_path: Path) -> None:
    missing = run_cli("admission", "inspect", "--tlog", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "No such file or directory" in missing.stderr
    assert "Traceback" not in missing.stderr
    no_config = run_cli("admission", "inspect")
    assert no_config.returncode == 1 and "--config is required" in no_config.stderr
    both = run_cli("admission", "inspect", "--tlog", "a", "--snapshot", "b")
    assert both.returncode == 1
    directory = run_cli("admission", "inspect", "--snapshot", str(tmp_path))
    assert directory.returncode == 1 and "Traceback" not in directory.stderr
    help_text = run_cli("admission", "inspect", "--help")
    assert help_text.returncode == 0 and "4  damage found" in help_text.stdout
