"""Benchmark: starter-grant appends/s through the Trio ledger façade with 1 caller and with 32 concurrent
tasks (group commit), in both SQLite durability modes, each next to the raw limit measured in the same run: a
tight loop of Ed25519 sign + SQLite insert (entries row + balance upsert, same schema and pragmas) with no
validation, no threads and no Trio, committed one append per transaction (the 1-caller limit) or in batches of
32 (the group-commit limit).

Run: .venv/bin/python bench/ledger_append.py [--appends N] [--rounds R]
FULL (the ledger's default) fsyncs the WAL at every commit: a committed append survives a power cut.
NORMAL (the Go tracker's setting) survives a process crash only; shown for comparison with the Go figures."""

from __future__ import annotations

import argparse
import hashlib
import os
import sqlite3
import tempfile
import time
from pathlib import Path

import trio
from prometheus_client import CollectorRegistry

from tracker.identity import identity_from_seed
from tracker.ledger import LedgerMetrics, build_starter_grant_entry, canonical_bytes, open_ledger
from tracker.ledger._schema import SCHEMA_V1, SIDE_TABLES

CONCURRENT_CALLERS = 32
MODES = ("FULL", "NORMAL")
IDENTITY = identity_from_seed(hashlib.sha256(b"bench-tracker-key").digest())


def _identity_id(index: int) -> bytes:
    return hashlib.sha256(b"bench-identity-%d" % (index % 1000)).digest()


async def _ours(path: Path, appends: int, callers: int, synchronous: str) -> tuple[float, float]:
    registry = CollectorRegistry()
    async with open_ledger(
        path, IDENTITY, metrics=LedgerMetrics(registry), synchronous=synchronous
    ) as ledger:
        per_caller = appends // callers

        async def caller(index: int) -> None:
            for step in range(per_caller):
                await ledger.issue_starter_grant(_identity_id(index * per_caller + step), 1)

        started = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for index in range(callers):
                nursery.start_soon(caller, index)
        elapsed = time.perf_counter() - started
        assert (await ledger.tip()).seq == per_caller * callers
    batches = registry.get_sample_value("ledger_group_commit_batch_size_count") or 1
    return per_caller * callers / elapsed, per_caller * callers / batches


def _raw(path: Path, appends: int, batch_size: int, synchronous: str) -> float:
    """Sign + insert with no validation, no tip bookkeeping, no threads, no Trio: the floor of the work."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA busy_timeout = 5000")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {synchronous}")
    connection.executescript(SCHEMA_V1 + SIDE_TABLES)
    insert = (
        "INSERT INTO entries (seq, prev_hash, hash, kind, consumer_id, seeder_id, model, input_tokens,"
        " output_tokens, cost_credits, timestamp, request_id, flags, ref, consumer_sig, seeder_sig,"
        " tracker_sig, canonical) VALUES (?, ?, ?, 4, ?, ?, '', 0, 0, 1, ?, ?, 0, ?, NULL, NULL, ?, ?)"
    )
    upsert = (
        "INSERT INTO balances (identity_id, credits, last_seq, updated_at) VALUES (?, 1, ?, ?)"
        " ON CONFLICT(identity_id) DO UPDATE SET credits = credits + 1, last_seq = excluded.last_seq,"
        " updated_at = excluded.updated_at"
    )
    cursor = connection.cursor()
    zero32, zero16 = bytes(32), bytes(16)
    now = int(time.time())
    prev = zero32
    sign = IDENTITY.signing_key.sign  # the signing the ledger uses (libsodium)
    started = time.perf_counter()
    seq = 0
    while seq < appends:
        cursor.execute("BEGIN IMMEDIATE")
        for _ in range(min(batch_size, appends - seq)):
            seq += 1
            identity_id = _identity_id(seq)
            canonical = canonical_bytes(
                build_starter_grant_entry(
                    prev_hash=prev, seq=seq, consumer_id=identity_id, amount=1, timestamp=now
                )
            )
            entry_hash = hashlib.sha256(canonical).digest()
            cursor.execute(
                insert,
                (seq, prev, entry_hash, identity_id, zero32, now, zero16, zero32, sign(canonical), canonical),
            )
            cursor.execute(upsert, (identity_id, seq, now))
            prev = entry_hash
        cursor.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return appends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--appends", type=int, default=16_000, help="appends per 32-caller measurement (1 caller: 1/8)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best of each is shown")
    args = parser.parse_args()
    callers = CONCURRENT_CALLERS
    appends = args.appends - args.appends % callers
    single_appends = appends // 8
    rates: dict[tuple[str, str], list[float]] = {}
    batches: dict[str, list[float]] = {mode: [] for mode in MODES}
    with tempfile.TemporaryDirectory(prefix="ledger-bench-", dir=os.environ.get("BENCH_DIR")) as directory:
        root = Path(directory)
        # Rounds interleave ours and raw so that noise from other processes on the machine hits both alike.
        for round_index in range(args.rounds):
            for mode in MODES:
                prefix = root / f"{mode}-{round_index}"
                rate, _ = trio.run(_ours, Path(f"{prefix}-single.sqlite"), single_appends, 1, mode)
                rates.setdefault((mode, "ours 1"), []).append(rate)
                rate = _raw(Path(f"{prefix}-raw-single.sqlite"), single_appends, 1, mode)
                rates.setdefault((mode, "raw 1"), []).append(rate)
                rate, mean_batch = trio.run(_ours, Path(f"{prefix}-group.sqlite"), appends, callers, mode)
                rates.setdefault((mode, "ours 32"), []).append(rate)
                batches[mode].append(mean_batch)
                rate = _raw(Path(f"{prefix}-raw-group.sqlite"), appends, callers, mode)
                rates.setdefault((mode, "raw 32"), []).append(rate)
    best = {key: max(values) for key, values in rates.items()}
    print(
        f"ledger append benchmark: starter grants, SQLite WAL, {os.cpu_count()} CPUs, "
        f"best of {args.rounds} interleaved rounds"
    )
    lines: list[tuple[str, str]] = []
    for mode in MODES:
        ours_1, raw_1 = best[(mode, "ours 1")], best[(mode, "raw 1")]
        ours_32, raw_32 = best[(mode, "ours 32")], best[(mode, "raw 32")]
        mean_batch = batches[mode][rates[(mode, "ours 32")].index(ours_32)]
        lines += [
            (
                f"{mode:<6} ours, 1 caller ({single_appends} appends)",
                f"{ours_1:8.0f} appends/s  ({100 * ours_1 / raw_1:5.1f} % of raw, 1 per transaction)",
            ),
            (f"{mode:<6} raw limit, 1 append per transaction", f"{raw_1:8.0f} appends/s"),
            (
                f"{mode:<6} ours, {callers} concurrent tasks ({appends} appends)",
                f"{ours_32:8.0f} appends/s  ({100 * ours_32 / raw_32:5.1f} % of raw, "
                f"mean batch {mean_batch:.1f})",
            ),
            (f"{mode:<6} raw limit, batches of {callers}", f"{raw_32:8.0f} appends/s"),
            (
                f"{mode:<6} every round, ours {callers} / raw",
                "  ".join(
                    f"{ours:.0f}/{raw:.0f}"
                    for ours, raw in zip(rates[(mode, "ours 32")], rates[(mode, "raw 32")], strict=True)
                ),
            ),
        ]
    width = max(len(label) for label, _ in lines) + 1
    for label, figure in lines:
        print(f"{label + ':':<{width}} {figure}")
    print(
        f"targets: FULL {callers} callers >= 5000 appends/s and >= 50 % of the raw FULL limit; "
        "1 caller >= 3700 appends/s (the Go figure, 4.6k/s, is NORMAL)"
    )


if __name__ == "__main__":
    main()
