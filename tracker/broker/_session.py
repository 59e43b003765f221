"""Inflight requests and credit reservations (rpc-broker §7), pure and synchronous: the state machine with
compare-and-set transitions, the FIFO match of Go plugin reports, the terminal sweep, the reservation book
and its expiry. Nothing here is persisted: a restart loses inflight requests and reservations (peers
retry); what is settled is in the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from tracker._proto.envelope_pb2 import EnvelopeBody
from tracker.broker._pricing import checked_add


class State(IntEnum):
    UNSPECIFIED = 0
    SELECTING = 1
    ASSIGNED = 2
    SERVING = 3
    COMPLETED = 4
    FAILED = 5

    @property
    def label(self) -> str:
        return self.name.lower()


TERMINAL = (State.COMPLETED, State.FAILED)
_ALLOWED = {
    State.SELECTING: (State.ASSIGNED, State.FAILED),
    State.ASSIGNED: (State.SERVING, State.FAILED),
    State.SERVING: (State.COMPLETED, State.FAILED),
}


class SessionError(Exception):
    """Root of the inflight/reservation book errors; the broker handlers map each to an RPC status."""


class UnknownRequest(SessionError):
    """Raised by the inflight table when a request id it never registered (or already swept) is named."""


class IllegalTransition(SessionError):
    def __init__(self, request_id: bytes, current: State, wanted_from: State, to: State) -> None:
        super().__init__(
            f"request {request_id.hex()}: {current.label}, not {wanted_from.label} (to {to.label})"
        )
        self.current = current


class InsufficientCredits(SessionError):
    """Raised by the reservation book when the spendable credits (proof/ledger minimum minus what the
    consumer already holds) cannot cover the reservation."""


class DuplicateReservation(SessionError):
    """Raised when a request id is registered or reserved a second time."""


@dataclass(slots=True)
class InflightRequest:
    request_id: bytes
    consumer_id: bytes
    body: EnvelopeBody
    envelope_hash: bytes
    max_cost: int
    started_at: float
    state: State = State.SELECTING
    assigned_seeder: bytes = b""
    seeder_ephemeral_key: bytes = b""
    assigned_at: float = 0.0
    offer_attempts: int = 0
    settled_seq: int = 0
    preimage_hash: bytes = b""
    preimage_body: bytes = b""  # the USAGE entry's exact body bytes, as pushed to the consumer
    seeder_report_id: bytes = b""
    terminated_at: float | None = None

    @property
    def model(self) -> str:
        return self.body.model


class Inflight:
    def __init__(self) -> None:
        self._by_id: dict[bytes, InflightRequest] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def insert(self, request: InflightRequest) -> None:
        if request.request_id in self._by_id:
            raise DuplicateReservation(f"request {request.request_id.hex()} already inflight")
        self._by_id[request.request_id] = request

    def get(self, request_id: bytes) -> InflightRequest | None:
        return self._by_id.get(request_id)

    def snapshot(self) -> list[InflightRequest]:
        return list(self._by_id.values())

    def transition(self, request_id: bytes, from_state: State, to: State, now: float) -> InflightRequest:
        """Compare-and-set: `request_id` moves from `from_state` to `to` (an allowed edge) or nothing
        changes."""
        request = self._by_id.get(request_id)
        if request is None:
            raise UnknownRequest(f"unknown request {request_id.hex()}")
        if request.state != from_state or to not in _ALLOWED.get(from_state, ()):
            raise IllegalTransition(request_id, request.state, from_state, to)
        request.state = to
        if to in TERMINAL:
            request.terminated_at = now
        return request

    def force_fail(self, request_id: bytes, now: float) -> State:
        """Operator override: FAILED whatever the state; returns the previous state."""
        request = self._by_id.get(request_id)
        if request is None:
            raise UnknownRequest(f"unknown request {request_id.hex()}")
        previous = request.state
        request.state = State.FAILED
        if request.terminated_at is None:
            request.terminated_at = now
        return previous

    def oldest_assigned(self, seeder_id: bytes, model: str) -> InflightRequest | None:
        """The seeder's oldest ASSIGNED/SERVING request for `model`, by assignment time (Go plugin reports
        carry the seeder's own request id, spec README "Which request a report belongs to")."""
        best: InflightRequest | None = None
        for request in self._by_id.values():
            if (
                request.assigned_seeder == seeder_id
                and request.state in (State.ASSIGNED, State.SERVING)
                and request.model == model
                and (best is None or request.assigned_at < best.assigned_at)
            ):
                best = request
        return best

    def sweep_terminal(self, now: float, ttl_s: float) -> int:
        """Drop COMPLETED/FAILED requests terminated at least `ttl_s` ago; how many were dropped."""
        stale = [
            request_id
            for request_id, request in self._by_id.items()
            if request.terminated_at is not None and request.terminated_at <= now - ttl_s
        ]
        for request_id in stale:
            del self._by_id[request_id]
        return len(stale)


@dataclass(slots=True)
class Slot:
    request_id: bytes
    consumer_id: bytes
    amount: int
    expires_at: float


@dataclass(slots=True)
class _ConsumerBook:
    total: int = 0
    slots: dict[bytes, Slot] = field(default_factory=dict)


class Reservations:
    """Credits held for requests. A consumer can reserve up to `available` (min of the balance proof and
    the live ledger balance, supplied by the caller) minus what it already holds."""

    def __init__(self) -> None:
        self._by_request: dict[bytes, Slot] = {}
        self._by_consumer: dict[bytes, _ConsumerBook] = {}

    def __len__(self) -> int:
        return len(self._by_request)

    @property
    def total(self) -> int:
        return sum(book.total for book in self._by_consumer.values())

    def reserved(self, consumer_id: bytes) -> int:
        book = self._by_consumer.get(consumer_id)
        return 0 if book is None else book.total

    def reserve(
        self, request_id: bytes, consumer_id: bytes, amount: int, available: int, expires_at: float
    ) -> Slot:
        if request_id in self._by_request:
            raise DuplicateReservation(f"reservation {request_id.hex()} exists")
        held = self.reserved(consumer_id)
        if checked_add(held, amount, "reservation total") > available:
            raise InsufficientCredits(
                f"consumer {consumer_id.hex()} holds {held}, needs {amount}, has {available}"
            )
        slot = Slot(request_id, consumer_id, amount, expires_at)
        book = self._by_consumer.setdefault(consumer_id, _ConsumerBook())
        book.total += amount
        book.slots[request_id] = slot
        self._by_request[request_id] = slot
        return slot

    def get(self, request_id: bytes) -> Slot | None:
        return self._by_request.get(request_id)

    def release(self, request_id: bytes) -> Slot | None:
        """Idempotent: the slot on the first call, None afterwards."""
        slot = self._by_request.pop(request_id, None)
        if slot is None:
            return None
        book = self._by_consumer[slot.consumer_id]
        book.total -= slot.amount
        del book.slots[request_id]
        if not book.slots:
            del self._by_consumer[slot.consumer_id]
        return slot

    def sweep_expired(self, now: float) -> list[Slot]:
        expired = [slot for slot in self._by_request.values() if slot.expires_at <= now]
        for slot in expired:
            self.release(slot.request_id)
        return expired

    def by_consumer(self) -> Iterable[tuple[bytes, int, list[Slot]]]:
        for consumer_id, book in self._by_consumer.items():
            yield consumer_id, book.total, list(book.slots.values())
