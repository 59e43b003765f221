"""SIGKILL during a stream of brokered requests, ten times over the same data directory: after every restart
each usage report the tracker acknowledged is in the ledger exactly once (a re-sent report is recognised from
the ledger's side table, not from memory, and charges nothing), and `ledger verify` (chain, balances replay,
peer signatures) exits 0."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import trio

from tests_e2e.conftest import run_cli
from tests_e2e.test_broker_run import SONNET, broker_data_dir, rpc_address
from tests_e2e.test_run_support import start_tracker
from tracker.client import ConsumerPeer, PeerClient, SeederPeer, connect_peer
from tracker.identity import generate_identity

ROUNDS = 10


def usage_request_ids(ledger_path: Path) -> list[bytes]:
    connection = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        return [bytes(row[0]) for row in connection.execute("SELECT request_id FROM entries WHERE kind = 1")]
    finally:
        connection.close()


async def _stream(consumer_role: ConsumerPeer, seeder: PeerClient, acknowledged: list[bytes]) -> None:
    """Brokered requests back to back; each token is recorded once its usage report was acknowledged."""
    while True:
        assignment = await consumer_role.request(SONNET, 10, 20)
        assert not isinstance(assignment, str), assignment
        await SeederPeer.report(seeder, assignment.reservation_token, SONNET, 10, 20)
        acknowledged.append(assignment.reservation_token)


async def test_sigkill_during_brokering_loses_no_acknowledged_usage_and_charges_once(tmp_path: Path) -> None:
    config_path = broker_data_dir(tmp_path / "data")
    ledger_path = tmp_path / "data" / "ledger.sqlite"
    seeder_key, consumer_key = generate_identity(), generate_identity()
    acknowledged: list[bytes] = []
    rng = random.Random(12)
    for _round in range(ROUNDS):
        tracker = start_tracker(config_path)
        try:
            ready = await trio.to_thread.run_sync(tracker.wait_ready)
            address, pin = rpc_address(ready)
            seeder_role, consumer_role = SeederPeer([SONNET]), ConsumerPeer()
            async with (
                connect_peer(address, pin=pin, identity=seeder_key, on_offer=seeder_role.on_offer) as seeder,
                connect_peer(
                    address, pin=pin, identity=consumer_key, on_settlement=consumer_role.on_settlement
                ) as consumer,
            ):
                consumer_role.client = consumer
                await seeder.enroll(role=2)
                await consumer.enroll(role=1)
                await seeder.advertise([SONNET], headroom=0.9)
                before = usage_request_ids(ledger_path)
                for token in acknowledged[-3:]:  # re-sent after the restart: the same ack, no charge
                    await SeederPeer.report(seeder, token, SONNET, 10, 20)
                assert usage_request_ids(ledger_path) == before

                async with trio.open_nursery() as nursery:
                    nursery.start_soon(_stream, consumer_role, seeder, acknowledged)
                    await trio.sleep(rng.uniform(0.1, 0.6))
                    tracker.kill()  # SIGKILL; what was acknowledged before it must be in the ledger
                    nursery.cancel_scope.cancel()
        finally:
            tracker.kill()
        request_ids = usage_request_ids(ledger_path)
        assert len(request_ids) == len(set(request_ids)), "a request was charged twice"
        assert set(acknowledged) <= set(request_ids), "an acknowledged usage report was lost"
    assert len(acknowledged) > ROUNDS
    verify = run_cli("ledger", "verify", "--config", str(config_path))
    assert verify.returncode == 0, verify.stdout + verify.stderr
