"""Copying the admission tlog while the tracker appends and rotates it: a rotation between listing and
copying the active file must not lose the bytes that moved into the new rotated file."""

from __future__ import annotations

from pathlib import Path

import pytest

import tracker.backup._copy as copy_module
from tracker.admission.persistence._tlog_writer import TLogWriter
from tracker.backup._copy import copy_tlog

_KIND_OPERATOR_OVERRIDE = 3


def _write_records(writer: TLogWriter, seqs: range) -> None:
    for seq in seqs:
        writer.append(seq, 1_700_000_000, _KIND_OPERATOR_OVERRIDE, b"x" * 40)
    writer.flush_sync()


def test_rotation_during_the_copy_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "source"
    source.mkdir()
    base = source / "admission.tlog"
    writer = TLogWriter.open(base, rotation_bytes=1 << 30)
    _write_records(writer, range(1, 11))
    writer._rotate_locked()  # admission.tlog.10 (immutable from now on)
    _write_records(writer, range(11, 21))
    real_copy = copy_module.copy_file
    rotated_once: list[bool] = []

    def copy_then_rotate(source_path: Path, target: Path, mode: int | None = None) -> None:
        if source_path == base and not rotated_once:
            # The tracker rotates right after our listing: the active file becomes admission.tlog.20 and a
            # new active file gets more records. The open below then sees the new, short active file.
            rotated_once.append(True)
            writer._rotate_locked()
            _write_records(writer, range(21, 26))
        real_copy(source_path, target, mode)

    monkeypatch.setattr(copy_module, "copy_file", copy_then_rotate)
    backup = tmp_path / "backup"
    backup.mkdir()
    copied = copy_tlog(base, backup)
    writer.close_sync()

    assert rotated_once == [True]
    assert [path.name for path in copied.targets] == [
        "admission.tlog.10",
        "admission.tlog.20",
        "admission.tlog",
    ]
    assert all(scan.clean for scan in copied.scans)
    assert [(scan.first_seq, scan.last_seq) for scan in copied.scans] == [(1, 10), (11, 20), (21, 25)]
    for target in copied.targets:
        assert target.read_bytes() == (source / target.name).read_bytes()
    assert copied.torn_bytes_cut == 0
