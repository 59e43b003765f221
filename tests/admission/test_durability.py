"""Durability and repair at the service boundary: the admin blocklist survives restarts (also past a
snapshot), a file that is not a tlog is refused untouched, admission state ahead of the ledger is refused, a
snapshot that failed to load is moved aside, and a failed final flush is reported."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest
import trio

from tests.admission._helpers import (
    KIND_USAGE,
    FakeLedger,
    crash,
    dispute,
    make_id,
    metric_value,
    open_persistent,
    real_core,
)
from tracker.admission._errors import AdmissionAheadOfLedgerError, TLogNotATLogError, TLogWriteError
from tracker.admission.persistence import _tlog_writer
from tracker.admission.persistence._snapshot_store import enumerate_snapshots

PEER_A, PEER_B, PEER_C = make_id(0xA1), make_id(0xB2), make_id(0xC3)


async def _blocklist_service(tmp_path: Path, **overrides: object):
    return await open_persistent(tmp_path, core=real_core(tmp_path), **overrides)


async def test_blocklist_survives_restart_crash_and_snapshots(tmp_path: Path) -> None:
    service = await _blocklist_service(tmp_path)
    for peer in (PEER_A, PEER_B, PEER_C):
        await service.blocklist_add(peer, operator_id="op", as_written=peer.hex().upper())
    await service.blocklist_remove(PEER_B, operator_id="op", as_written=PEER_B.hex())
    crash(service)  # no final flush, no final snapshot: the acknowledged records alone must carry it
    service = await _blocklist_service(tmp_path)
    assert service.blocklist() == sorted([PEER_A.hex(), PEER_C.hex()])
    # Snapshots (Go's format, no blocklist) supersede the tlog records before them; the blocklist stays.
    await service.snapshot_now()
    await service.blocklist_remove(PEER_C, operator_id="op", as_written=PEER_C.hex())
    await service.snapshot_now()
    await service.aclose()
    assert enumerate_snapshots(tmp_path / "admission.snapshot")
    service = await _blocklist_service(tmp_path)
    assert service.replay_report.snapshot_seq > 0
    assert service.blocklist() == [PEER_A.hex()]
    await service.aclose()


async def test_a_file_that_is_not_a_tlog_is_refused_untouched(tmp_path: Path) -> None:
    database = tmp_path / "other.sqlite"
    with sqlite3.connect(database) as connection:
        connection.execute("create table t (x)")
        connection.executemany("insert into t values (?)", [(index,) for index in range(500)])
    before = database.read_bytes()
    with pytest.raises(TLogNotATLogError, match="is not an admission tlog"):
        await open_persistent(tmp_path, tlog_path=str(database), snapshot_path_prefix="")
    assert database.read_bytes() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["other.sqlite"]
    text = tmp_path / "notes.txt"
    text.write_text("admission:\n  tlog_path: wrong\n")
    with pytest.raises(TLogNotATLogError):
        await open_persistent(tmp_path, tlog_path=str(text), snapshot_path_prefix="")
    assert text.read_text() == "admission:\n  tlog_path: wrong\n"


async def test_admission_ahead_of_the_ledger_is_refused(tmp_path: Path) -> None:
    ledger = FakeLedger()
    service = await open_persistent(tmp_path, ledger=ledger)
    for byte in range(1, 6):
        assert service.on_ledger_entry(ledger.append(KIND_USAGE, make_id(byte)))
    await service.aclose()
    restored = FakeLedger()  # an older backup: 3 of the 5 entries
    for byte in range(1, 4):
        restored.append(KIND_USAGE, make_id(byte))
    with pytest.raises(AdmissionAheadOfLedgerError, match="ledger verify") as raised:
        await open_persistent(tmp_path, ledger=restored)
    assert "ledger entry 5" in str(raised.value)
    reopened = await open_persistent(tmp_path, ledger=ledger)  # the full ledger is fine
    await reopened.aclose()


async def test_snapshot_that_failed_to_load_is_moved_aside_after_start(tmp_path: Path) -> None:
    service = await open_persistent(tmp_path)
    await service.on_dispute_event(dispute(make_id(1)))
    await service.snapshot_now()
    await service.on_dispute_event(dispute(make_id(2)))
    newest = await service.snapshot_now()
    assert newest is not None
    await service.aclose()
    damaged = bytearray(newest.read_bytes())
    damaged[30] ^= 0xFF
    newest.write_bytes(bytes(damaged))
    reopened = await open_persistent(tmp_path)
    assert reopened.snapshot_load_failures == 1
    assert not newest.exists()
    aside = list(tmp_path.glob(newest.name + ".damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(damaged)
    assert set(reopened.core.consumers) == {make_id(1), make_id(2)}
    await reopened.aclose()


async def test_failed_final_flush_raises_and_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = await open_persistent(tmp_path, snapshot_path_prefix="")
    service.record_operator_override("op", "snapshot", {})

    def failing_write(fd: int, data: object) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_tlog_writer.os, "write", failing_write)
    with pytest.raises(TLogWriteError, match="final tlog flush failed"):
        await service.aclose()
    assert metric_value(service.persistence_metrics, "tlog_append_failures") == 1


@pytest.mark.parametrize("fast_replay", [True, False])
async def test_a_fifo_where_a_tlog_or_snapshot_is_expected_fails_fast(
    tmp_path: Path, fast_replay: bool
) -> None:
    os.mkfifo(tmp_path / "admission.tlog")
    with trio.fail_after(5), pytest.raises(OSError, match="not a regular file"):
        await open_persistent(tmp_path, snapshot_path_prefix="", fast_replay=fast_replay)
    (tmp_path / "admission.tlog").unlink()
    os.mkfifo(tmp_path / "admission.snapshot.00000000000000000001")
    with trio.fail_after(5):
        service = await open_persistent(tmp_path, fast_replay=fast_replay)
    assert service.snapshot_load_failures == 1 and service.degraded_mode  # counted, never read
    await service.aclose()
