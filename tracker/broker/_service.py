"""The broker's Trio edge: `BrokerService` runs the admitted path (reserve → select → offer loop →
assignment), the queued path (wait for the drain, then the same), settlement (usage report → USAGE entry at
once through the group-committed ledger → settlement push; SETTLE → durable countersignature), and the
background tasks (queue drain, reservation reaper, terminal sweep).

Inflight state lives in plain dicts mutated on the Trio thread with no await between a read and its write, so
compare-and-set needs no lock. Pushes go through a `Pusher` (the RPC server) set after construction.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import trio

from tracker._proto.envelope_pb2 import EnvelopeBody
from tracker._proto.rpc_pb2 import OfferDecision, OfferPush, SettlementPush
from tracker._ticks import ticks
from tracker._usage import usage_preimage
from tracker.admission import AdmissionService, Outcome
from tracker.broker._envelope import envelope_hash
from tracker.broker._metrics import BrokerMetrics
from tracker.broker._pricing import CostOverflow, PriceTable, UnknownModel, overspent
from tracker.broker._select import ScoreWeights, SelectionPolicy, pick_best
from tracker.broker._session import (
    IllegalTransition,
    Inflight,
    InflightRequest,
    InsufficientCredits,
    Reservations,
    State,
    UnknownRequest,
)
from tracker.identity import verify
from tracker.ledger import (
    AsyncLedger,
    BrokeredUsageRecord,
    CountersignatureConflict,
    EntryKind,
    InsufficientBalance,
    SettlementStore,
    UsageReportExists,
    canonical_bytes,
)
from tracker.registry import PrivacyTier, Registry, UnknownSeederError

logger = logging.getLogger("tracker.broker")

PUSH_TAG_OFFER = 0x01
PUSH_TAG_SETTLEMENT = 0x02
REAPER_PERIOD_S = 30.0
RETRY_MIN_S = 60
RETRY_MAX_S = 600
_UINT32 = 0xFFFFFFFF


class Pusher(Protocol):
    async def push(self, identity_id: bytes, tag: int, body: bytes, timeout_s: float) -> bytes | None: ...


# ---- results ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    seeder_id: bytes
    seeder_addr: str
    ephemeral_pubkey: bytes
    reservation_token: bytes


@dataclass(frozen=True, slots=True)
class NoCapacity:
    reason: str


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: int  # RejectReason: 1 REGION_OVERLOADED, 2 QUEUE_TIMEOUT
    retry_after_s: int


BrokerResult = Assignment | NoCapacity | Rejection


class SettlementError(Exception):
    """A usage report or settle refused; `kind` is the status family (invalid, not_found), `code` the Go
    message (SEEDER_MISMATCH, INVALID_STATE, …)."""

    def __init__(self, kind: str, code: str) -> None:
        super().__init__(code)
        self.kind = kind
        self.code = code


class BrokerInvalid(Exception):
    """The request cannot be brokered as sent (unknown model, cost overflow): INVALID."""


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    policy: SelectionPolicy = field(default_factory=SelectionPolicy)
    offer_timeout_s: float = 1.5
    max_offer_attempts: int = 4
    queue_drain_interval_s: float = 1.0
    inflight_terminal_ttl_s: float = 600.0
    settlement_timeout_s: float = 900.0
    reservation_ttl_s: float = 1200.0
    reaper_period_s: float = REAPER_PERIOD_S

    @classmethod
    def from_config(cls, config: object) -> BrokerSettings:
        broker = config.broker  # type: ignore[attr-defined]
        settlement = config.settlement  # type: ignore[attr-defined]
        weights = broker.score_weights
        return cls(
            policy=SelectionPolicy(
                weights=ScoreWeights(weights.reputation, weights.headroom, weights.rtt, weights.load),
                min_headroom=float(broker.headroom_threshold),
                max_load=int(broker.load_threshold),
            ),
            offer_timeout_s=(broker.offer_timeout_ms if broker.offer_timeout_ms > 0 else 5000) / 1000.0,
            max_offer_attempts=int(broker.max_offer_attempts),
            queue_drain_interval_s=(broker.queue_drain_interval_ms or 1000) / 1000.0,
            inflight_terminal_ttl_s=float(broker.inflight_terminal_ttl_s),
            settlement_timeout_s=float(settlement.settlement_timeout_s or 30),
            reservation_ttl_s=float(settlement.reservation_ttl_s),
        )


@dataclass(slots=True)
class _QueuedWaiter:
    consumer_id: bytes
    turn: trio.Event
    enqueued_at: float


class BrokerService:
    def __init__(
        self,
        *,
        ledger: AsyncLedger,
        settlements: SettlementStore,
        registry: Registry,
        admission: AdmissionService,
        prices: PriceTable,
        settings: BrokerSettings | None = None,
        metrics: BrokerMetrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ledger = ledger
        self._settlements = settlements
        self._registry = registry
        self._admission = admission
        self.prices = prices
        self.settings = settings or BrokerSettings()
        self.metrics = metrics or BrokerMetrics(None)
        self._clock = clock
        self.pusher: Pusher | None = None
        self.inflight = Inflight()
        self.reservations = Reservations()
        self.metrics.track_reservations(self.reservations.__len__, lambda: self.reservations.total)
        self._queued: dict[bytes, _QueuedWaiter] = {}
        self._drain_wanted = trio.Event()
        self._reports_in_progress: dict[tuple[bytes, bytes], trio.Event] = {}
        # USAGE entries this tracker committed whose consumer has not countersigned yet, by entry hash: SETTLE
        # needs no ledger read for them. Dropped when settled or when their request is swept.
        self._awaiting_settle: dict[bytes, InflightRequest] = {}
        self._limiter = trio.CapacityLimiter(1)
        self._nursery: trio.Nursery | None = None

    # ---- broker_request ---------------------------------------------------------------------------------

    async def broker_request(
        self, consumer_id: bytes, body: EnvelopeBody, proof_credits: int
    ) -> BrokerResult:
        """Admission Decide, then the admitted or queued path. Cancellation (the consumer disconnected)
        leaves the queue and releases whatever was reserved."""
        now = self._clock()
        decision = self._admission.decide(consumer_id, None, now)
        if decision.outcome == Outcome.ADMIT:
            return await self.submit(consumer_id, body, proof_credits)
        if decision.outcome == Outcome.QUEUE and decision.queued is not None:
            return await self._wait_in_queue(consumer_id, body, proof_credits, decision.queued.request_id)
        if decision.outcome == Outcome.REJECT and decision.rejected is not None:
            self.metrics.requests.labels("region_overloaded").inc()
            retry = min(RETRY_MAX_S, max(RETRY_MIN_S, int(decision.rejected.retry_after_s)))
            return Rejection(int(decision.rejected.reason), retry)
        raise RuntimeError(f"admission returned {decision.outcome!r} without its details")

    async def _wait_in_queue(
        self, consumer_id: bytes, body: EnvelopeBody, proof_credits: int, queue_id: bytes
    ) -> BrokerResult:
        waiter = _QueuedWaiter(consumer_id, trio.Event(), trio.current_time())
        self._queued[queue_id] = waiter
        timeout = float(self._admission.queue_timeout_s())
        self.request_drain()
        try:
            with trio.move_on_after(timeout):
                await waiter.turn.wait()
            self.metrics.queue_wait.observe(trio.current_time() - waiter.enqueued_at)
            if not waiter.turn.is_set():
                self.metrics.requests.labels("queue_timeout").inc()
                return Rejection(2, min(RETRY_MAX_S, max(RETRY_MIN_S, int(timeout))))
        finally:
            if self._queued.pop(queue_id, None) is not None:
                self._admission.cancel_queued(queue_id)
        return await self.submit(consumer_id, body, proof_credits)

    def request_drain(self) -> None:
        self._drain_wanted.set()

    def queued_count(self) -> int:
        return len(self._queued)

    def drain_queue(self) -> int:
        """Give every ready queue entry its turn; how many waiting consumers were woken. Entries whose
        consumer already left are dropped."""
        woken = 0
        while True:
            entry = self._admission.pop_ready_for_broker(self._clock())
            if entry is None:
                return woken
            waiter = self._queued.pop(entry.request_id, None)
            if waiter is not None:
                waiter.turn.set()
                woken += 1

    async def submit(self, consumer_id: bytes, body: EnvelopeBody, proof_credits: int) -> BrokerResult:
        """Reserve, select and offer (rpc-broker §6.2). Raises BrokerInvalid for an unknown model or a cost
        overflow."""
        try:
            cost = self.prices.max_cost(body.model, body.max_input_tokens, body.max_output_tokens)
        except UnknownModel:
            self.metrics.requests.labels("rejected_invalid").inc()
            raise BrokerInvalid("UNKNOWN_MODEL") from None
        except CostOverflow as error:
            self.metrics.requests.labels("rejected_invalid").inc()
            raise BrokerInvalid(f"COST_OVERFLOW: {error}") from None
        live = await self._ledger.credits(consumer_id)
        available = min(max(0, proof_credits), live)
        request_id = os.urandom(16)
        now = self._clock()
        try:
            self.reservations.reserve(
                request_id, consumer_id, cost, available, now + self.settings.reservation_ttl_s
            )
        except (InsufficientCredits, CostOverflow):
            self.metrics.requests.labels("insufficient_credits").inc()
            return NoCapacity("insufficient_credits")
        request = InflightRequest(
            request_id=request_id,
            consumer_id=consumer_id,
            body=body,
            envelope_hash=envelope_hash(body),
            max_cost=cost,
            started_at=now,
        )
        self.inflight.insert(request)
        assigned = False
        try:
            result = await self._offer_loop(request)
            assigned = isinstance(result, Assignment)
            return result
        finally:
            if not assigned:
                self.reservations.release(request_id)
                with contextlib.suppress(IllegalTransition, UnknownRequest):
                    self.inflight.transition(request_id, State.SELECTING, State.FAILED, self._clock())

    async def _offer_loop(self, request: InflightRequest) -> BrokerResult:
        body = request.body
        tier = PrivacyTier(int(body.tier))
        tried: set[bytes] = set()
        offer = OfferPush(
            consumer_id=body.consumer_id,
            envelope_hash=request.envelope_hash,
            model=body.model,
            max_input_tokens=body.max_input_tokens & _UINT32,
            max_output_tokens=body.max_output_tokens & _UINT32,
        ).SerializeToString(deterministic=True)
        for _attempt in range(self.settings.max_offer_attempts):
            seeder = pick_best(
                self._registry, model=body.model, tier=tier, tried=tried, policy=self.settings.policy
            )
            if seeder is None:
                break
            tried.add(seeder.identity_id)
            request.offer_attempts += 1
            try:
                self._registry.inc_load(seeder.identity_id)
            except UnknownSeederError:
                continue
            keep_load = False
            try:
                ephemeral = await self._offer(seeder.identity_id, offer)
                if ephemeral is None:
                    continue
                request.assigned_seeder = seeder.identity_id
                request.seeder_ephemeral_key = ephemeral
                request.assigned_at = self._clock()
                self.inflight.transition(
                    request.request_id, State.SELECTING, State.ASSIGNED, request.assigned_at
                )
                keep_load = True
                self.metrics.requests.labels("assigned").inc()
                return Assignment(
                    seeder_id=seeder.identity_id,
                    seeder_addr=seeder.net_coords.external_addr,
                    ephemeral_pubkey=ephemeral,
                    reservation_token=request.request_id,
                )
            finally:
                if not keep_load:
                    self._dec_load(seeder.identity_id)
        reason = "all_seeders_rejected" if tried else "no_eligible_seeder"
        self.metrics.requests.labels(reason).inc()
        return NoCapacity(reason)

    async def _offer(self, seeder_id: bytes, offer: bytes) -> bytes | None:
        """Push one offer; the seeder's 32-byte ephemeral key on accept, else None."""
        pusher = self.pusher
        if pusher is None:
            self.metrics.offers.labels("unreachable").inc()
            return None
        started = time.perf_counter()
        with trio.move_on_after(self.settings.offer_timeout_s):
            reply = await pusher.push(seeder_id, PUSH_TAG_OFFER, offer, self.settings.offer_timeout_s)
            self.metrics.offer_latency.observe(time.perf_counter() - started)
            if reply is None:
                self.metrics.offers.labels("unreachable").inc()
                return None
            decision = OfferDecision()
            try:
                decision.ParseFromString(reply)
            except Exception:
                self.metrics.offers.labels("reject").inc()
                return None
            if not decision.accept:
                self.metrics.offers.labels("reject").inc()
                return None
            if len(decision.ephemeral_pubkey) != 32:
                self.metrics.offers.labels("bad_key").inc()
                return None
            self.metrics.offers.labels("accept").inc()
            return bytes(decision.ephemeral_pubkey)
        self.metrics.offers.labels("timeout").inc()
        return None

    def _dec_load(self, seeder_id: bytes) -> None:
        with contextlib.suppress(Exception):
            self._registry.dec_load(seeder_id)

    # ---- settlement ---------------------------------------------------------------------------------------

    async def usage_report(
        self,
        seeder_id: bytes,
        seeder_pub: bytes,
        report_id: bytes,
        model: str,
        input_tokens: int,
        output_tokens: int,
        seeder_sig: bytes,
    ) -> int:
        """Settle a seeder's usage report; the seq of its USAGE entry (the same seq for a repeat)."""
        started = time.perf_counter()
        key = (seeder_id, report_id)
        while (running := self._reports_in_progress.get(key)) is not None:
            await running.wait()
        done = trio.Event()
        self._reports_in_progress[key] = done
        try:
            return await self._settle_report(
                started, seeder_id, seeder_pub, report_id, model, input_tokens, output_tokens, seeder_sig
            )
        finally:
            del self._reports_in_progress[key]
            done.set()

    def _fail(self, outcome: str, kind: str, code: str) -> SettlementError:
        self.metrics.settlements.labels(outcome).inc()
        return SettlementError(kind, code)

    async def _settle_report(
        self,
        started: float,
        seeder_id: bytes,
        seeder_pub: bytes,
        report_id: bytes,
        model: str,
        input_tokens: int,
        output_tokens: int,
        seeder_sig: bytes,
    ) -> int:
        request = self.inflight.get(report_id)
        if request is None or request.state != State.ASSIGNED:
            # Not a live assignment by this token: it may be a repeat of a report settled before a restart
            # (the ledger's side table knows; the append below would refuse a second entry anyway).
            seq = await trio.to_thread.run_sync(
                self._settlements.usage_report_seq, seeder_id, report_id, limiter=self._limiter
            )
            if seq is not None:
                self.metrics.settlements.labels("duplicate").inc()
                return seq
        if request is not None and request.assigned_seeder != seeder_id:
            raise self._fail("seeder_mismatch", "invalid", "SEEDER_MISMATCH")
        if request is None:
            request = self.inflight.oldest_assigned(seeder_id, model)
            if request is None:
                raise self._fail("not_found", "not_found", "unknown request_id")
            self.metrics.fifo_matches.inc()
        if request.state not in (State.ASSIGNED,):
            if request.settled_seq and request.seeder_report_id == report_id:
                self.metrics.settlements.labels("duplicate").inc()
                return request.settled_seq
            raise self._fail("invalid_state", "invalid", "INVALID_STATE")
        if request.model != model:
            raise self._fail("model_mismatch", "invalid", "MODEL_MISMATCH")
        try:
            actual = self.prices.actual_cost(model, input_tokens, output_tokens)
        except (UnknownModel, CostOverflow):
            raise self._fail("cost_overspend", "invalid", "COST_OVERSPEND") from None
        if overspent(actual, request.max_cost):
            raise self._fail("cost_overspend", "invalid", "COST_OVERSPEND")
        if not verify(seeder_pub, usage_preimage(report_id, model, input_tokens, output_tokens), seeder_sig):
            raise self._fail("seeder_sig_invalid", "invalid", "SEEDER_SIG_INVALID")
        self.inflight.transition(request.request_id, State.ASSIGNED, State.SERVING, self._clock())
        try:
            committed = await self._ledger.append_brokered_usage(
                BrokeredUsageRecord(
                    consumer_id=request.consumer_id,
                    seeder_id=seeder_id,
                    model=model,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    cost_credits=actual,
                    request_id=request.request_id,
                    seeder_report_id=report_id,
                    seeder_sig=seeder_sig,
                    seeder_pub=seeder_pub,
                )
            )
        except UsageReportExists as exists:
            self._finish(request, State.COMPLETED)
            request.settled_seq = exists.seq
            request.seeder_report_id = report_id
            self.metrics.settlements.labels("duplicate").inc()
            return exists.seq
        except InsufficientBalance:
            self._finish(request, State.FAILED)
            raise self._fail("insufficient_balance", "invalid", "INSUFFICIENT_BALANCE") from None
        except BaseException:
            self._finish(request, State.FAILED)
            self.metrics.settlements.labels("error").inc()
            raise
        request.settled_seq = committed.seq
        request.seeder_report_id = report_id
        request.preimage_hash = committed.hash
        request.preimage_body = canonical_bytes(committed.body)
        self._awaiting_settle[committed.hash] = request
        self._finish(request, State.COMPLETED)
        self.metrics.settlements.labels("committed").inc()
        self.metrics.commit_latency.observe(time.perf_counter() - started)
        push = SettlementPush(preimage_hash=committed.hash, preimage_body=request.preimage_body)
        self._spawn(self._push_settlement, request.consumer_id, push.SerializeToString(deterministic=True))
        return committed.seq

    def _finish(self, request: InflightRequest, to: State) -> None:
        """SERVING → `to`, with the reservation and the seeder's load released."""
        with contextlib.suppress(IllegalTransition, UnknownRequest):
            self.inflight.transition(request.request_id, State.SERVING, to, self._clock())
        if self.reservations.release(request.request_id) is not None:
            self._dec_load(request.assigned_seeder)

    def _spawn(self, function: Callable[..., Awaitable[None]], *args: object) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(function, *args)

    async def _push_settlement(self, consumer_id: bytes, body: bytes) -> None:
        pusher = self.pusher
        reply = None
        if pusher is not None:
            reply = await pusher.push(
                consumer_id, PUSH_TAG_SETTLEMENT, body, self.settings.settlement_timeout_s
            )
        if reply is None:
            self.metrics.pushes_failed.inc()

    async def settle(
        self, consumer_id: bytes, consumer_pub: bytes, preimage_hash: bytes, consumer_sig: bytes
    ) -> None:
        """Verify the consumer's countersignature over the entry's exact body bytes and record it durably
        (group-committed with the ledger's appends). The entry comes from memory when this tracker
        committed it and it awaits its first countersignature, else from the ledger."""
        awaiting = self._awaiting_settle.get(preimage_hash)
        if awaiting is not None:
            seq, owner, body_bytes = awaiting.settled_seq, awaiting.consumer_id, awaiting.preimage_body
        else:
            entry = await self._ledger.entry_by_hash(preimage_hash)
            if entry is None or entry.kind != EntryKind.USAGE:
                raise self._fail("settle_not_found", "not_found", "unknown preimage_hash")
            seq, owner, body_bytes = entry.seq, entry.body.consumer_id, canonical_bytes(entry.body)
        if owner != consumer_id:
            raise self._fail("settle_mismatch", "invalid", "SEEDER_MISMATCH")
        if not verify(consumer_pub, body_bytes, consumer_sig):
            # A different signature than the one recorded is a duplicate settle, whatever it signs.
            recorded_before = await trio.to_thread.run_sync(
                self._settlements.countersignature, seq, limiter=self._limiter
            )
            if recorded_before is not None:
                raise self._fail("settle_duplicate", "invalid", "DUPLICATE_SETTLE")
            raise self._fail("settle_bad_signature", "invalid", "CONSUMER_SIG_INVALID")
        try:
            recorded = await self._ledger.record_countersignature(seq, consumer_sig, int(self._clock()))
        except CountersignatureConflict:
            raise self._fail("settle_duplicate", "invalid", "DUPLICATE_SETTLE") from None
        self._awaiting_settle.pop(preimage_hash, None)
        if recorded:
            self.metrics.countersignatures.inc()
            self.metrics.settlements.labels("settle_recorded").inc()
        else:
            self.metrics.settlements.labels("settle_repeat").inc()

    async def countersigned(self, seqs: Sequence[int]) -> set[int]:
        """The seqs among `seqs` whose consumer countersignature is recorded (the settlement store, not the
        ledger entry: the entry is committed with the seeder's signature only)."""

        def lookup() -> set[int]:
            return {seq for seq in seqs if self._settlements.countersignature(seq) is not None}

        return await trio.to_thread.run_sync(lookup, limiter=self._limiter)

    # ---- operator overrides -------------------------------------------------------------------------------

    def release_reservation(self, request_id: bytes) -> bool:
        return self.reservations.release(request_id) is not None

    def force_fail(self, request_id: bytes) -> State:
        return self.inflight.force_fail(request_id, self._clock())

    # ---- background ---------------------------------------------------------------------------------------

    def reap(self, now: float) -> int:
        """Expired reservations: their SELECTING/ASSIGNED requests fail; an ASSIGNED seeder's load is
        released. How many slots expired."""
        expired = self.reservations.sweep_expired(now)
        for slot in expired:
            request = self.inflight.get(slot.request_id)
            if request is None:
                continue
            if request.state in (State.SELECTING, State.ASSIGNED):
                prior = request.state
                self.inflight.transition(slot.request_id, prior, State.FAILED, now)
                if prior == State.ASSIGNED:
                    self._dec_load(request.assigned_seeder)
        if expired:
            logger.info("broker: expired reservations reaped", extra={"reaped": len(expired)})
        return len(expired)

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The broker's background tasks (queue drain, reaper, terminal sweep) and its settlement pushes."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._drain_loop)
            nursery.start_soon(self._reaper_loop)
            task_status.started()
            await trio.sleep_forever()

    async def _drain_loop(self) -> None:
        while True:
            with trio.move_on_after(self.settings.queue_drain_interval_s):
                await self._drain_wanted.wait()
            self._drain_wanted = trio.Event()
            self.drain_queue()

    async def _reaper_loop(self) -> None:
        async for _ in ticks(self.settings.reaper_period_s):
            now = self._clock()
            self.reap(now)
            self.sweep_terminal(now)

    def sweep_terminal(self, now: float) -> int:
        """Drop terminal requests older than the TTL, and what they left awaiting a countersignature (a
        late SETTLE then reads the entry from the ledger); how many requests were dropped."""
        swept = self.inflight.sweep_terminal(now, self.settings.inflight_terminal_ttl_s)
        if swept:
            for entry_hash, request in list(self._awaiting_settle.items()):
                if self.inflight.get(request.request_id) is not request:
                    del self._awaiting_settle[entry_hash]
        return swept
