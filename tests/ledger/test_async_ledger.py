"""The Trio façade: group commit of concurrent appends, per-caller results, subscribers on the Trio thread,
cancellation, close, metrics and the Merkle rollup ticker."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trio
import trio.testing
from prometheus_client import CollectorRegistry

from tests.ledger.conftest import FakeClock
from tests.ledger.helpers import NOW, identity_id, party, usage_record
from tracker.ledger import (
    AsyncLedger,
    CommittedEntry,
    Countersignature,
    CountersignatureConflict,
    EntryValidationError,
    InsufficientBalance,
    Ledger,
    LedgerClosed,
    LedgerMetrics,
    SettlementStore,
    StaleTip,
    open_ledger,
    run_merkle_rollup,
)
from tracker.ledger._records import CountersignatureRecord, CountersignatureRecorded

CONSUMER = party("consumer")
SEEDER = party("seeder")


def _sample(registry: CollectorRegistry, name: str, **labels: str) -> float:
    value = registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


@contextmanager
def stalled_writer(ledger: AsyncLedger) -> Iterator[Callable[[], None]]:
    """Hold the ledger's write lock: a batch handed to the worker thread waits inside it, and every later
    write queues. Yields `release`, which the test calls once it has set the scene (inside its nursery, so
    the waiting writes can finish); released on the way out if the test did not get that far."""
    lock = ledger.core._write_lock
    lock.acquire()
    released = False

    def release() -> None:
        nonlocal released
        released = True
        lock.release()

    try:
        yield release
    finally:
        if not released:
            lock.release()


async def test_100_concurrent_grants_are_group_committed_gap_free(ledger_path: Path, identity, clock) -> None:
    registry = CollectorRegistry()
    results: list[CommittedEntry] = []
    async with open_ledger(ledger_path, identity, clock=clock, metrics=LedgerMetrics(registry)) as ledger:

        async def grant(index: int) -> None:
            results.append(await ledger.issue_starter_grant(identity_id("pool"), index + 1))

        async with trio.open_nursery() as nursery:
            for index in range(100):
                nursery.start_soon(grant, index)
        assert sorted(committed.seq for committed in results) == list(range(1, 101))
        balance = await ledger.balance(identity_id("pool"))
        assert balance.credits == sum(range(1, 101))
        assert await ledger.assert_chain_integrity() == 100
        assert (await ledger.tip()).seq == 100
    batches = _sample(registry, "ledger_group_commit_batch_size_count")
    assert _sample(registry, "ledger_group_commit_batch_size_sum") == 100
    assert 1 <= batches < 100  # concurrent appends shared transactions
    assert _sample(registry, "ledger_appends_total", kind="starter_grant", result="committed") == 100
    assert _sample(registry, "ledger_tip_seq") == 100
    assert _sample(registry, "ledger_append_latency_seconds_count") == 100


async def test_failing_entries_do_not_poison_their_batch(ledger_path: Path, identity, clock) -> None:
    registry = CollectorRegistry()
    async with open_ledger(ledger_path, identity, clock=clock, metrics=LedgerMetrics(registry)) as ledger:
        await ledger.issue_starter_grant(CONSUMER.identity_id, 10)
        with pytest.raises(InsufficientBalance):
            await ledger.append_usage(usage_record(ledger.core, CONSUMER, SEEDER, 11))
        stale = usage_record(ledger.core, CONSUMER, SEEDER, 1, seq=7)
        outcomes: dict[str, object] = {}

        async def run(name: str, operation) -> None:
            try:
                outcomes[name] = await operation()
            except Exception as error:
                outcomes[name] = error

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run, "good-1", lambda: ledger.issue_starter_grant(identity_id("x"), 5))
            nursery.start_soon(run, "zero", lambda: ledger.issue_starter_grant(identity_id("x"), 0))
            nursery.start_soon(run, "stale", lambda: ledger.append_usage(stale))
            nursery.start_soon(run, "short", lambda: ledger.issue_starter_grant(b"short", 6))
            nursery.start_soon(run, "good-2", lambda: ledger.issue_starter_grant(identity_id("y"), 6))
        assert isinstance(outcomes["zero"], EntryValidationError)
        assert isinstance(outcomes["stale"], StaleTip)
        assert isinstance(outcomes["short"], EntryValidationError)
        good = sorted(outcomes[name].seq for name in ("good-1", "good-2"))
        assert good == [2, 3]
        assert await ledger.assert_chain_integrity() == 3
    assert _sample(registry, "ledger_appends_total", kind="usage", result="rejected") == 2


async def test_subscribers_run_on_the_trio_thread_in_commit_order_before_callers_resume(
    ledger_path: Path, identity, clock
) -> None:
    trio_thread = threading.get_ident()
    seen: list[int] = []
    threads: set[int] = set()

    def on_entry(committed: CommittedEntry) -> None:
        trio.lowlevel.current_task()  # raises outside Trio
        threads.add(threading.get_ident())
        seen.append(committed.seq)

    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        ledger.subscribe(on_entry)
        ledger.subscribe(lambda committed: 1 / 0)

        async def grant(amount: int) -> None:
            committed = await ledger.issue_starter_grant(identity_id("s"), amount)
            assert committed.seq in seen  # published before the caller resumed

        async def rejected_grant() -> None:
            with pytest.raises(EntryValidationError):  # rejected: never published
                await ledger.issue_starter_grant(identity_id("s"), 0)

        async with trio.open_nursery() as nursery:
            for amount in range(1, 31):
                nursery.start_soon(grant, amount)
            nursery.start_soon(rejected_grant)
        assert seen == list(range(1, 31))
        assert threads == {trio_thread}
        entries = await ledger.entries_since(25)
        assert [entry.seq for entry in entries] == [26, 27, 28, 29, 30]
        assert await ledger.entry_by_seq(30) == entries[-1]
        assert await ledger.entry_by_hash(entries[0].hash) == entries[0]
        snapshot = await ledger.signed_balance(identity_id("s"))
        assert (snapshot.body.credits, snapshot.body.chain_tip_seq) == (sum(range(1, 31)), 30)


async def test_errors_reach_the_caller_of_an_async_append(ledger_path: Path, identity, clock) -> None:
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        with pytest.raises(EntryValidationError, match="identity_id length 2"):
            await ledger.issue_starter_grant(b"ab", 5)
        assert await ledger.tip() is None


async def test_a_cancelled_append_still_queued_is_withdrawn(ledger_path: Path, identity, clock) -> None:
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        with stalled_writer(ledger) as release:  # stall the worker so the next append stays queued
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ledger.issue_starter_grant, identity_id("a"), 1)
                await trio.testing.wait_all_tasks_blocked()  # "a" is in the worker, waiting for the lock
                cancel_scope = trio.CancelScope()

                async def cancellable() -> None:
                    with cancel_scope:
                        await ledger.issue_starter_grant(identity_id("c"), 1)

                nursery.start_soon(cancellable)
                await trio.testing.wait_all_tasks_blocked()
                cancel_scope.cancel()
                await trio.testing.wait_all_tasks_blocked()
                release()
        assert (await ledger.tip()).seq == 1
        assert await ledger.balance(identity_id("c")) is None
        assert (await ledger.balance(identity_id("a"))).credits == 1


async def test_appends_after_close_fail_with_ledger_closed(ledger_path: Path, identity, clock) -> None:
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        await ledger.issue_starter_grant(identity_id("a"), 1)
    with pytest.raises(LedgerClosed):
        await ledger.issue_starter_grant(identity_id("a"), 1)


async def test_open_ledger_at_the_configured_storage_path(tmp_path: Path, identity, clock) -> None:
    from tracker.config import config_for_data_dir

    config = config_for_data_dir(tmp_path)
    async with open_ledger(config.ledger.storage_path, identity, clock=clock) as ledger:
        await ledger.issue_starter_grant(identity_id("a"), 1)
    assert Path(config.ledger.storage_path).is_file()
    async with open_ledger(Path(config.ledger.storage_path), identity, clock=clock) as ledger:
        assert (await ledger.tip()).seq == 1


async def test_merkle_rollup_ticker_rolls_up_the_previous_hour(
    ledger_path: Path, identity, autojump_clock
) -> None:
    wall = FakeClock(NOW - NOW % 3600 + 10)  # 10 s into an hour
    hour = int(wall.now) // 3600
    registry = CollectorRegistry()
    async with open_ledger(ledger_path, identity, clock=wall, metrics=LedgerMetrics(registry)) as ledger:
        committed = await ledger.issue_starter_grant(identity_id("a"), 1)
        async with trio.open_nursery() as nursery:
            await nursery.start(
                functools.partial(run_merkle_rollup, ledger, 60, clock=lambda: wall.now + trio.current_time())
            )
            await trio.sleep(59 * 60)
            assert await ledger.merkle_root(hour) is None  # no immediate first tick
            await trio.sleep(2 * 60)
            # The ticker fired at 60 min and holds the read worker; this read queues behind its rollup.
            root, _ = await ledger.merkle_root(hour)
            assert root == committed.hash
            nursery.cancel_scope.cancel()
    assert _sample(registry, "ledger_merkle_roots_total") == 1


async def test_merkle_rollup_ticker_with_a_non_positive_interval_returns(ledger_path: Path, identity) -> None:
    async with open_ledger(ledger_path, identity) as ledger:
        with trio.fail_after(1):
            await run_merkle_rollup(ledger, 0)


async def test_open_ledger_refuses_an_empty_batch_size_and_reports_a_bad_path(
    tmp_path: Path, identity
) -> None:
    from tracker.ledger import LedgerStorageError

    with pytest.raises(ValueError, match="max_batch_size"):
        async with open_ledger(tmp_path / "l.sqlite", identity, max_batch_size=0):
            pass
    with pytest.raises(LedgerStorageError, match="cannot open ledger database"):
        async with open_ledger(tmp_path / "missing-dir" / "l.sqlite", identity):
            pass


async def test_a_lone_append_handed_to_the_worker_is_committed_even_when_cancelled(
    ledger_path: Path, identity, clock
) -> None:
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        cancel_scope = trio.CancelScope()
        returned: list[CommittedEntry] = []
        with stalled_writer(ledger) as release:  # hold the lone append inside the worker thread
            async with trio.open_nursery() as nursery:

                async def lone() -> None:
                    with cancel_scope:
                        returned.append(await ledger.issue_starter_grant(identity_id("lone"), 3))

                nursery.start_soon(lone)
                await trio.testing.wait_all_tasks_blocked()
                cancel_scope.cancel()
                await trio.testing.wait_all_tasks_blocked()
                release()
        assert [committed.seq for committed in returned] == [1]
        assert (await ledger.balance(identity_id("lone"))).credits == 3


async def test_appends_arriving_during_a_lone_append_share_the_next_transaction(
    ledger_path: Path, identity, clock
) -> None:
    registry = CollectorRegistry()
    seen: list[int] = []
    async with open_ledger(ledger_path, identity, clock=clock, metrics=LedgerMetrics(registry)) as ledger:
        ledger.subscribe(lambda committed: seen.append(committed.seq))
        with stalled_writer(ledger) as release:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ledger.issue_starter_grant, identity_id("first"), 1)
                await trio.testing.wait_all_tasks_blocked()  # the lone append holds the worker
                for index in range(10):
                    nursery.start_soon(ledger.issue_starter_grant, identity_id(f"queued-{index}"), 1)
                await trio.testing.wait_all_tasks_blocked()
                release()
        assert await ledger.assert_chain_integrity() == 11
    assert seen == list(range(1, 12))
    assert _sample(registry, "ledger_group_commit_batch_size_count") == 2  # the lone one, then the ten
    assert _sample(registry, "ledger_group_commit_batch_size_sum") == 11
    assert _sample(registry, "ledger_appends_total", kind="starter_grant", result="committed") == 11


async def test_the_ledger_fsyncs_every_commit_by_default(ledger_path: Path, identity, clock) -> None:
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        writer = ledger.core.store._writer
        assert writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL: durable across power loss
    async with open_ledger(ledger_path, identity, clock=clock, synchronous="NORMAL") as ledger:
        assert ledger.core.store._writer.execute("PRAGMA synchronous").fetchone()[0] == 1


async def test_callers_of_a_group_commit_queue_together_for_the_next_one(
    ledger_path: Path, identity, clock
) -> None:
    registry = CollectorRegistry()
    async with open_ledger(ledger_path, identity, clock=clock, metrics=LedgerMetrics(registry)) as ledger:

        async def caller(index: int) -> None:
            for step in range(10):
                await ledger.issue_starter_grant(identity_id(f"caller-{index}-{step}"), 1)

        async with trio.open_nursery() as nursery:
            for index in range(8):
                nursery.start_soon(caller, index)
        assert await ledger.assert_chain_integrity() == 80
    # 8 callers x 10 appends: about 10 transactions of 8. A lone caller jumping ahead of the others on its
    # own after every group commit would make that about 20 (batches of 1 and 7, alternating).
    assert _sample(registry, "ledger_group_commit_batch_size_count") <= 12


async def test_countersignatures_share_the_group_commit_and_are_on_disk_when_acknowledged(
    ledger_path: Path, identity, clock
) -> None:
    registry = CollectorRegistry()
    recorded: dict[int, bool] = {}
    async with open_ledger(ledger_path, identity, clock=clock, metrics=LedgerMetrics(registry)) as ledger:
        for index in range(10):
            await ledger.issue_starter_grant(identity_id(f"signed-{index}"), 1)
        before = _sample(registry, "ledger_group_commit_batch_size_count")

        async def countersign(seq: int) -> None:
            recorded[seq] = await ledger.record_countersignature(seq, bytes([seq]) * 64, 1_700_000_000)

        with stalled_writer(ledger) as release:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ledger.issue_starter_grant, identity_id("lone"), 1)
                await trio.testing.wait_all_tasks_blocked()  # the lone append holds the worker
                for seq in range(1, 11):
                    nursery.start_soon(countersign, seq)
                nursery.start_soon(ledger.issue_starter_grant, identity_id("queued"), 1)
                await trio.testing.wait_all_tasks_blocked()
                release()
        assert recorded == dict.fromkeys(range(1, 11), True)
        # one transaction (one fsync) for the lone append, one for the ten countersignatures and the append
        assert _sample(registry, "ledger_group_commit_batch_size_count") - before == 2
        assert await ledger.record_countersignature(3, bytes([3]) * 64, 1_700_000_001) is False  # a repeat
        with pytest.raises(CountersignatureConflict, match="seq 3"):
            await ledger.record_countersignature(3, b"\xff" * 64, 1_700_000_002)
        assert (await ledger.tip()).seq == 12
    # not appends: no ledger_appends samples, and the entries' own counts are untouched
    assert _sample(registry, "ledger_appends_total", kind="starter_grant", result="committed") == 12
    assert _sample(registry, "ledger_append_latency_seconds_count") == 12
    settlements = SettlementStore.open(ledger_path)
    try:
        for seq in range(1, 11):
            row = settlements.countersignature(seq)
            assert (
                row is not None and row.consumer_sig == bytes([seq]) * 64 and row.recorded_at == 1_700_000_000
            )
        assert settlements.countersignature(11) is None
    finally:
        settlements.close()


async def test_a_countersignature_and_a_different_one_for_the_same_entry_in_one_batch(
    ledger_path: Path, identity, clock
) -> None:
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        await ledger.issue_starter_grant(identity_id("entry"), 1)
    with Ledger.open(ledger_path, identity, clock=clock) as core:
        first, repeat, other = core.append_batch(
            [
                CountersignatureRecord(1, b"\x01" * 64, 1),
                CountersignatureRecord(1, b"\x01" * 64, 2),
                CountersignatureRecord(1, b"\x02" * 64, 3),
            ]
        )
        assert first == CountersignatureRecorded(1, new=True)
        assert repeat == CountersignatureRecorded(1, new=False)
        assert isinstance(other, CountersignatureConflict)
    settlements = SettlementStore.open(ledger_path)
    try:
        assert settlements.countersignature(1) == Countersignature(1, b"\x01" * 64, 1)
    finally:
        settlements.close()
