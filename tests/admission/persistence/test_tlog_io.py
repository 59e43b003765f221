"""tlog writer and reader on disk (admission.md §7.4, §7.5): buffering, durable appends, rotation, failure
roll-back, enumeration and scanning."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
import trio

from tracker.admission._errors import TLogWriteError
from tracker.admission._tlog_trio import AsyncTLogWriter
from tracker.admission.persistence import _tlog_writer
from tracker.admission.persistence._metrics import PersistenceMetrics
from tracker.admission.persistence._tlog_format import MAX_FRAME_LENGTH, DisputePayload, encode_frame
from tracker.admission.persistence._tlog_reader import (
    cut_torn_tail,
    enumerate_tlog_files,
    move_aside,
    scan_tlog_bytes,
    scan_tlog_file,
)


def _records(path: Path) -> list[tuple[int, int, int, bytes]]:
    found: list[tuple[int, int, int, bytes]] = []
    scan_tlog_file(path, lambda *record: found.append(record))
    return found


async def test_appends_are_buffered_until_flush(tmp_path: Path) -> None:
    path = tmp_path / "admission.tlog"
    writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
    writer.append(1, 100, 0, b"a" * 76)
    assert path.stat().st_size == 0
    assert writer.needs_flush
    await writer.flush(fsync=True)
    assert _records(path) == [(1, 100, 0, b"a" * 76)]
    assert not writer.needs_flush
    await writer.aclose()


async def test_a_flush_cancelled_as_it_starts_still_writes_what_it_took(tmp_path: Path) -> None:
    # The flush takes the buffered frames before its worker thread starts: a cancellation that is already
    # pending then (a shutdown cancelling the fsync ticker, an admin request whose client went away) must not
    # make those frames disappear from both the buffer and the file.
    path = tmp_path / "admission.tlog"
    writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
    writer.append(1, 100, 0, b"a" * 76)
    with trio.CancelScope() as scope:
        async with writer.flush_lock:
            scope.cancel()
            await writer.flush_locked(fsync=True)
    assert _records(path) == [(1, 100, 0, b"a" * 76)]
    assert writer.durable == writer.last_ticket
    assert not writer.needs_flush
    await writer.aclose()
    assert _records(path) == [(1, 100, 0, b"a" * 76)]


async def test_durable_append_is_readable_immediately(tmp_path: Path) -> None:
    path = tmp_path / "admission.tlog"
    metrics = PersistenceMetrics()
    writer = await trio.to_thread.run_sync(lambda: AsyncTLogWriter.open(path, metrics=metrics))
    writer.append(1, 100, 0, b"s" * 76)
    async with writer.flush_lock:
        await writer.append_durable_locked(2, 100, 1, DisputePayload(b"\x11" * 32, False).encode())
    # The dispute and everything buffered before it are on disk (and fsynced) when the call returns.
    assert [record[0] for record in _records(path)] == [1, 2]
    assert metrics.tlog_fsyncs._value.get() == 1
    assert metrics.tlog_bytes_written._value.get() == path.stat().st_size
    await writer.aclose()


async def test_rotation_names_and_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "admission.tlog"
    (tmp_path / "admission.tlog.4").write_bytes(b"an older rotated file")
    writer = await trio.to_thread.run_sync(lambda: AsyncTLogWriter.open(path, rotation_bytes=200))
    for seq in range(1, 11):
        writer.append(seq, 1, 0, b"p" * 21)  # 46-byte frames
        await writer.flush(fsync=False)
    await writer.aclose()
    files = enumerate_tlog_files(path)
    assert [file.name for file in files] == [
        "admission.tlog.4",
        "admission.tlog.5",
        "admission.tlog.10",
        "admission.tlog",
    ]
    assert (tmp_path / "admission.tlog.4").read_bytes() == b"an older rotated file"
    assert [record[0] for record in _records(files[1])] == [1, 2, 3, 4, 5]
    assert [record[0] for record in _records(files[2])] == [6, 7, 8, 9, 10]
    assert path.stat().st_size == 0


async def test_reopen_appends_after_existing_frames(tmp_path: Path) -> None:
    path = tmp_path / "admission.tlog"
    for seq in (1, 2):
        writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
        writer.append(seq, 1, 0, b"x")
        await writer.aclose()
    assert [record[0] for record in _records(path)] == [1, 2]


async def test_failed_write_is_rolled_back_and_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "admission.tlog"
    writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
    writer.append(1, 1, 0, b"first")
    await writer.flush()
    real_write = os.write
    calls = {"n": 0}

    def half_then_fail(fd: int, data: object) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(memoryview(data))[:7])  # type: ignore[arg-type]
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(_tlog_writer.os, "write", half_then_fail)
    writer.append(2, 1, 0, b"second")
    with pytest.raises(TLogWriteError, match="No space left"):
        await writer.flush()
    monkeypatch.setattr(_tlog_writer.os, "write", real_write)
    scan = scan_tlog_file(path)
    assert scan.clean and scan.records == 1  # the half-written frame was truncated away
    writer.append(3, 1, 0, b"third")
    await writer.flush()
    assert [record[0] for record in _records(path)] == [1, 2, 3]
    await writer.aclose()


async def test_failed_durable_append_is_dropped_not_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "admission.tlog"
    writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
    writer.append(1, 1, 0, b"settlement")

    def fail(fd: int, data: object) -> int:
        raise OSError(errno.EIO, "Input/output error")

    real_write = os.write
    monkeypatch.setattr(_tlog_writer.os, "write", fail)
    async with writer.flush_lock:
        with pytest.raises(TLogWriteError):
            await writer.append_durable_locked(2, 1, 1, DisputePayload(b"\x22" * 32, False).encode())
    monkeypatch.setattr(_tlog_writer.os, "write", real_write)
    await writer.aclose()
    # The batched record is kept and written later; the failed dispute (reported as not applied) is not.
    assert [record[0] for record in _records(path)] == [1]


def test_backpressure_refuses_appends(tmp_path: Path) -> None:
    writer = AsyncTLogWriter.open(tmp_path / "t", max_pending_bytes=100)
    writer.append(1, 1, 0, b"x" * 50)  # 75-byte frames
    writer.append(2, 1, 0, b"x" * 50)
    with pytest.raises(TLogWriteError, match="refusing new appends"):
        writer.append(3, 1, 0, b"x")
    writer.close_sync()
    with pytest.raises(TLogWriteError, match="closed"):
        writer.append(4, 1, 0, b"x")


def test_enumeration_order_and_ignored_names(tmp_path: Path) -> None:
    base = tmp_path / "admission.tlog"
    for name in ("admission.tlog.200", "admission.tlog.50", "admission.tlog", "admission.tlog.100"):
        (tmp_path / name).write_bytes(b"")
    for name in ("admission.tlog.damaged-20260101T000000Z", "admission.tlog.abc", "other.tlog.1"):
        (tmp_path / name).write_bytes(b"")
    assert [path.name for path in enumerate_tlog_files(base)] == [
        "admission.tlog.50",
        "admission.tlog.100",
        "admission.tlog.200",
        "admission.tlog",
    ]
    assert enumerate_tlog_files(tmp_path / "missing" / "admission.tlog") == []


def test_scan_reports_torn_tail_and_keeps_the_cut_bytes(tmp_path: Path) -> None:
    frames = b"".join(encode_frame(seq, 1, 0, b"payload") for seq in (1, 2, 3))
    scan = scan_tlog_bytes(frames + frames[:10])
    assert (scan.records, scan.truncated, scan.damage, scan.good_end) == (3, True, [], len(frames))
    path = tmp_path / "t"
    path.write_bytes(frames + b"\x00\x07")
    kept = cut_torn_tail(path, len(frames), now=0)
    assert path.read_bytes() == frames
    assert kept.name == "t.torn-19700101T000000Z" and kept.read_bytes() == b"\x00\x07"
    moved = move_aside(path, now=0)
    assert moved.name == "t.damaged-19700101T000000Z" and not path.exists()
    path.write_bytes(b"")
    assert move_aside(path, now=0).name == "t.damaged-19700101T000000Z-1"


def _frames(count: int) -> list[bytes]:
    return [encode_frame(seq, 1, 1, bytes(32) + b"\x00") for seq in range(1, count + 1)]


@pytest.mark.parametrize("how", ["crc", "length_zero", "length_huge", "length_short_by_one"])
def test_damaged_frame_mid_file_costs_one_record(how: str) -> None:
    frames = _frames(10)
    size = len(frames[0])
    data = bytearray(b"".join(frames))
    at = 4 * size
    if how == "crc":
        data[at + 30] ^= 0x01
    elif how == "length_zero":
        data[at : at + 4] = bytes(4)
    elif how == "length_huge":
        data[at : at + 4] = b"\x7f\xff\xff\xff"
    else:
        data[at + 3] -= 1
    seen: list[int] = []
    scan = scan_tlog_bytes(bytes(data), lambda seq, ts, kind, payload: seen.append(seq))
    assert seen == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert scan.damage == [(at, at + size)] and not scan.truncated and not scan.not_a_tlog
    assert scan.corrupt_offset == at and scan.good_end == len(data)


def test_a_bad_final_frame_is_a_torn_tail_only_within_one_maximum_frame() -> None:
    frames = b"".join(_frames(3))
    scan = scan_tlog_bytes(frames + b"\x00\x00\x00\x30" + bytes(20))  # runs past the end
    assert scan.truncated and not scan.damage and scan.good_end == len(frames)
    garbage = b"\x01" * (MAX_FRAME_LENGTH + 10)
    scan = scan_tlog_bytes(frames + garbage)
    assert not scan.truncated and scan.damage == [(len(frames), len(frames) + len(garbage))]


def test_a_file_that_does_not_start_with_a_frame_is_damaged_or_not_a_tlog() -> None:
    frames = b"".join(_frames(3))
    scan = scan_tlog_bytes(b"garbage!" + frames)
    assert scan.records == 3 and scan.damage == [(0, 8)] and not scan.not_a_tlog
    text = b"log_level: info\nadmission:\n  tlog_path: x\n" * 3
    assert scan_tlog_bytes(text).not_a_tlog
    sqlite_like = b"SQLite format 3\x00" + bytes(4000)
    assert scan_tlog_bytes(sqlite_like).not_a_tlog
    # A first frame whose write never completed is a torn tail, not a foreign file.
    assert scan_tlog_bytes(frames[:20]).truncated
    assert scan_tlog_bytes(bytes(40)).truncated
