"""Ledger events that feed admission state (admission.md §6): the event type, the conversion from a committed
ledger entry, and the pure `apply_ledger_event` on the consumer-state map.

Apply is a pure function of the event and the current map: no sequence numbers, no persistence, no metrics
(persist-then-apply ordering belongs to the persistence layer).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from tracker.admission.core._state import ZERO_TIME, BucketArray, ConsumerCreditState
from tracker.ledger import CommittedEntry, EntryKind

ZERO_ID = bytes(32)
FLAG_CONSUMER_SIG_MISSING = 1
_INT64_WRAP = 1 << 64
_INT64_MAX = (1 << 63) - 1


class LedgerEventKind(IntEnum):
    UNSPECIFIED = 0
    SETTLEMENT = 1
    TRANSFER_IN = 2
    TRANSFER_OUT = 3
    STARTER_GRANT = 4
    DISPUTE_FILED = 5
    DISPUTE_RESOLVED = 6


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One credit-relevant event. `timestamp` is unix seconds (the event's own time, used for bucketing).

    `consumer_id` is the identity the event is about (the recipient for TRANSFER_IN); `seeder_id` is only
    used by SETTLEMENT (32 zero bytes = none). `flags` bit 0 = consumer_sig_missing.
    """

    kind: LedgerEventKind
    consumer_id: bytes
    timestamp: int
    seeder_id: bytes = ZERO_ID
    cost_credits: int = 0
    flags: int = 0
    dispute_upheld: bool = False


def _wrap_int64(value: int) -> int:
    value %= _INT64_WRAP
    return value - _INT64_WRAP if value > _INT64_MAX else value


def _get_or_init(
    consumers: dict[bytes, ConsumerCreditState], identity: bytes, ts: int
) -> ConsumerCreditState:
    state = consumers.get(identity)
    if state is None:
        state = ConsumerCreditState(first_seen_at=ts)
        consumers[identity] = state
    return state


def apply_ledger_event(consumers: dict[bytes, ConsumerCreditState], event: LedgerEvent) -> None:
    """Apply one event to the consumer-state map exactly as the Go `apply*` functions (§6)."""
    kind = event.kind
    ts = int(event.timestamp)
    cost = int(event.cost_credits)
    if kind == LedgerEventKind.SETTLEMENT:
        consumer = _get_or_init(consumers, bytes(event.consumer_id), ts)
        clean = 0 if event.flags & FLAG_CONSUMER_SIG_MISSING else 1
        consumer.add_to_bucket(BucketArray.SETTLEMENT, ts, total=1, a=clean)
        consumer.add_to_bucket(BucketArray.FLOW, ts, b=cost)
        consumer.last_balance_seen = _wrap_int64(consumer.last_balance_seen - cost)
        if event.seeder_id and event.seeder_id != ZERO_ID:
            seeder = _get_or_init(consumers, bytes(event.seeder_id), ts)
            seeder.add_to_bucket(BucketArray.FLOW, ts, a=cost)
            seeder.last_balance_seen = _wrap_int64(seeder.last_balance_seen + cost)
    elif kind == LedgerEventKind.TRANSFER_IN:
        state = _get_or_init(consumers, bytes(event.consumer_id), ts)
        state.last_balance_seen = _wrap_int64(state.last_balance_seen + cost)
    elif kind == LedgerEventKind.TRANSFER_OUT:
        state = _get_or_init(consumers, bytes(event.consumer_id), ts)
        state.last_balance_seen = _wrap_int64(state.last_balance_seen - cost)
    elif kind == LedgerEventKind.STARTER_GRANT:
        state = _get_or_init(consumers, bytes(event.consumer_id), ts)
        if state.first_seen_at == ZERO_TIME or state.first_seen_at > ts:
            state.first_seen_at = ts
        state.last_balance_seen = _wrap_int64(cost)
    elif kind == LedgerEventKind.DISPUTE_FILED:
        state = _get_or_init(consumers, bytes(event.consumer_id), ts)
        state.add_to_bucket(BucketArray.DISPUTE, ts, a=1)
    elif kind == LedgerEventKind.DISPUTE_RESOLVED:
        if not event.dispute_upheld:
            return
        state = _get_or_init(consumers, bytes(event.consumer_id), ts)
        state.add_to_bucket(BucketArray.DISPUTE, ts, b=1)
    # UNSPECIFIED (and anything unknown): nothing happens, no state is created.


def event_touches(event: LedgerEvent, identity: bytes) -> bool:
    """True when applying `event` changes `identity`'s state (as consumer, or as the settlement's seeder)."""
    if event.consumer_id == identity:
        return True
    return event.kind == LedgerEventKind.SETTLEMENT and event.seeder_id == identity != ZERO_ID


def event_from_committed_entry(committed: CommittedEntry) -> LedgerEvent | None:
    """Map a committed ledger entry (ledger-registry §1.2) to an event.

    USAGE → SETTLEMENT (consumer, seeder, cost, flags); TRANSFER_OUT → TRANSFER_OUT of the debited consumer;
    TRANSFER_IN → TRANSFER_IN of the recipient (not on chain: the committed entry's `transfer_in_recipient`,
    else a non-zero body consumer_id); STARTER_GRANT → STARTER_GRANT. Returns None for anything that does not
    move an identity's admission state (unknown kinds, a transfer-in without a known recipient).
    """
    body = committed.entry.body
    kind = int(body.kind)
    timestamp = body.timestamp
    cost = body.cost_credits
    if kind == EntryKind.USAGE:
        return LedgerEvent(
            kind=LedgerEventKind.SETTLEMENT,
            consumer_id=bytes(body.consumer_id),
            seeder_id=bytes(body.seeder_id) or ZERO_ID,
            cost_credits=cost,
            flags=body.flags,
            timestamp=timestamp,
        )
    if kind == EntryKind.TRANSFER_OUT:
        return LedgerEvent(
            kind=LedgerEventKind.TRANSFER_OUT,
            consumer_id=bytes(body.consumer_id),
            cost_credits=cost,
            timestamp=timestamp,
        )
    if kind == EntryKind.TRANSFER_IN:
        recipient = committed.transfer_in_recipient
        if recipient is not None and len(recipient) != 32:
            recipient = None
        if recipient is None and len(body.consumer_id) == 32 and bytes(body.consumer_id) != ZERO_ID:
            recipient = bytes(body.consumer_id)
        if recipient is None:
            return None
        return LedgerEvent(
            kind=LedgerEventKind.TRANSFER_IN,
            consumer_id=bytes(recipient),
            cost_credits=cost,
            timestamp=timestamp,
        )
    if kind == EntryKind.STARTER_GRANT:
        return LedgerEvent(
            kind=LedgerEventKind.STARTER_GRANT,
            consumer_id=bytes(body.consumer_id),
            cost_credits=cost,
            timestamp=timestamp,
        )
    return None
