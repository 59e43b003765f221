"""Signed balances served from the in-memory balance view: after any mix of concurrent (group-committed)
appends, accepted or rejected, and after a reopen, every snapshot equals the one derived from SQLite; and a
snapshot taken while appends are in flight certifies credits that are exactly the balance at the tip it
names."""

from __future__ import annotations

import tempfile
from pathlib import Path

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ledger.conftest import FakeClock
from tests.ledger.helpers import (
    PARTIES,
    ledger_operation,
    tracker_identity,
    transfer_in_record,
    transfer_out_record,
    usage_record,
)
from tracker.ledger import (
    AsyncLedger,
    LedgerError,
    SignedBalanceSnapshot,
    balance_deltas,
    open_ledger,
    verify_balance_snapshot,
)

operation = ledger_operation


async def _apply(ledger: AsyncLedger, op: tuple, counter: int) -> None:
    core = ledger.core  # builds records against the tip as it is now (concurrent ones may go stale)
    kind = op[0]
    try:
        if kind == "grant":
            await ledger.issue_starter_grant(PARTIES[op[1]].identity_id, op[2])
        elif kind == "usage":
            record = usage_record(
                core, PARTIES[op[1]], PARTIES[op[2]], op[3], request_id=counter.to_bytes(16, "big")
            )
            await ledger.append_usage(record)
        elif kind == "out":
            await ledger.append_transfer_out(
                transfer_out_record(core, PARTIES[op[1]], op[2], bytes([op[3]]) * 32)
            )
        else:
            await ledger.append_transfer_in(
                transfer_in_record(core, PARTIES[op[1]].identity_id, op[2], bytes([op[3] + 9]) * 32)
            )
    except LedgerError:
        pass  # a refused operation (overdraft, stale tip) is part of the schedule: the view must agree anyway


def _fields(snapshot: SignedBalanceSnapshot) -> tuple[bytes, int, int, bytes]:
    body = snapshot.body
    return body.identity_id, body.credits, body.chain_tip_seq, body.chain_tip_hash


async def _assert_view_matches_sqlite(ledger: AsyncLedger) -> None:
    for member in PARTIES:
        served = await ledger.signed_balance(member.identity_id)
        from_sqlite = await trio.to_thread.run_sync(ledger.core.signed_balance, member.identity_id)
        assert _fields(served) == _fields(from_sqlite)
        assert verify_balance_snapshot(served, ledger.tracker_public_key)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(operation, min_size=1, max_size=8), max_size=6))
def test_signed_balance_equals_the_sqlite_one_after_concurrent_appends_and_reopen(
    rounds: list[list[tuple]],
) -> None:
    identity = tracker_identity()

    async def main(path: Path) -> None:
        counter = 0
        async with open_ledger(path, identity, clock=FakeClock()) as ledger:
            for ops in rounds:
                async with trio.open_nursery() as nursery:  # one round: concurrent, so group-committed
                    for op in ops:
                        counter += 1
                        nursery.start_soon(_apply, ledger, op, counter)
                await _assert_view_matches_sqlite(ledger)
            before = [_fields(await ledger.signed_balance(member.identity_id)) for member in PARTIES]
        async with open_ledger(path, identity, clock=FakeClock()) as reopened:
            await _assert_view_matches_sqlite(reopened)
            assert [_fields(await reopened.signed_balance(m.identity_id)) for m in PARTIES] == before

    with tempfile.TemporaryDirectory() as directory:
        trio.run(main, Path(directory) / "ledger.sqlite")


async def test_snapshots_taken_during_group_commits_certify_the_balance_at_their_tip(
    ledger_path: Path, identity, clock
) -> None:
    snapshots: list[SignedBalanceSnapshot] = []
    pool = PARTIES[0].identity_id
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:

        async def grant(amount: int) -> None:
            await ledger.issue_starter_grant(pool, amount)
            snapshots.append(await ledger.signed_balance(pool))

        async def watch(done: trio.Event) -> None:
            while not done.is_set():
                snapshots.append(await ledger.signed_balance(pool))
                await trio.sleep(0)

        done = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(watch, done)
            async with trio.open_nursery() as appenders:
                for amount in range(1, 201):
                    appenders.start_soon(grant, amount)
            done.set()
        entries = await ledger.entries_since(0)
    assert len(entries) == 200
    balance_at = [0]
    for entry in entries:
        balance_at.append(balance_at[-1] + sum(d for i, d in balance_deltas(entry.body, None) if i == pool))
    assert len({snapshot.body.chain_tip_seq for snapshot in snapshots}) > 2  # taken across several commits
    for snapshot in snapshots:
        seq = snapshot.body.chain_tip_seq
        assert snapshot.body.credits == balance_at[seq]
        assert snapshot.body.chain_tip_hash == (entries[seq - 1].hash if seq else bytes(32))


async def test_an_append_that_bypasses_the_facade_falls_back_to_sqlite(
    ledger_path: Path, identity, clock
) -> None:
    pool = PARTIES[0].identity_id
    async with open_ledger(ledger_path, identity, clock=clock) as ledger:
        await ledger.issue_starter_grant(pool, 5)
        await trio.to_thread.run_sync(ledger.core.issue_starter_grant, pool, 7)  # unseen by the view
        await ledger.issue_starter_grant(pool, 11)  # does not extend the view's tip: the view is dropped
        snapshot = await ledger.signed_balance(pool)
        assert (snapshot.body.credits, snapshot.body.chain_tip_seq) == (23, 3)
        assert snapshot.body.chain_tip_hash == (await ledger.tip()).hash
