"""AdmissionCore: the synchronous, deterministic admission gatekeeper (admission.md §3-§6, §10 reads).

Holds the consumer credit states, the seeder heartbeat states, the supply snapshot, demand, the priority queue
and the attestation machinery. Every time is passed in (`now`, unix seconds) except for the admin read views,
which use the injected `clock`. It never touches disk and never imports Trio.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from tracker._proto.admission_pb2 import SignedCreditAttestation
from tracker.admission._errors import (
    AdmissionConfigError,
    AttestationValidationError,
    BlocklistEntryError,
    NoLocalHistoryError,
    RateLimitedError,
)
from tracker.admission.core._attestation import (
    sign_credit_attestation,
    validate_credit_attestation_body,
    verify_credit_attestation,
)
from tracker.admission.core._decision import (
    DecisionResult,
    Outcome,
    Queued,
    QueueTimeout,
    Rejected,
    RejectReason,
    ScoreSource,
)
from tracker.admission.core._events import LedgerEvent, apply_ledger_event, event_touches
from tracker.admission.core._issuance import IssuanceRateLimiter, build_attestation_body
from tracker.admission.core._metrics import AdmissionMetrics
from tracker.admission.core._peers import PeerSet, StaticPeerSet, parse_blocklist
from tracker.admission.core._queue import (
    ETA_SECONDS_PER_POSITION,
    PriorityQueue,
    QueueEntry,
    eta_band,
    position_band,
)
from tracker.admission.core._score import (
    compute_local_score,
    compute_signals,
    go_round,
    score_from_signals,
)
from tracker.admission.core._state import ZERO_TIME, BucketArray, ConsumerCreditState, SeederHeartbeatState
from tracker.admission.core._supply import (
    EMPTY_SUPPLY,
    DemandTracker,
    SupplySnapshot,
    compute_supply,
    threshold_crossing,
)
from tracker.admission.core._views import AdmissionStatus, ConsumerView, QueueItemView

if TYPE_CHECKING:
    from tracker.config import AdmissionConfig
    from tracker.identity import TrackerIdentity
    from tracker.registry import Registry

DEFAULT_QUEUE_TIMEOUT_S = 300
CLOCK_JUMP_FORWARD_S = 60.0
"""A gap this long between two aggregator ticks (nominally 5 s apart) counts as a forward clock jump."""
HEADROOM_SOURCE_HEURISTIC = 1
_RETRY_MIN_S = 60
_RETRY_MAX_S = 600
_RETRY_BASE_S = 30
_RETRY_JITTER_S = 30
_SECONDS_PER_QUEUED = 5  # 200 ms of drain per queued request → q // 5 whole seconds


def compute_retry_after_s(queue_length: int, rng: random.Random) -> int:
    """clamp(30 + jitter[0, 30) + ⌊queue_length × 0.2 s⌋, 60, 600) (§5.1)."""
    value = _RETRY_BASE_S + rng.randrange(_RETRY_JITTER_S) + queue_length // _SECONDS_PER_QUEUED
    return max(_RETRY_MIN_S, min(_RETRY_MAX_S, value))


def min_serve_priority_for(pressure: float) -> float:
    """The broker's drain floor: 0.5 × (pressure − 1) above pressure 1, else 0."""
    return 0.5 * (pressure - 1.0) if pressure > 1.0 else 0.0


def check_config(config: AdmissionConfig) -> None:
    """The structural checks Go's Open runs (§13); raises AdmissionConfigError."""
    if config.rolling_window_days <= 0:
        raise AdmissionConfigError("admission: RollingWindowDays must be positive")
    if config.pressure_admit_threshold >= config.pressure_reject_threshold:
        raise AdmissionConfigError(
            f"admission: PressureAdmitThreshold {config.pressure_admit_threshold:.3f} must be < "
            f"PressureRejectThreshold {config.pressure_reject_threshold:.3f}"
        )
    if config.queue_cap <= 0:
        raise AdmissionConfigError("admission: QueueCap must be positive")


class AdmissionCore:
    """The admission gatekeeper. See the module docstring for the time model."""

    def __init__(
        self,
        config: AdmissionConfig,
        registry: Registry,
        identity: TrackerIdentity,
        *,
        peer_set: PeerSet | None = None,
        metrics: AdmissionMetrics | None = None,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        if registry is None:
            raise AdmissionConfigError("admission: AdmissionCore requires a registry")
        check_config(config)
        try:
            blocklist = parse_blocklist(config.attestation_peer_blocklist)
        except BlocklistEntryError as error:
            raise AdmissionConfigError(f"admission: {error}") from None
        self.config = config
        self.registry = registry
        self.identity = identity
        # Issued attestations name the raw public key as issuer: verifiers use the issuer bytes as the key.
        self.tracker_id: bytes = identity.public_key
        self._signing_key = identity.key_bytes
        self.peer_set: PeerSet = peer_set if peer_set is not None else StaticPeerSet()
        self.metrics = metrics
        self.clock = clock
        self._rng = rng if rng is not None else random.Random(os.urandom(16))

        self.consumers: dict[bytes, ConsumerCreditState] = {}
        self.seeders: dict[bytes, SeederHeartbeatState] = {}
        self.queue = PriorityQueue(config.queue_cap, config.aging_alpha_per_minute)
        self.demand = DemandTracker()
        self._supply: SupplySnapshot = EMPTY_SUPPLY
        self._blocklist: set[bytes] = blocklist
        self._rate_limiter = IssuanceRateLimiter(config.attestation_issuance_per_consumer_per_hour)
        self.degraded_mode = False
        self.pressure_crossings: dict[str, int] = {"up": 0, "down": 0}
        self.queue_timeouts_total = 0
        self.clock_jumps: dict[str, int] = {"forward": 0, "backward": 0}
        self._last_aggregate_at: float | None = None

        self._admit_threshold = float(config.pressure_admit_threshold)
        self._reject_threshold = float(config.pressure_reject_threshold)
        self._trial_tier_score = float(config.trial_tier_score)
        self._max_imported = float(config.max_attestation_score_imported)

        registry.add_heartbeat_observer(self.record_seeder_heartbeat)
        registry.add_advertise_observer(self.record_seeder_advertisement)
        if metrics is not None:
            metrics.bind_live_values(lambda: len(self.queue), lambda: self.degraded_mode)

    # --- credit resolution --------------------------------------------------------------------------------

    def resolve_credit_score(
        self, consumer_id: bytes, attestation: SignedCreditAttestation | None, now: float
    ) -> tuple[float, ScoreSource]:
        """Valid attestation → local history with ≥ 1 settlement → trial tier (§3.2)."""
        if attestation is not None:
            imported = self._try_attestation(consumer_id, attestation, now)
            if imported is not None:
                return imported, ScoreSource.ATTESTATION
        state = self.consumers.get(consumer_id)
        if state is not None:
            signals = compute_signals(state, self.config, now)
            if signals.settlement_reliability >= 0:
                return score_from_signals(signals, self.config), ScoreSource.LOCAL
        return self._trial_tier_score, ScoreSource.TRIAL_TIER

    def _attestation_failed(self, stage: str) -> None:
        if self.metrics is not None:
            self.metrics.attestation_validation_failures.labels(stage=stage).inc()

    def _try_attestation(
        self, consumer_id: bytes, signed: SignedCreditAttestation, now: float
    ) -> float | None:
        if not signed.HasField("body"):
            self._attestation_failed("missing_body")
            return None
        body = signed.body
        try:
            validate_credit_attestation_body(body)
        except AttestationValidationError:
            self._attestation_failed("malformed")
            return None
        issuer = body.issuer_tracker_id
        if not self.peer_set.contains(issuer):
            self._attestation_failed("unknown_issuer")
            return None
        if issuer in self._blocklist:
            self._attestation_failed("blocklisted")
            return None
        if body.identity_id != consumer_id:
            self._attestation_failed("identity_mismatch")
            return None
        now_s = math.floor(now)
        if now_s < 0 or now_s >= body.expires_at:
            self._attestation_failed("expired")
            return None
        if not verify_credit_attestation(issuer, signed):
            self._attestation_failed("signature")
            return None
        if self.metrics is not None:
            self.metrics.attestation_age.observe(max(0.0, now - body.computed_at))
        return min(body.score / 10000.0, self._max_imported)

    # --- Decide --------------------------------------------------------------------------------------------

    def decide(
        self, consumer_id: bytes, attestation: SignedCreditAttestation | None, now: float
    ) -> DecisionResult:
        """ADMIT / QUEUE / REJECT by supply pressure (§5.1); the credit score sets queue priority."""
        started = time.perf_counter()
        metrics = self.metrics
        score, source = self.resolve_credit_score(consumer_id, attestation, now)
        self.demand.record(now)
        supply = self._supply
        if supply.computed_at is None or supply.pressure < self._admit_threshold:
            result = DecisionResult(Outcome.ADMIT, score, source)
            if metrics is not None:
                metrics.decisions_admit.inc()
        else:
            queue = self.queue
            if supply.pressure < self._reject_threshold and not queue.is_full():
                entry = QueueEntry(os.urandom(16), consumer_id, score, now)
                position = queue.push(entry)
                queued = Queued(
                    entry.request_id, position_band(position), eta_band(position * ETA_SECONDS_PER_POSITION)
                )
                result = DecisionResult(Outcome.QUEUE, score, source, queued=queued)
                if metrics is not None:
                    metrics.decisions_queue.inc()
                    metrics.queue_depth.set(position)
            else:
                retry = compute_retry_after_s(len(queue), self._rng)
                rejected = Rejected(RejectReason.REGION_OVERLOADED, retry)
                result = DecisionResult(Outcome.REJECT, score, source, rejected=rejected)
                if metrics is not None:
                    metrics.decisions_reject.inc()
                    metrics.rejections.labels(reason="region_overloaded").inc()
        if metrics is not None:
            if source == ScoreSource.TRIAL_TIER:
                metrics.trial_tier_decisions.inc()
            metrics.decision_duration.observe(time.perf_counter() - started)
        return result

    # --- ledger events -------------------------------------------------------------------------------------

    def apply_event(self, event: LedgerEvent) -> None:
        """Apply one ledger event to the credit state (pure: no seq, no persistence, no metrics)."""
        apply_ledger_event(self.consumers, event)

    def recompute_consumer(
        self, consumer_id: bytes, events: Iterable[LedgerEvent]
    ) -> ConsumerCreditState | None:
        """Rebuild one identity's ledger-derived state from `events` (the full ledger history, any order of
        identities, commit order). Dispute buckets, which the ledger does not carry, are kept. Returns the new
        state, or None when neither the events nor the current state know the identity."""
        rebuilt: dict[bytes, ConsumerCreditState] = {}
        for event in events:
            if event_touches(event, consumer_id):
                apply_ledger_event(rebuilt, event)
        previous = self.consumers.get(consumer_id)
        state = rebuilt.get(consumer_id)
        if state is None:
            if previous is None:
                return None
            state = ConsumerCreditState(first_seen_at=previous.first_seen_at)
        if previous is not None:
            for index, bucket in enumerate(previous.dispute_buckets):
                state.set_bucket(BucketArray.DISPUTE, index, bucket)
            if previous.first_seen_at != ZERO_TIME and previous.first_seen_at < state.first_seen_at:
                state.first_seen_at = previous.first_seen_at
        self.consumers[consumer_id] = state
        return state

    # --- seeders and supply --------------------------------------------------------------------------------

    def _seeder_state(self, seeder_id: bytes, now: float) -> SeederHeartbeatState:
        state = self.seeders.get(seeder_id)
        if state is None:
            state = SeederHeartbeatState(last_headroom_ts=int(now))
            self.seeders[seeder_id] = state
        return state

    def record_seeder_heartbeat(self, seeder_id: bytes, now: float) -> None:
        """Registry heartbeat observer: count the heartbeat in the seeder's minute ring."""
        self._seeder_state(seeder_id, now).record_heartbeat(int(now))

    def record_seeder_advertisement(self, seeder_id: bytes, headroom: float) -> None:
        """Registry advertise observer: remember the advertised headroom (fixed point, heuristic source)."""
        now = self.clock()
        state = self._seeder_state(seeder_id, now)
        state.last_headroom_estimate = go_round(headroom * 10000)
        state.last_headroom_source = HEADROOM_SOURCE_HEURISTIC
        state.last_headroom_ts = int(now)

    def aggregate(self, now: float) -> SupplySnapshot:
        """Recompute and publish supply and pressure from the registry (the server ticks this every 5 s)."""
        self._check_clock_jump(now)
        records = self.registry.snapshot()
        for record in records:
            state = self.seeders.get(record.identity_id)
            if state is not None:
                state.roll_to(int(now))
        snapshot = compute_supply(
            records,
            self.seeders,
            self.demand.rate(now),
            float(self.config.heartbeat_freshness_decay_max_s),
            now,
        )
        self.publish_supply(snapshot)
        return snapshot

    def _check_clock_jump(self, now: float) -> None:
        previous = self._last_aggregate_at
        self._last_aggregate_at = now
        if previous is None:
            return
        if now < previous:
            direction = "backward"
        elif now - previous > CLOCK_JUMP_FORWARD_S:
            direction = "forward"
        else:
            return
        self.clock_jumps[direction] += 1
        if self.metrics is not None:
            self.metrics.clock_jump_detected.labels(direction=direction).inc()

    def publish_supply(self, snapshot: SupplySnapshot) -> None:
        """Install `snapshot` as the current supply; update the gauges and count 1.0 threshold crossings."""
        previous = self._supply.pressure if self._supply.computed_at is not None else 0.0
        self._supply = snapshot
        direction = threshold_crossing(previous, snapshot.pressure)
        if direction is not None:
            self.pressure_crossings[direction] += 1
        metrics = self.metrics
        if metrics is not None:
            metrics.pressure.set(snapshot.pressure)
            metrics.supply_total_headroom.set(snapshot.total_headroom)
            metrics.seeders_contributing.set(snapshot.contributing_seeders)
            metrics.demand_rate_ewma.set(snapshot.demand_rate)
            if direction is not None:
                metrics.pressure_threshold_crossing.labels(direction=direction).inc()

    @property
    def supply(self) -> SupplySnapshot:
        return self._supply

    def pressure_gauge(self) -> float:
        """The published pressure, or 0.0 before the first publish."""
        return 0.0 if self._supply.computed_at is None else self._supply.pressure

    # --- queue ---------------------------------------------------------------------------------------------

    @property
    def queue_timeout_s(self) -> int:
        timeout = self.config.queue_timeout_s
        return timeout if timeout > 0 else DEFAULT_QUEUE_TIMEOUT_S

    def _queue_changed(self) -> None:
        if self.metrics is not None:
            self.metrics.queue_depth.set(len(self.queue))

    def pop_ready(self, now: float, min_serve_priority: float | None = None) -> QueueEntry | None:
        """Pop the head if its effective priority at `now` reaches `min_serve_priority` (default: the
        broker's floor for the current pressure); None when empty or not ready."""
        if min_serve_priority is None:
            min_serve_priority = min_serve_priority_for(self.pressure_gauge())
        entry = self.queue.pop_ready(now, min_serve_priority)
        if entry is not None:
            self._queue_changed()
        return entry

    def requeue(self, entry: QueueEntry) -> bool:
        """Put a popped entry back with its original enqueue time (e.g. the broker found no capacity).
        Returns False when the queue is full."""
        if self.queue.is_full():
            return False
        self.queue.push(entry)
        self._queue_changed()
        return True

    def sweep_queue_timeouts(self, now: float) -> list[QueueTimeout]:
        """Remove entries that waited ≥ queue_timeout_s: each leaves with REJECT QUEUE_TIMEOUT
        (retry_after_s = the timeout) and is counted in admission_rejections_total{reason="queue_timeout"}."""
        timeout = self.queue_timeout_s
        expired = self.queue.expire(now, timeout)
        if not expired:
            return []
        self.queue_timeouts_total += len(expired)
        if self.metrics is not None:
            self.metrics.rejections.labels(reason="queue_timeout").inc(len(expired))
        self._queue_changed()
        rejected = Rejected(RejectReason.QUEUE_TIMEOUT, timeout)
        return [
            QueueTimeout(
                entry,
                DecisionResult(
                    Outcome.REJECT, entry.credit_score, ScoreSource.UNSPECIFIED, rejected=rejected
                ),
            )
            for entry in expired
        ]

    def drain(self, count: int) -> list[QueueEntry]:
        """Pop up to `count` entries from the top regardless of priority (operator drain)."""
        drained = self.queue.drain(max(0, count))
        if drained:
            self._queue_changed()
        return drained

    def eject(self, request_id_hex: str) -> int:
        """Remove entries whose lowercase-hex request id equals `request_id_hex`; returns how many."""
        ejected = self.queue.eject(request_id_hex)
        if ejected:
            self._queue_changed()
        return len(ejected)

    # --- attestation issuance ------------------------------------------------------------------------------

    def issue_attestation(self, consumer_id: bytes, now: float) -> SignedCreditAttestation:
        """Sign this tracker's view of `consumer_id` (§3.3).

        Raises NoLocalHistoryError (no state; costs no quota), RateLimitedError (sliding hour full), or
        AttestationValidationError (e.g. a configured TTL above 7 days)."""
        state = self.consumers.get(consumer_id)
        if state is None:
            raise NoLocalHistoryError()
        if not self._rate_limiter.allow(consumer_id, now):
            raise RateLimitedError()
        score, signals = compute_local_score(state, self.config, now)
        body = build_attestation_body(
            consumer_id, self.tracker_id, score, signals, now, self.config.attestation_ttl_seconds
        )
        validate_credit_attestation_body(body)
        signature = sign_credit_attestation(self._signing_key, body)
        if self.metrics is not None:
            self.metrics.attestations_issued.inc()
        return SignedCreditAttestation(body=body, tracker_sig=signature)

    # --- peer blocklist ------------------------------------------------------------------------------------

    def blocklist(self) -> list[str]:
        """Blocked peer ids as lowercase hex, sorted ascending."""
        return sorted(peer.hex() for peer in self._blocklist)

    def blocklist_add(self, peer_id: bytes) -> None:
        self._blocklist.add(_check_id(peer_id))

    def blocklist_remove(self, peer_id: bytes) -> None:
        """Unblock `peer_id` (no error when it was not blocked)."""
        self._blocklist.discard(_check_id(peer_id))

    def is_blocklisted(self, peer_id: bytes) -> bool:
        return bytes(peer_id) in self._blocklist

    # --- admin read views ----------------------------------------------------------------------------------

    def status(self) -> AdmissionStatus:
        return AdmissionStatus(
            pressure=self.pressure_gauge(),
            queue_depth=len(self.queue),
            supply_total_headroom=self._supply.total_headroom,
            admit_threshold=self._admit_threshold,
            reject_threshold=self._reject_threshold,
        )

    def queue_view(self, now: float | None = None) -> list[QueueItemView]:
        """The queue in heap-array order with effective priorities at `now` (default: the clock)."""
        at = self.clock() if now is None else now
        alpha = self.queue.alpha_per_minute
        return [
            QueueItemView(
                consumer_id=entry.consumer_id,
                request_id=entry.request_id,
                effective_priority=entry.effective_priority(at, alpha),
                enqueued_at=int(entry.enqueued_at),
                score=entry.credit_score,
            )
            for entry in self.queue.entries()
        ]

    def consumer_view(self, consumer_id: bytes, now: float | None = None) -> ConsumerView | None:
        """Local score and signals at `now` (default: the clock), without the ≥ 1 settlement gate."""
        state = self.consumers.get(consumer_id)
        if state is None:
            return None
        score, signals = compute_local_score(state, self.config, self.clock() if now is None else now)
        return ConsumerView(score=score, signals=signals)

    def seeder_view(self, seeder_id: bytes) -> SeederHeartbeatState | None:
        state = self.seeders.get(seeder_id)
        return None if state is None else state.copy()

    def describe(self) -> dict[str, Any]:
        """Counts for logs and inspect tools."""
        return {
            "consumers": len(self.consumers),
            "seeders": len(self.seeders),
            "queue_depth": len(self.queue),
            "pressure": self.pressure_gauge(),
            "degraded_mode": self.degraded_mode,
        }


def _check_id(peer_id: bytes) -> bytes:
    peer_id = bytes(peer_id)
    if len(peer_id) != 32:
        raise ValueError(f"peer id is {len(peer_id)} bytes, want 32")
    return peer_id
