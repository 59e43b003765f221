"""A brokered request as the reference peers run it (tests, bench): `SeederPeer` answers offers with a fresh
ephemeral key and reports usage with its identity key; `ConsumerPeer` builds a signed envelope (exhaustion
proof, fresh balance proof), waits for the settlement push of its request and countersigns it with SETTLE."""

from __future__ import annotations

import hashlib
import os
import time

import trio

from tracker._proto.balance_pb2 import SignedBalanceSnapshot
from tracker._proto.envelope_pb2 import EnvelopeBody, ExhaustionProofV1, StopFailure, UsageProbe
from tracker._proto.ledger_pb2 import EntryBody
from tracker._proto.rpc_pb2 import OfferDecision, OfferPush, SeederAssignment, SettleAck, SettlementPush
from tracker.client._client import PeerClient
from tracker.client._errors import ClientError
from tracker.client._signing import signed_envelope, signed_usage_report

STANDARD_TIER = 1


def envelope_body(
    model: str, max_input_tokens: int, max_output_tokens: int, balance_proof: object, now: float | None = None
) -> EnvelopeBody:
    """An envelope body with a two-signal exhaustion proof captured now and a fresh nonce."""
    at = int(time.time() if now is None else now)
    proof = ExhaustionProofV1(
        stop_failure=StopFailure(matcher="rate_limit", at=at - 5, error_shape=b'{"type":"rate_limit_error"}'),
        usage_probe=UsageProbe(at=at - 2, output=b"limit hit"),
        captured_at=at - 1,
        nonce=os.urandom(16),
    )
    body = EnvelopeBody(
        protocol_version=1,
        model=model,
        max_input_tokens=max_input_tokens,
        max_output_tokens=max_output_tokens,
        tier=STANDARD_TIER,  # type: ignore[arg-type]
        body_hash=hashlib.sha256(os.urandom(16)).digest(),
        exhaustion_proof=proof,
        captured_at=at,
        nonce=os.urandom(16),
    )
    body.balance_proof.CopyFrom(balance_proof)  # type: ignore[arg-type]
    return body


class SeederPeer:
    """The offer handler of a seeder that accepts every offer for its models."""

    def __init__(self, models: list[str]) -> None:
        self.models = models
        self.offers = 0

    async def on_offer(self, offer: OfferPush) -> OfferDecision:
        self.offers += 1
        if offer.model not in self.models:
            return OfferDecision(accept=False, reject_reason=f"model {offer.model} not served")
        return OfferDecision(accept=True, ephemeral_pubkey=os.urandom(32))

    @staticmethod
    async def report(
        client: PeerClient, token: bytes, model: str, input_tokens: int, output_tokens: int
    ) -> None:
        await client.usage_report(
            signed_usage_report(client.identity, token, model, input_tokens, output_tokens)
        )


class ConsumerPeer:
    """The settlement handler of a consumer: countersigns pushes for its own pending requests."""

    PROOF_REUSE_S = 60.0  # a balance proof is valid 600 s; the tracker also checks the live balance

    def __init__(self) -> None:
        self.client: PeerClient | None = None
        self._proof: SignedBalanceSnapshot | None = None
        self._proof_at = 0.0
        self._waiting: dict[bytes, trio.Event] = {}
        self.settled: dict[bytes, bytes] = {}  # reservation token -> entry hash
        self.unsolicited = 0

    async def on_settlement(self, push: SettlementPush) -> SettleAck | None:
        if self.client is None or hashlib.sha256(push.preimage_body).digest() != push.preimage_hash:
            return None
        body = EntryBody.FromString(push.preimage_body)
        event = self._waiting.get(body.request_id)
        if event is None:
            self.unsolicited += 1
            return None
        try:
            await self.client.settle(push.preimage_hash, self.client.identity.sign(push.preimage_body))
        except ClientError:
            return None
        self.settled[body.request_id] = push.preimage_hash
        event.set()
        return SettleAck()

    async def request(
        self, model: str, max_input_tokens: int, max_output_tokens: int
    ) -> SeederAssignment | str:
        """broker_request (balance proof refreshed every PROOF_REUSE_S); the assignment, or the reason it was
        not assigned."""
        assert self.client is not None
        if self._proof is None or time.monotonic() - self._proof_at > self.PROOF_REUSE_S:
            self._proof = await self.client.balance()
            self._proof_at = time.monotonic()
        body = envelope_body(model, max_input_tokens, max_output_tokens, self._proof)
        response = await self.client.broker_request(signed_envelope(self.client.identity, body))
        outcome = response.WhichOneof("outcome")
        if outcome == "seeder_assignment":
            self._waiting[response.seeder_assignment.reservation_token] = trio.Event()
            return response.seeder_assignment
        if outcome == "no_capacity":
            return f"no_capacity:{response.no_capacity.reason}"
        return f"{outcome}"

    async def wait_settled(self, token: bytes, timeout_s: float = 30.0) -> bytes:
        """The entry hash once this request's settlement push was countersigned."""
        with trio.fail_after(timeout_s):
            await self._waiting[token].wait()
        del self._waiting[token]
        return self.settled.pop(token)
