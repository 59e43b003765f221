"""Benchmark of the admission tlog and recovery (issue 5). Prints figures, each next to a baseline measured in
the same run:

1. tlog appends/s with batched fsync (the real writer, Trio fsync ticker every 5 ms) vs the raw limit: a loop
   of os.write of the same frames (CRC-32C computed per frame) with an fsync every 5 ms.
2. Dispute (synchronous) append latency p50/p99 (append + write + fsync in a worker thread, as the tracker
   does) vs a raw os.write + os.fsync loop.
3. Recovery time of PersistentAdmission.startup_replay for a 100k-consumer snapshot + 1M tlog records.

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

from tracker.admission._events import LedgerEvent, LedgerEventKind, apply_ledger_event
from tracker.admission._persistent import PersistentAdmission
from tracker.admission._replay import LEDGER_SEQ_SHIFT
from tracker.admission._snapshot_format import encode_snapshot
from tracker.admission._snapshot_store import snapshot_path, write_snapshot_file
from tracker.admission._state import ConsumerCreditState
from tracker.admission._tlog_format import SettlementPayload, TLogKind, crc32c
from tracker.admission._tlog_writer import TLogWriter

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
    writer = await trio.to_thread.run_sync(TLogWriter.open, path)
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
    writer = await trio.to_thread.run_sync(TLogWriter.open, path)
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


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _admission_core(directory: Path) -> object:
    """The production AdmissionCore (default config) the tracker replays into."""
    from prometheus_client import CollectorRegistry

    from tracker.admission._core import AdmissionCore
    from tracker.admission._metrics import AdmissionMetrics
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


def _build_recovery_data(directory: Path, consumers: int, records: int) -> tuple[int, int]:
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
    writer = TLogWriter.open(directory / "admission.tlog")
    for offset in range(records):
        consumer = ids[rng.randrange(consumers)]
        seeder = ids[rng.randrange(consumers)]
        payload = SettlementPayload(consumer, seeder, 1 + offset % 50, 0).encode()
        writer.append(
            (2 + offset) << LEDGER_SEQ_SHIFT, NOW - (offset % 30) * 86400, TLogKind.SETTLEMENT, payload
        )
        if offset % 100_000 == 0:
            writer.flush_sync(fsync=False)
    writer.close_sync()
    return len(data), (directory / "admission.tlog").stat().st_size


async def _recover(directory: Path) -> tuple[float, PersistentAdmission]:
    config = SimpleNamespace(
        tlog_path=str(directory / "admission.tlog"),
        snapshot_path_prefix=str(directory / "admission.snapshot"),
        snapshot_interval_s=600,
        snapshots_retained=3,
        fsync_batch_window_ms=5,
    )
    persistent = PersistentAdmission(_admission_core(directory), config)  # type: ignore[arg-type]
    started = time.perf_counter()
    await persistent.startup_replay()
    elapsed = time.perf_counter() - started
    await persistent.writer.aclose()  # type: ignore[union-attr]
    return elapsed, persistent


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
            f"dispute append (write+fsync before return): p50 {_percentile(dispute, 0.5) * 1e3:.3f} ms, "
            f"p99 {_percentile(dispute, 0.99) * 1e3:.3f} ms ({args.disputes} appends)"
        )
        print(
            f"raw os.write+os.fsync loop: p50 {_percentile(raw_sync, 0.5) * 1e3:.3f} ms, "
            f"p99 {_percentile(raw_sync, 0.99) * 1e3:.3f} ms "
            f"(dispute p50 overhead {(statistics.median(dispute) - statistics.median(raw_sync)) * 1e3:+.3f} "
            "ms)"
        )

        recovery_dir = root / "recovery"
        recovery_dir.mkdir()
        built = time.perf_counter()
        snapshot_bytes, tlog_bytes = _build_recovery_data(recovery_dir, args.consumers, args.records)
        built = time.perf_counter() - built
        elapsed, persistent = trio.run(_recover, recovery_dir)
        report = persistent.replay_report
        assert report is not None and report.tlog_records_applied == args.records
        assert len(persistent.core.consumers) == args.consumers
        print(
            f"recovery: {args.consumers:,}-consumer snapshot ({snapshot_bytes / 1e6:.0f} MB) + "
            f"{args.records:,} tlog records ({tlog_bytes / 1e6:.0f} MB): {elapsed:.2f} s "
            f"(target <= 5 s; data built in {built:.1f} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
