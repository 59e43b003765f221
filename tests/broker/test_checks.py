"""BROKER_REQUEST's checks in order, and the closed quirks: replayed envelopes, another peer's consumer_id,
another identity's balance proof, MaxCost overflow, stale proofs, the per-identity rate limit; the queue path
(queued → assignment; a consumer who disconnects leaves the queue); 32 concurrent settlements."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest
import trio

from tests.broker.stack import (
    FAST_SETTINGS,
    SONNET,
    broker_stack,
    consumer_peer,
    envelope_body,
    seeder_peer,
    signed_request,
)
from tracker.admission.core._supply import SupplySnapshot
from tracker.broker import SelectionPolicy
from tracker.client import (
    ClientError,
    InvalidRequest,
    NoCapacity,
    Unauthenticated,
    signed_envelope,
    signed_usage_report,
)
from tracker.ledger import EntryKind, TransferInRecord

pytestmark = pytest.mark.trio


async def test_replayed_envelope_is_rejected(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, seeder_peer(stack), consumer_peer(stack) as (consumer, _):
        envelope = await signed_request(consumer)
        first = await consumer.broker_request(envelope)
        assert first.WhichOneof("outcome") == "seeder_assignment"
        with pytest.raises(InvalidRequest, match="nonce replayed"):
            await consumer.broker_request(envelope)


async def test_consumer_id_of_another_peer_is_rejected(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        consumer_peer(stack) as (victim, _),
        consumer_peer(stack) as (attacker, _),
    ):
        snapshot = await attacker.balance()
        body = envelope_body(snapshot)
        body.consumer_id = victim.raw_pub_id
        with pytest.raises(Unauthenticated, match="not the caller"):
            await attacker.broker_request(signed_envelope(attacker.identity, body))


async def test_balance_proof_of_another_identity_is_rejected(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path) as stack,
        consumer_peer(stack) as (rich, _),
        consumer_peer(stack) as (poor, _),
    ):
        borrowed = await poor.balance(rich.raw_pub_id)
        with pytest.raises(InvalidRequest, match="not for this consumer"):
            await poor.broker_request(signed_envelope(poor.identity, envelope_body(borrowed)))


async def test_max_cost_overflow_is_invalid(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, seeder_peer(stack), consumer_peer(stack) as (consumer, _):
        envelope = await signed_request(consumer, max_in=2**64 - 1, max_out=2**64 - 1)
        with pytest.raises(InvalidRequest, match="COST_OVERFLOW"):
            await consumer.broker_request(envelope)
        assert len(stack.broker.reservations) == 0


async def test_unknown_model_and_bad_signature_and_stale_proof(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, consumer_peer(stack) as (consumer, _):
        with pytest.raises(InvalidRequest, match="UNKNOWN_MODEL"):
            await consumer.broker_request(await signed_request(consumer, model="gpt-9"))
        envelope = await signed_request(consumer)
        envelope.consumer_sig = bytes(64)
        with pytest.raises(Unauthenticated, match="envelope signature invalid"):
            await consumer.broker_request(envelope)
        snapshot = await consumer.balance()
        envelope = await signed_request(consumer, now=time.time() - 1000)
        with pytest.raises(InvalidRequest, match="captured_at"):
            await consumer.broker_request(envelope)
        snapshot.tracker_sig = bytes(64)
        with pytest.raises(InvalidRequest, match="balance_proof signature invalid"):
            await consumer.broker_request(signed_envelope(consumer.identity, envelope_body(snapshot)))


async def test_a_proof_altered_after_its_signature_verified_once_is_still_rejected(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, seeder_peer(stack), consumer_peer(stack) as (consumer, _):
        snapshot = await consumer.balance()
        response = await consumer.broker_request(signed_envelope(consumer.identity, envelope_body(snapshot)))
        assert response.WhichOneof("outcome") == "seeder_assignment"
        # the same proof again is accepted (its verified signature is remembered) ...
        response = await consumer.broker_request(signed_envelope(consumer.identity, envelope_body(snapshot)))
        assert response.WhichOneof("outcome") == "seeder_assignment"
        # ... but not with other credits under that signature
        snapshot.body.credits += 1
        with pytest.raises(InvalidRequest, match="balance_proof signature invalid"):
            await consumer.broker_request(signed_envelope(consumer.identity, envelope_body(snapshot)))


async def test_insufficient_credits_then_success_after_a_grant(tmp_path: Path) -> None:
    async with (
        broker_stack(tmp_path, grant=100) as stack,
        seeder_peer(stack),
        consumer_peer(stack) as (consumer, _),
    ):
        response = await consumer.broker_request(await signed_request(consumer, max_in=1000, max_out=5000))
        assert response.no_capacity.reason == "insufficient_credits"
        tip = await stack.ledger.tip()
        assert tip is not None
        await stack.ledger.append_transfer_in(
            TransferInRecord(
                tip.hash, tip.seq + 1, consumer.canonical_id, 1_000_000, int(time.time()), b"\x01" * 32
            )
        )
        assert (await consumer.balance()).body.credits == 1_000_100
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "seeder_assignment"


async def test_rate_limit_per_identity(tmp_path: Path) -> None:
    async with broker_stack(tmp_path, rate_per_sec=1.0) as stack, consumer_peer(stack) as (consumer, _):
        await consumer.broker_request(await signed_request(consumer))
        with pytest.raises(NoCapacity, match="rate limit"):
            await consumer.broker_request(await signed_request(consumer))


def _queue_pressure(stack: object) -> None:
    stack.admission.core.publish_supply(  # type: ignore[attr-defined]
        SupplySnapshot(computed_at=time.time(), pressure=1.0)
    )


async def test_queued_request_is_answered_by_the_drain(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, seeder_peer(stack), consumer_peer(stack) as (consumer, _):
        _queue_pressure(stack)
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "seeder_assignment"
        assert stack.admission.queue_view() == []


async def test_consumer_who_disconnects_while_queued_leaves_the_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with broker_stack(tmp_path) as stack:
        monkeypatch.setattr(stack.admission, "pop_ready_for_broker", lambda now: None)  # the drain holds
        async with seeder_peer(stack), consumer_peer(stack) as (consumer, _):
            _queue_pressure(stack)
            envelope = await signed_request(consumer)

            async def request() -> None:
                with pytest.raises(ClientError):
                    await consumer.broker_request(envelope)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(request)
                with trio.fail_after(5):
                    while stack.broker.queued_count() == 0:
                        await trio.sleep(0.01)
                assert len(stack.admission.queue_view()) == 1
                consumer.close()
                with trio.fail_after(5):
                    while stack.broker.queued_count():
                        await trio.sleep(0.01)
                nursery.cancel_scope.cancel()
            assert stack.admission.queue_view() == []
            assert len(stack.broker.reservations) == 0


async def test_32_concurrent_settlements_all_succeed(tmp_path: Path) -> None:
    unlimited = replace(FAST_SETTINGS, policy=SelectionPolicy(max_load=0))
    async with broker_stack(tmp_path, unlimited) as stack, seeder_peer(stack) as (seeder, _):
        seeder_before = (await seeder.balance()).body.credits
        tokens: list[bytes] = []

        async def one_consumer() -> None:
            async with consumer_peer(stack) as (consumer, settler):
                response = await consumer.broker_request(await signed_request(consumer, max_in=1, max_out=1))
                token = response.seeder_assignment.reservation_token
                tokens.append(token)
                await seeder.usage_report(signed_usage_report(seeder.identity, token, SONNET, 1, 1))
                with trio.fail_after(10):
                    await settler.settled.wait()

        async with trio.open_nursery() as nursery:
            for _ in range(32):
                nursery.start_soon(one_consumer)
        usage = [e for e in await stack.ledger.entries_since(0) if e.kind == EntryKind.USAGE]
        assert len(usage) == 32
        assert {e.body.request_id for e in usage} == set(tokens)
        assert (await seeder.balance()).body.credits == seeder_before + 32 * 18
        for entry in usage:
            assert await trio.to_thread.run_sync(stack.settlements.countersignature, entry.seq) is not None
        assert await stack.ledger.assert_chain_integrity() == len(await stack.ledger.entries_since(0))


async def test_queue_timeout_answers_rejected_with_retry_in_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with broker_stack(tmp_path) as stack, consumer_peer(stack) as (consumer, _):
        monkeypatch.setattr(stack.admission, "pop_ready_for_broker", lambda now: None)  # the drain holds
        monkeypatch.setattr(stack.admission, "queue_timeout_s", lambda: 0.3)
        _queue_pressure(stack)
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "rejected"
        assert response.rejected.reason == 2  # QUEUE_TIMEOUT
        assert response.rejected.retry_after_s == 60  # clamped into [60, 600]
        assert stack.admission.queue_view() == []
        assert stack.broker.metrics.requests.labels("queue_timeout")._value.get() == 1


async def test_overloaded_region_rejects_with_retry_in_range(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack, consumer_peer(stack) as (consumer, _):
        stack.admission.core.publish_supply(SupplySnapshot(computed_at=time.time(), pressure=2.0))
        response = await consumer.broker_request(await signed_request(consumer))
        assert response.WhichOneof("outcome") == "rejected"
        assert response.rejected.reason == 1  # REGION_OVERLOADED
        assert 60 <= response.rejected.retry_after_s <= 600
        assert len(stack.broker.reservations) == 0
