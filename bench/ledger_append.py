"""Benchmark: starter-grant appends/s through the Trio ledger façade with 1 caller and with 32 concurrent
tasks (group commit), against the raw limit measured in the same run: a tight loop of Ed25519 sign + SQLite
insert (entries row + balance upsert, same schema and pragmas) committed in batches, with no orchestration.

Run: .venv/bin/python bench/ledger_append.py [--appends N]
"Durable" = committed with WAL + synchronous=NORMAL (survives a process crash; the WAL is not fsynced per
commit, so an OS crash or power loss can lose the last commits)."""

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
IDENTITY = identity_from_seed(hashlib.sha256(b"bench-tracker-key").digest())


def _identity_id(index: int) -> bytes:
    return hashlib.sha256(b"bench-identity-%d" % (index % 1000)).digest()


async def _ours(path: Path, appends: int, callers: int, synchronous: str = "NORMAL") -> tuple[float, float]:
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


def _raw(path: Path, appends: int, batch_size: int) -> float:
    """Sign + insert with no validation, no tip bookkeeping, no threads, no Trio: the floor of the work."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA busy_timeout = 5000")
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
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
    zero32, zero16 = bytes(32), bytes(16)
    now = int(time.time())
    prev = zero32
    sign = IDENTITY.private_key.sign
    started = time.perf_counter()
    seq = 0
    while seq < appends:
        connection.execute("BEGIN")
        for _ in range(min(batch_size, appends - seq)):
            seq += 1
            identity_id = _identity_id(seq)
            canonical = canonical_bytes(
                build_starter_grant_entry(
                    prev_hash=prev, seq=seq, consumer_id=identity_id, amount=1, timestamp=now
                )
            )
            entry_hash = hashlib.sha256(canonical).digest()
            connection.execute(
                insert,
                (seq, prev, entry_hash, identity_id, zero32, now, zero16, zero32, sign(canonical), canonical),
            )
            connection.execute(upsert, (identity_id, seq, now))
            prev = entry_hash
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return appends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=32_000, help="appends per measurement (default 32000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; best of each is shown")
    args = parser.parse_args()
    appends = args.appends - args.appends % CONCURRENT_CALLERS
    single_rates, group_rates, raw_rates, batches = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as directory:
        root = Path(directory)
        # Rounds interleave ours and raw so that noise from other processes on the machine hits both alike.
        for round_index in range(args.rounds):
            rate, _ = trio.run(_ours, root / f"single-{round_index}.sqlite", appends // 4, 1)
            single_rates.append(rate)
            rate, mean_batch = trio.run(
                _ours, root / f"group-{round_index}.sqlite", appends, CONCURRENT_CALLERS
            )
            group_rates.append(rate)
            batches.append(mean_batch)
            raw_rates.append(_raw(root / f"raw-{round_index}.sqlite", appends, CONCURRENT_CALLERS))
        full_single_rate, _ = trio.run(_ours, root / "full-single.sqlite", appends // 16, 1, "FULL")
        full_group_rate, full_batch = trio.run(
            _ours, root / "full-group.sqlite", appends // 4, CONCURRENT_CALLERS, "FULL"
        )
    single_rate, group_rate, raw_rate = max(single_rates), max(group_rates), max(raw_rates)
    mean_batch = batches[group_rates.index(group_rate)]
    callers = CONCURRENT_CALLERS
    lines = [
        (f"ours, 1 caller ({appends // 4} appends)", f"{single_rate:8.0f} appends/s"),
        (
            f"ours, {callers} concurrent Trio tasks ({appends} appends)",
            f"{group_rate:8.0f} appends/s (mean group-commit batch {mean_batch:.1f})",
        ),
        (f"raw limit: sign + insert, batches of {callers} ({appends} rows)", f"{raw_rate:8.0f} appends/s"),
        (f"ratio ours ({callers} tasks) / raw", f"{100 * group_rate / raw_rate:8.1f} %"),
        (
            "every round (ours 32 / raw)",
            "  ".join(f"{ours:.0f}/{raw:.0f}" for ours, raw in zip(group_rates, raw_rates, strict=True)),
        ),
        (
            "reference, synchronous=FULL, 1 caller",
            f"{full_single_rate:8.0f} appends/s ({appends // 16} appends, fsync per commit)",
        ),
        (
            f"reference, synchronous=FULL, {callers} tasks",
            f"{full_group_rate:8.0f} appends/s ({appends // 4} appends, mean batch {full_batch:.1f})",
        ),
    ]
    print(
        f"ledger append benchmark: starter grants, SQLite WAL synchronous=NORMAL, {os.cpu_count()} CPUs, "
        f"best of {args.rounds} interleaved rounds"
    )
    width = max(len(label) for label, _ in lines) + 1
    for label, figure in lines:
        print(f"{label + ':':<{width}} {figure}")
    print(f"target: >= 5000 appends/s with {callers} callers and >= 50 % of the raw limit")


if __name__ == "__main__":
    main()
