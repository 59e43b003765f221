"""A brokered request end to end over QUIC against `trio-tracker run`: two reference peers (consumer, seeder)
enrol, the seeder advertises, the consumer's broker_request is offered to the seeder and assigned, the
seeder reports usage, the consumer countersigns the settlement push; the ledger holds one USAGE entry with
both signatures, balances moved by the cost, `ledger verify` exits 0 and counts the countersignature,
`ledger show` prints it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import trio

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import make_data_dir, set_listen_addr, start_tracker, use_ephemeral_ports
from tracker.client import ConsumerPeer, PeerClient, SeederPeer, connect_peer
from tracker.identity import generate_identity

SONNET = "claude-sonnet-4-6"


def broker_data_dir(directory: Path, *, grant: int = 1_000_000) -> Path:
    config_path = make_data_dir(directory)
    use_ephemeral_ports(config_path)
    set_listen_addr(config_path, "server", "127.0.0.1:0")
    text = config_path.read_text()
    text = re.sub(r"starter_grant_credits: \d+", f"starter_grant_credits: {grant}", text)
    text = re.sub(r"enroll_rate_per_min_per_ip: \d+", "enroll_rate_per_min_per_ip: 100000", text)
    text = re.sub(r"broker_request_rate_per_sec: [\d.]+", "broker_request_rate_per_sec: 1000.0", text)
    config_path.write_text(text)
    return config_path


def rpc_address(ready: dict[str, object]) -> tuple[tuple[str, int], bytes]:
    host, _, port = str(ready["rpc_addr"]).rpartition(":")
    return (host.strip("[]"), int(port)), bytes.fromhex(str(ready["pin"]))


@asynccontextmanager
async def enrolled_pair(address: str, pin: bytes) -> AsyncIterator[EnrolledPair]:
    """A seeder (enrolled, advertising SONNET) and a consumer (enrolled) connected to the tracker at
    `address`, each with its reference-peer role wired to its pushes."""
    seeder_role, consumer_role = SeederPeer([SONNET]), ConsumerPeer()
    async with (
        connect_peer(address, pin=pin, identity=generate_identity(), on_offer=seeder_role.on_offer) as seeder,
        connect_peer(
            address, pin=pin, identity=generate_identity(), on_settlement=consumer_role.on_settlement
        ) as consumer,
    ):
        consumer_role.client = consumer
        await seeder.enroll(role=2)
        await consumer.enroll(role=1)
        await seeder.advertise([SONNET], headroom=0.9)
        yield EnrolledPair(seeder, consumer, seeder_role, consumer_role)


@dataclass
class EnrolledPair:
    seeder: PeerClient
    consumer: PeerClient
    seeder_role: SeederPeer
    consumer_role: ConsumerPeer


async def test_brokered_request_end_to_end(tmp_path: Path) -> None:
    config_path = broker_data_dir(tmp_path / "data")
    tracker = start_tracker(config_path)
    try:
        ready = await trio.to_thread.run_sync(tracker.wait_ready)
        address, pin = rpc_address(ready)
        async with enrolled_pair(address, pin) as pair:
            seeder, consumer = pair.seeder, pair.consumer
            seeder_role, consumer_role = pair.seeder_role, pair.consumer_role
            consumer_before = (await consumer.balance()).body.credits
            seeder_before = (await seeder.balance()).body.credits

            assignment = await consumer_role.request(SONNET, 100, 200)
            assert not isinstance(assignment, str), assignment
            assert seeder_role.offers == 1
            assert len(assignment.seeder_pubkey) == 32
            host, port = assignment.seeder_addr.decode().rsplit(":", 1)
            assert host == "127.0.0.1" and int(port) > 0
            await SeederPeer.report(seeder, assignment.reservation_token, SONNET, 100, 200)
            entry_hash = await consumer_role.wait_settled(assignment.reservation_token)

            assert (await consumer.balance()).body.credits == consumer_before - 3300
            assert (await seeder.balance()).body.credits == seeder_before + 3300
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"{tracker.metrics_url}/metrics")).text
        for line in (
            'broker_requests_total{outcome="assigned"} 1.0',
            'broker_offers_total{outcome="accept"} 1.0',
            'broker_settlements_total{outcome="committed"} 1.0',
            'broker_settlements_total{outcome="settle_recorded"} 1.0',
            "broker_countersignatures_recorded_total 1.0",
            "broker_reservations_outstanding 0.0",
            "broker_usage_commit_latency_seconds_count 1.0",
        ):
            assert line in metrics, line
        assert tracker.stop() == 0, tracker.stderr
    finally:
        tracker.kill()

    verify = run_cli("ledger", "verify", "--config", str(config_path))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "3 entries" in verify.stdout
    assert "1 seeder usage signatures and 1 consumer countersignatures valid" in verify.stdout

    show = run_cli("ledger", "show", "--config", str(config_path), "--seq", "3")
    assert show.returncode == 0, show.stderr
    entry = json.loads(show.stdout)
    assert entry["hash"] == entry_hash.hex()
    assert entry["kind"] == 1 and entry["cost_credits"] == 3300 and entry["flags"] == 1
    assert entry["request_id"] == assignment.reservation_token.hex()
    assert entry["seeder_signature"] == "valid"
    assert entry["countersignature"] == "valid"
    missing = run_cli("ledger", "show", "--config", str(config_path), "--seq", "9")
    assert missing.returncode == 1 and "no entry with seq 9" in missing.stderr
