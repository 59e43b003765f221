"""Benchmark of the admission tlog and recovery. Prints figures, each next to a baseline measured in
the same run:

1. tlog appends/s with batched fsync (the real writer, Trio fsync ticker every 5 ms) vs the raw limit: a loop
   of os.write of the same frames (CRC-32C computed per frame) with an fsync every 5 ms.
2. Dispute (synchronous) append latency p50/p99 (append + write + fsync in a worker thread, as the tracker
   does) vs a raw os.write + os.fsync loop.
3. Recovery time of AdmissionService.startup_replay for a 100k-consumer snapshot + 1M tlog records, plain
   settlements and a mix with starter grants and disputes, each next to the floor of reading both files and
   checking every CRC.

Targets: >= 300k appends/s and >= 50 % of raw; recovery <= 5 s.
Usage: .venv/bin/python bench/tlog.py [--appends N] [--disputes N] [--consumers N] [--records N] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import trio
from _samples import percentile

from tracker.admission._service import AdmissionService
from tracker.admission._tlog_trio import AsyncTLogWriter
from tracker.admission.core._events import LedgerEvent, LedgerEventKind, apply_ledger_event
from tracker.admission.core._state import ConsumerCreditState
from tracker.admission.persistence._seq import LEDGER_SEQ_SHIFT
from tracker.admission.persistence._snapshot_format import encode_snapshot
from tracker.admission.persistence._snapshot_store import snapshot_path, write_snapshot_file
from tracker.admission.persistence._tlog_format import (
    DisputePayload,
    SettlementPayload,
    StarterGrantPayload,
    TLogKind,
    crc32c,
)

NOW = 1777118400
WINDOW_S = 0.005


def _payloads(count: int) -> list[bytes]:
    rng = random.Random(1)
    consumers = [rng.randbytes(32) for _ in range(1024)]
    return [
        SettlementPayload(
            consumers[index % 1024], consumers[(index * 7 + 1) % 1024], 1 + index % 97, 0
        ).encode()
        for index in range(count)
    ]


async def _batched_appends(path: Path, payloads: list[bytes]) -> tuple[float, int]:
    writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
    fsyncs = 0

    async def ticker() -> None:
        nonlocal fsyncs
        while True:
            await trio.sleep(WINDOW_S)
            if writer.needs_flush:
                await writer.flush(fsync=True)
                fsyncs += 1

    started = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(ticker)
        append = writer.append
        for seq, payload in enumerate(payloads, start=1):
            append(seq << LEDGER_SEQ_SHIFT, NOW, 0, payload)
            if seq % 2000 == 0:
                await trio.sleep(0)  # events arrive from other tasks: let the ticker run
                while writer.pending_bytes > 16 << 20:  # sustained rate: never outrun the disk
                    await trio.sleep(0.001)
        await writer.flush(fsync=True)
        fsyncs += 1
        nursery.cancel_scope.cancel()
    elapsed = time.perf_counter() - started
    await writer.aclose()
    return elapsed, fsyncs


def _raw_appends(path: Path, payloads: list[bytes]) -> float:
    header = struct.Struct(">IQQB")
    crc_struct = struct.Struct(">I")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    started = time.perf_counter()
    next_sync = started + WINDOW_S
    for seq, payload in enumerate(payloads, start=1):
        head = header.pack(21 + len(payload), seq << LEDGER_SEQ_SHIFT, NOW, 0)
        body = head[4:] + payload
        os.write(fd, head[:4] + body + crc_struct.pack(crc32c(body)))
        if seq % 256 == 0 and time.perf_counter() >= next_sync:
            os.fsync(fd)
            next_sync = time.perf_counter() + WINDOW_S
    os.fsync(fd)
    elapsed = time.perf_counter() - started
    os.close(fd)
    return elapsed


async def _dispute_latencies(path: Path, count: int) -> list[float]:
    writer = await trio.to_thread.run_sync(AsyncTLogWriter.open, path)
    payload = bytes(32) + b"\x00"
    latencies: list[float] = []
    for seq in range(1, count + 1):
        started = time.perf_counter()
        async with writer.flush_lock:
            await writer.append_durable_locked(seq, NOW, TLogKind.DISPUTE_FILED, payload)
        latencies.append(time.perf_counter() - started)
    await writer.aclose()
    return latencies


def _raw_fsync_latencies(path: Path, count: int) -> list[float]:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    frame = b"\x00" * 58
    latencies: list[float] = []
    for _ in range(count):
        started = time.perf_counter()
        os.write(fd, frame)
        os.fsync(fd)
        latencies.append(time.perf_counter() - started)
    os.close(fd)
    return latencies


def _admission_core(directory: Path) -> object:
    """The production AdmissionCore (default config) the tracker replays into."""
    from prometheus_client import CollectorRegistry

    from tracker.admission.core._gatekeeper import AdmissionCore
    from tracker.admission.core._metrics import AdmissionMetrics
    from tracker.config import config_for_data_dir
    from tracker.identity import identity_from_seed
    from tracker.registry import Registry

    config = config_for_data_dir(directory)
    return AdmissionCore(
        config.admission,
        Registry(),
        identity_from_seed(bytes(32)),
        metrics=AdmissionMetrics(CollectorRegistry()),
    )


def _build_recovery_data(
    directory: Path, consumers: int, records: int, mixed: bool = False
) -> tuple[int, int]:
    """A snapshot of `consumers` consumers (starter grant + 0-3 settled days each) and `records` tlog records
    after it. Plain: all settlements between known consumers over the last 30 days. Mixed: every 100th record
    is a starter grant of a new consumer (who then settles too) and every 1000th a dispute."""
    rng = random.Random(2)
    ids = [rng.randbytes(32) for _ in range(consumers)]
    state: dict[bytes, ConsumerCreditState] = {}
    for index, identity in enumerate(ids):  # every consumer with a grant and a few settled days
        apply_ledger_event(
            state,
            LedgerEvent(
                kind=LedgerEventKind.STARTER_GRANT, consumer_id=identity, cost_credits=1000, timestamp=NOW
            ),
        )
        for day in range(index % 4):
            apply_ledger_event(
                state,
                LedgerEvent(
                    kind=LedgerEventKind.SETTLEMENT,
                    consumer_id=identity,
                    seeder_id=ids[(index + 1) % consumers],
                    cost_credits=5,
                    timestamp=NOW - day * 86400,
                ),
            )
    snapshot_seq = 1 << LEDGER_SEQ_SHIFT
    data = encode_snapshot(snapshot_seq, NOW, state, {})
    write_snapshot_file(snapshot_path(directory / "admission.snapshot", snapshot_seq), data)
    writer = AsyncTLogWriter.open(directory / "admission.tlog")
    for offset in range(records):
        seq = (2 + offset) << LEDGER_SEQ_SHIFT
        timestamp = NOW - (offset % 30) * 86400
        if mixed and offset % 100 == 99:
            ids.append(rng.randbytes(32))
            grant = StarterGrantPayload(ids[-1], 1000).encode()
            writer.append(seq, timestamp, TLogKind.STARTER_GRANT, grant)
        else:
            consumer = ids[rng.randrange(len(ids))]
            seeder = ids[rng.randrange(len(ids))]
            payload = SettlementPayload(consumer, seeder, 1 + offset % 50, 0).encode()
            writer.append(seq, timestamp, TLogKind.SETTLEMENT, payload)
        if mixed and offset % 1000 == 999:
            dispute = DisputePayload(ids[rng.randrange(len(ids))], False).encode()
            writer.append(seq + 1, timestamp, TLogKind.DISPUTE_FILED, dispute)
        if offset % 100_000 == 0:
            writer.flush_sync(fsync=False)
    writer.close_sync()
    return len(data), (directory / "admission.tlog").stat().st_size


def _read_and_check(directory: Path) -> float:
    """The floor under recovery: read the snapshot and the tlog and check every CRC (trailer, each frame)."""
    started = time.perf_counter()
    for path in sorted(directory.iterdir()):
        data = path.read_bytes()
        if path.name.startswith("admission.snapshot."):
            assert crc32c(data[:-4]) == int.from_bytes(data[-4:], "little")
            continue
        offset = 0
        header = struct.Struct(">I")
        while offset < len(data):
            (length,) = header.unpack_from(data, offset)
            end = offset + 4 + length
            assert crc32c(data[offset + 4 : end - 4]) == header.unpack_from(data, end - 4)[0]
            offset = end
    return time.perf_counter() - started


async def _recover(directory: Path) -> tuple[float, AdmissionService]:
    config = SimpleNamespace(
        tlog_path=str(directory / "admission.tlog"),
        snapshot_path_prefix=str(directory / "admission.snapshot"),
        snapshot_interval_s=600,
        snapshots_retained=3,
        fsync_batch_window_ms=5,
    )
    persistent = AdmissionService(_admission_core(directory), config)  # type: ignore[arg-type]
    started = time.perf_counter()
    await persistent.startup_replay()
    elapsed = time.perf_counter() - started
    await persistent.writer.aclose()  # type: ignore[union-attr]
    return elapsed, persistent


def _recovery(root: Path, name: str, consumers: int, records: int, mixed: bool) -> None:
    directory = root / name
    directory.mkdir()
    built = time.perf_counter()
    snapshot_bytes, tlog_bytes = _build_recovery_data(directory, consumers, records, mixed)
    built = time.perf_counter() - built
    floor = _read_and_check(directory)
    elapsed, persistent = trio.run(_recover, directory)
    report = persistent.replay_report
    assert report is not None and report.tlog_records_applied == report.tlog_records_read
    expected_consumers = consumers + (records // 100 if mixed else 0)
    assert len(persistent.core.consumers) == expected_consumers
    kind = "1 % new-consumer grants, 0.1 % disputes" if mixed else "settlements"
    print(
        f"recovery ({kind}): {consumers:,}-consumer snapshot ({snapshot_bytes / 1e6:.0f} MB) + "
        f"{report.tlog_records_read:,} tlog records ({tlog_bytes / 1e6:.0f} MB): {elapsed:.2f} s "
        f"(target <= 5 s); floor, reading both files and checking every CRC: {floor:.2f} s; "
        f"data built in {built:.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=1_000_000)
    parser.add_argument("--disputes", type=int, default=500)
    parser.add_argument("--consumers", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--dir", help="scratch directory (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        root = Path(scratch)
        payloads = _payloads(args.appends)
        raw_s = _raw_appends(root / "raw.tlog", payloads)
        batched_s, fsyncs = trio.run(_batched_appends, root / "batched.tlog", payloads)
        assert (root / "raw.tlog").read_bytes() == (root / "batched.tlog").read_bytes()
        batched_rate = args.appends / batched_s
        raw_rate = args.appends / raw_s
        print(
            f"tlog append, batched fsync ({WINDOW_S * 1000:.0f} ms window): {batched_rate:,.0f} appends/s "
            f"({args.appends:,} frames, {fsyncs} fsyncs)"
        )
        print(
            f"tlog append, raw limit (os.write per frame + CRC, fsync every {WINDOW_S * 1000:.0f} ms): "
            f"{raw_rate:,.0f} appends/s -> batched = {100 * batched_rate / raw_rate:.0f} % of raw"
        )

        dispute = trio.run(_dispute_latencies, root / "dispute.tlog", args.disputes)
        raw_sync = _raw_fsync_latencies(root / "raw_sync.tlog", args.disputes)
        print(
            f"dispute append (write+fsync before return): p50 {percentile(dispute, 0.5) * 1e3:.3f} ms, "
            f"p99 {percentile(dispute, 0.99) * 1e3:.3f} ms ({args.disputes} appends)"
        )
        print(
            f"raw os.write+os.fsync loop: p50 {percentile(raw_sync, 0.5) * 1e3:.3f} ms, "
            f"p99 {percentile(raw_sync, 0.99) * 1e3:.3f} ms "
            f"(dispute p50 overhead {(statistics.median(dispute) - statistics.median(raw_sync)) * 1e3:+.3f} "
            "ms)"
        )

        _recovery(root, "recovery", args.consumers, args.records, mixed=False)
        _recovery(root, "recovery_mixed", args.consumers, args.records, mixed=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
