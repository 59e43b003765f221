"""Offline inspection summaries (the data behind `trio-tracker admission inspect`)."""

from __future__ import annotations

from pathlib import Path

from tracker.admission.persistence._inspect import (
    find_set_aside_files,
    inspect_configured_snapshots,
    inspect_configured_tlog,
)
from tracker.admission.persistence._snapshot_format import encode_snapshot
from tracker.admission.persistence._snapshot_store import snapshot_path, write_snapshot_file
from tracker.admission.persistence._tlog_format import encode_frame


def test_torn_rotated_file_is_damage_but_torn_active_file_is_not(tmp_path: Path) -> None:
    base = tmp_path / "admission.tlog"
    frames = encode_frame(1 << 20, 1, 0, bytes(76)) + encode_frame(2 << 20, 1, 0, bytes(76))
    (tmp_path / "admission.tlog.2097152").write_bytes(frames + b"\x00\x00")
    base.write_bytes(encode_frame(3 << 20, 1, 7, bytes(40)) + b"\x00")
    rotated, active = inspect_configured_tlog(str(base))
    assert (rotated.status, rotated.damaged, rotated.records) == ("truncated_mid_stream", True, 2)
    assert (active.status, active.damaged, active.counts) == ("torn_tail", False, {"starter_grant": 1})
    assert rotated.to_json()["ledger_seq_max"] == 2


def test_bad_payload_and_snapshot_name_mismatch_are_damage(tmp_path: Path) -> None:
    base = tmp_path / "admission.tlog"
    base.write_bytes(encode_frame(1 << 20, 1, 0, b"short"))
    (inspection,) = inspect_configured_tlog(str(base))
    assert inspection.damaged and inspection.payload_errors[0]["seq"] == 1 << 20
    prefix = tmp_path / "admission.snapshot"
    write_snapshot_file(snapshot_path(prefix, 5), encode_snapshot(6, 1, {}, {}))
    (snapshot,) = inspect_configured_snapshots(str(prefix))
    assert snapshot.damaged and "header says 6" in (snapshot.error or "")
    (tmp_path / "admission.tlog.damaged-20260101T000000Z").write_bytes(b"")
    assert [path.name for path in find_set_aside_files(str(base), str(prefix))] == [
        "admission.tlog.damaged-20260101T000000Z"
    ]
