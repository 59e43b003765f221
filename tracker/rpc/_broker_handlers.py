"""BROKER_REQUEST, USAGE_REPORT and SETTLE (rpc-broker §3.4 with the spec README's decisions) over the
broker service. BROKER_REQUEST checks, in order: envelope validation; consumer_id resolves to the caller; the
envelope signature (the caller's key); the balance proof (this tracker's signature, this consumer, not older
than 600 s, not from the future beyond the clock window); envelope freshness and nonce replay; the
per-identity rate limit; then admission Decide inside the broker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import cast

from tracker._proto import rpc_pb2
from tracker._proto.envelope_pb2 import EnvelopeSigned
from tracker._proto.rpc_pb2 import (
    BrokerRequestResponse,
    NoCapacity,
    Rejected,
    SeederAssignment,
    SettleRequest,
    UsageReport,
)
from tracker.broker import (
    Assignment,
    BrokerInvalid,
    BrokerService,
    EnvelopeInvalid,
    Rejection,
    ReplayCache,
    SettlementError,
    validate_envelope_body,
)
from tracker.identity import verify
from tracker.ledger import (
    BALANCE_SNAPSHOT_TTL_SECONDS,
    TIMESTAMP_WINDOW_SECONDS,
    SignedBalanceSnapshot,
    canonical_bytes,
    verify_balance_snapshot,
)
from tracker.rpc._errors import InvalidArgument, NoCapacityError, NotFoundError, UnauthenticatedError
from tracker.rpc._peers import Peer
from tracker.rpc._rate import RateLimiter
from tracker.rpc._router import parse_payload

Resolver = Callable[[bytes], Awaitable[bytes]]
VERIFIED_PROOFS_CAPACITY = 4096


class BrokerHandlers:
    def __init__(
        self,
        broker: BrokerService,
        *,
        resolve: Resolver,
        tracker_public_key: bytes,
        rate_per_sec: float,
        clock: Callable[[], float],
    ) -> None:
        self.broker = broker
        self._resolve = resolve
        self._tracker_pub = tracker_public_key
        self._clock = clock
        self._limiter = RateLimiter(rate_per_sec * 60.0, burst=rate_per_sec)
        self.replays = ReplayCache(TIMESTAMP_WINDOW_SECONDS)
        # tracker_sig → body bytes of balance proofs whose signature verified: a consumer sends the same proof
        # with many requests, and the same bytes under the same key verify the same way every time.
        self._verified_proofs: dict[bytes, bytes] = {}

    def _proof_signature_valid(self, proof: SignedBalanceSnapshot) -> bool:
        body = canonical_bytes(proof.body)
        if self._verified_proofs.get(proof.tracker_sig) == body:
            return True
        if not verify_balance_snapshot(proof, self._tracker_pub):
            return False
        if len(self._verified_proofs) >= VERIFIED_PROOFS_CAPACITY:
            self._verified_proofs.clear()
        self._verified_proofs[proof.tracker_sig] = body
        return True

    async def broker_request(self, peer: Peer, payload: bytes) -> BrokerRequestResponse:
        envelope = parse_payload(EnvelopeSigned, payload)
        if not envelope.HasField("body"):
            raise InvalidArgument("EnvelopeSigned.Body nil")
        body = envelope.body
        try:
            validate_envelope_body(body)
        except EnvelopeInvalid as error:
            raise InvalidArgument(f"EnvelopeBody: {error}") from None
        consumer = peer.canonical_id
        if await self._resolve(body.consumer_id) != consumer:
            raise UnauthenticatedError("consumer_id is not the caller's identity")
        if not verify(peer.public_key, body.SerializeToString(deterministic=True), envelope.consumer_sig):
            raise UnauthenticatedError("envelope signature invalid")
        proof = body.balance_proof
        if not proof.HasField("body"):
            raise InvalidArgument("balance_proof missing body")
        if not self._proof_signature_valid(proof):
            raise InvalidArgument("balance_proof signature invalid")
        if await self._resolve(proof.body.identity_id) != consumer:
            raise InvalidArgument("balance_proof is not for this consumer")
        now = self._clock()
        if now - proof.body.issued_at > BALANCE_SNAPSHOT_TTL_SECONDS:
            raise InvalidArgument("balance_proof stale")
        if proof.body.issued_at - now > TIMESTAMP_WINDOW_SECONDS:
            raise InvalidArgument("balance_proof issued in the future")
        if abs(body.captured_at - now) > TIMESTAMP_WINDOW_SECONDS:
            raise InvalidArgument(f"envelope captured_at is more than {TIMESTAMP_WINDOW_SECONDS} s from now")
        if not self.replays.check_and_add(consumer, body.nonce, now):
            raise InvalidArgument("envelope nonce replayed")
        if not self._limiter.allow(consumer.hex(), now):
            raise NoCapacityError(
                f"broker_request rate limit: {self._limiter.rate_per_min / 60:g} per second per identity "
                "(broker.broker_request_rate_per_sec)"
            )
        try:
            result = await self.broker.broker_request(consumer, body, proof.body.credits)
        except BrokerInvalid as error:
            raise InvalidArgument(str(error)) from None
        if isinstance(result, Assignment):
            return BrokerRequestResponse(
                seeder_assignment=SeederAssignment(
                    seeder_addr=result.seeder_addr.encode(),
                    seeder_pubkey=result.ephemeral_pubkey,
                    reservation_token=result.reservation_token,
                )
            )
        if isinstance(result, Rejection):
            return BrokerRequestResponse(
                rejected=Rejected(
                    reason=cast(rpc_pb2.RejectReason, result.reason), retry_after_s=result.retry_after_s
                )
            )
        return BrokerRequestResponse(no_capacity=NoCapacity(reason=result.reason))

    async def usage_report(self, peer: Peer, payload: bytes) -> None:
        report = parse_payload(UsageReport, payload)
        if len(report.request_id) != 16:
            raise InvalidArgument("UsageReport.request_id: want 16 bytes")
        if not report.model:
            raise InvalidArgument("UsageReport.model: empty")
        try:
            await self.broker.usage_report(
                peer.canonical_id,
                peer.public_key,
                report.request_id,
                report.model,
                report.input_tokens,
                report.output_tokens,
                report.seeder_sig,
            )
        except SettlementError as error:
            raise _settlement_failure(error) from None

    async def settle(self, peer: Peer, payload: bytes) -> None:
        request = parse_payload(SettleRequest, payload)
        if len(request.preimage_hash) != 32:
            raise InvalidArgument("preimage_hash length")
        try:
            await self.broker.settle(
                peer.canonical_id, peer.public_key, request.preimage_hash, request.consumer_sig
            )
        except SettlementError as error:
            raise _settlement_failure(error) from None


def _settlement_failure(error: SettlementError) -> InvalidArgument | NotFoundError:
    return NotFoundError(error.code) if error.kind == "not_found" else InvalidArgument(error.code)


__all__ = ["BrokerHandlers"]
