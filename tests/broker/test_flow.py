"""A brokered request over QUIC against the in-process stack: request → offer → assignment → usage report →
USAGE entry → settlement push → countersignature; and the failure paths of the offer loop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import trio

from tests.broker.stack import (
    SONNET,
    SeederBehaviour,
    broker_stack,
    consumer_peer,
    seeder_peer,
    signed_request,
)
from tracker._usage import usage_preimage
from tracker.client import InvalidRequest, NotFound, Unauthenticated, signed_usage_report
from tracker.identity import verify
from tracker.ledger import EntryKind, canonical_bytes

pytestmark = pytest.mark.trio


async def test_brokered_request_completes_and_is_countersigned(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack) as (seeder, behaviour),
        consumer_peer(stack) as (consumer, settler),
    ):
        consumer_before = (await consumer.balance()).body.credits
        seeder_before = (await seeder.balance()).body.credits
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "seeder_assignment", response
        assignment = response.seeder_assignment
        assert len(assignment.seeder_pubkey) == 32
        assert len(assignment.reservation_token) == 16
        # the seeder's observed address, as the tracker saw its QUIC connection
        connection = stack.server.peers.get(seeder.canonical_id)
        assert connection is not None
        assert assignment.seeder_addr.decode() == connection.peer.address
        assert behaviour.offers[0].model == SONNET

        await seeder.usage_report(
            signed_usage_report(seeder.identity, assignment.reservation_token, SONNET, 100, 200)
        )
        with trio.fail_after(5):
            await settler.settled.wait()

        assert (await consumer.balance()).body.credits == consumer_before - 3300
        assert (await seeder.balance()).body.credits == seeder_before + 3300
        tip = await stack.ledger.tip()
        assert tip is not None
        entry = await stack.ledger.entry_by_seq(tip.seq)
        assert entry is not None and entry.kind == EntryKind.USAGE
        assert entry.body.cost_credits == 3300
        assert entry.body.flags == 1
        assert entry.body.request_id == assignment.reservation_token
        assert entry.body.consumer_id == consumer.canonical_id
        assert entry.body.seeder_id == seeder.canonical_id
        preimage = usage_preimage(assignment.reservation_token, SONNET, 100, 200)
        assert verify(seeder.identity.public_key, preimage, entry.entry.seeder_sig)
        countersig = await trio.to_thread.run_sync(stack.settlements.countersignature, entry.seq)
        assert countersig is not None
        assert verify(consumer.identity.public_key, canonical_bytes(entry.body), countersig.consumer_sig)
        assert settler.pushes[0].preimage_body == canonical_bytes(entry.body)

        # a repeated report: the same ack, no second charge
        await seeder.usage_report(
            signed_usage_report(seeder.identity, assignment.reservation_token, SONNET, 100, 200)
        )
        assert (await consumer.balance()).body.credits == consumer_before - 3300
        # a repeated identical settle is OK; a different one is DUPLICATE_SETTLE
        await consumer.settle(entry.hash, countersig.consumer_sig)
        with pytest.raises(InvalidRequest, match="DUPLICATE_SETTLE"):
            await consumer.settle(entry.hash, consumer.identity.sign(b"something else"))
        with pytest.raises(NotFound):
            await consumer.settle(b"\x07" * 32, countersig.consumer_sig)
        assert len(stack.broker.reservations) == 0
        assert stack.registry.get(seeder.canonical_id).load == 0  # type: ignore[union-attr]


async def test_settle_before_and_after_the_request_was_swept(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack) as (seeder, _),
        consumer_peer(stack, countersign=False) as (consumer, settler),
        consumer_peer(stack) as (other, _),
    ):
        response = await consumer.broker_request(await signed_request(consumer))
        token = response.seeder_assignment.reservation_token
        await seeder.usage_report(signed_usage_report(seeder.identity, token, SONNET, 100, 200))
        with trio.fail_after(5):
            while not settler.pushes:
                await trio.sleep(0.01)
        push = settler.pushes[0]
        entry = await stack.ledger.entry_by_hash(push.preimage_hash)
        assert entry is not None
        with pytest.raises(InvalidRequest, match="SEEDER_MISMATCH"):  # not the entry's consumer
            await other.settle(push.preimage_hash, other.identity.sign(push.preimage_body))
        with pytest.raises(InvalidRequest, match="CONSUMER_SIG_INVALID"):
            await consumer.settle(push.preimage_hash, other.identity.sign(push.preimage_body))
        # long after: the request is swept from memory, the SETTLE reads the entry from the ledger
        assert (
            stack.broker.sweep_terminal(time.time() + stack.broker.settings.inflight_terminal_ttl_s + 1) == 1
        )
        assert stack.broker.inflight.get(token) is None
        signature = consumer.identity.sign(push.preimage_body)
        await consumer.settle(push.preimage_hash, signature)
        await consumer.settle(push.preimage_hash, signature)  # a repeat is OK
        with pytest.raises(InvalidRequest, match="DUPLICATE_SETTLE"):
            await consumer.settle(push.preimage_hash, consumer.identity.sign(b"other bytes"))
        recorded = await trio.to_thread.run_sync(stack.settlements.countersignature, entry.seq)
        assert recorded is not None and recorded.consumer_sig == signature


async def test_seeder_rejects_or_stalls_then_the_next_seeder_gets_the_offer(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack, SeederBehaviour(accept=False), headroom=0.9) as (_, rejecting),
        seeder_peer(stack, SeederBehaviour(stall_s=5.0), headroom=0.8) as (_, stalling),
        seeder_peer(stack, SeederBehaviour(key_length=31), headroom=0.7) as (_, bad_key),
        seeder_peer(stack, headroom=0.6) as (good, accepting),
        consumer_peer(stack) as (consumer, _),
    ):
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "seeder_assignment"
        assert [len(b.offers) for b in (rejecting, stalling, bad_key, accepting)] == [1, 1, 1, 1]
        record = stack.registry.get(good.canonical_id)
        assert record is not None and record.load == 1
        for other in stack.registry.snapshot():
            if other.identity_id != good.canonical_id:
                assert other.load == 0
        assert stack.broker.metrics.offers.labels("timeout")._value.get() == 1
        assert stack.broker.metrics.offers.labels("bad_key")._value.get() == 1


async def test_all_seeders_reject(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack, SeederBehaviour(accept=False)),
        seeder_peer(stack, SeederBehaviour(accept=False)),
        consumer_peer(stack) as (consumer, _),
    ):
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "no_capacity"
        assert response.no_capacity.reason == "all_seeders_rejected"
        assert len(stack.broker.reservations) == 0
        assert all(record.load == 0 for record in stack.registry.snapshot())


async def test_empty_registry_is_no_eligible_seeder(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, consumer_peer(stack) as (consumer, _):
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.no_capacity.reason == "no_eligible_seeder"
        tip = await stack.ledger.tip()
        assert tip is not None
        entries = await stack.ledger.entries_since(0)
        assert all(entry.kind != EntryKind.USAGE for entry in entries)


async def test_report_after_the_request_failed_is_invalid_state_and_charges_nothing(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack) as (seeder, _),
        consumer_peer(stack) as (consumer, _),
    ):
        before = (await consumer.balance()).body.credits
        token = (
            await consumer.broker_request(await signed_request(consumer))
        ).seeder_assignment.reservation_token
        # the reaper: the reservation expired
        assert stack.broker.reap(trio_now_plus(stack, 10_000)) == 1
        with pytest.raises(InvalidRequest, match="INVALID_STATE"):
            await seeder.usage_report(signed_usage_report(seeder.identity, token, SONNET, 100, 200))
        assert (await consumer.balance()).body.credits == before
        assert stack.registry.get(seeder.canonical_id).load == 0  # type: ignore[union-attr]


async def test_report_checks(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack) as (seeder, _),
        seeder_peer(stack, SeederBehaviour(accept=False)) as (other_seeder, _),
        consumer_peer(stack) as (consumer, _),
    ):
        token = (
            await consumer.broker_request(await signed_request(consumer))
        ).seeder_assignment.reservation_token
        with pytest.raises(InvalidRequest, match="SEEDER_MISMATCH"):
            await other_seeder.usage_report(signed_usage_report(other_seeder.identity, token, SONNET, 1, 1))
        with pytest.raises(InvalidRequest, match="COST_OVERSPEND"):
            await seeder.usage_report(signed_usage_report(seeder.identity, token, SONNET, 100, 300))
        bad = signed_usage_report(seeder.identity, token, SONNET, 100, 200)
        bad.seeder_sig = seeder.identity.sign(b"not the preimage")
        with pytest.raises(InvalidRequest, match="SEEDER_SIG_INVALID"):
            await seeder.usage_report(bad)
        with pytest.raises(NotFound):
            await other_seeder.usage_report(
                signed_usage_report(other_seeder.identity, b"\x05" * 16, SONNET, 1, 1)
            )
        # a Go plugin report: the seeder's own random id, matched to its oldest assigned request
        await seeder.usage_report(signed_usage_report(seeder.identity, b"\x09" * 16, SONNET, 10, 10))
        entries = [e for e in await stack.ledger.entries_since(0) if e.kind == EntryKind.USAGE]
        assert len(entries) == 1 and entries[0].body.request_id == token
        assert stack.broker.metrics.fifo_matches._value.get() == 1


def trio_now_plus(stack: object, seconds: float) -> float:
    import time

    return time.time() + seconds


async def test_turn_relay_session_is_shared_by_both_parties_of_an_assignment(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        seeder_peer(stack) as (seeder, _),
        consumer_peer(stack) as (consumer, _),
        consumer_peer(stack) as (stranger, _),
    ):
        token = (
            await consumer.broker_request(await signed_request(consumer))
        ).seeder_assignment.reservation_token
        from_consumer = await consumer.turn_relay_open(token)
        from_seeder = await seeder.turn_relay_open(token)
        assert from_consumer.token == from_seeder.token and len(from_consumer.token) == 16
        with pytest.raises(Unauthenticated, match="not party"):
            await stranger.turn_relay_open(token)
        with pytest.raises(InvalidRequest, match="unknown reservation_token"):
            await consumer.turn_relay_open(b"\x01" * 16)
