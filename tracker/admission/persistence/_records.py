"""Mapping between admission ledger events and tlog records (admission.md §6 persist side, §9 replay side)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from tracker._go import go_json
from tracker.admission.core._events import ZERO_ID, LedgerEvent, LedgerEventKind
from tracker.admission.persistence._tlog_format import (
    DisputePayload,
    OperatorOverridePayload,
    SettlementPayload,
    StarterGrantPayload,
    TLogKind,
    TransferDirection,
    TransferPayload,
)

__all__ = [
    "BLOCKLIST_ADD",
    "BLOCKLIST_REMOVE",
    "blocklist_change",
    "encode_override_params",
    "event_to_record",
    "record_to_event",
]

BLOCKLIST_ADD = "peers/blocklist/add"
BLOCKLIST_REMOVE = "peers/blocklist/remove"


def event_to_record(event: LedgerEvent) -> tuple[int, bytes] | None:
    """(tlog kind, payload) for an event that changes state; None for events that change nothing
    (UNSPECIFIED, a non-upheld dispute resolution)."""
    kind = event.kind
    if kind == LedgerEventKind.SETTLEMENT:
        return TLogKind.SETTLEMENT, SettlementPayload(
            bytes(event.consumer_id), bytes(event.seeder_id or ZERO_ID), event.cost_credits, event.flags
        ).encode()
    if kind == LedgerEventKind.TRANSFER_IN:
        return TLogKind.TRANSFER, TransferPayload(
            bytes(event.consumer_id), event.cost_credits, TransferDirection.IN
        ).encode()
    if kind == LedgerEventKind.TRANSFER_OUT:
        return TLogKind.TRANSFER, TransferPayload(
            bytes(event.consumer_id), event.cost_credits, TransferDirection.OUT
        ).encode()
    if kind == LedgerEventKind.STARTER_GRANT:
        return TLogKind.STARTER_GRANT, StarterGrantPayload(
            bytes(event.consumer_id), event.cost_credits
        ).encode()
    if kind == LedgerEventKind.DISPUTE_FILED:
        return TLogKind.DISPUTE_FILED, DisputePayload(bytes(event.consumer_id), False).encode()
    if kind == LedgerEventKind.DISPUTE_RESOLVED and event.dispute_upheld:
        return TLogKind.DISPUTE_RESOLVED, DisputePayload(bytes(event.consumer_id), True).encode()
    return None


def record_to_event(kind: int, ts: int, payload: bytes) -> LedgerEvent | None:
    """The event a tlog record replays as (Go `applyTLogRecord`); None for kinds that change no state
    (3 heartbeat roll, 4 snapshot mark, 5 operator override, unknown). Raises TLogPayloadError on a short
    payload."""
    if kind == TLogKind.SETTLEMENT:
        settlement = SettlementPayload.decode(payload)
        return LedgerEvent(
            kind=LedgerEventKind.SETTLEMENT,
            consumer_id=settlement.consumer_id,
            seeder_id=settlement.seeder_id,
            cost_credits=settlement.cost,
            flags=settlement.flags,
            timestamp=ts,
        )
    if kind == TLogKind.DISPUTE_FILED or kind == TLogKind.DISPUTE_RESOLVED:
        dispute = DisputePayload.decode(payload)
        if kind == TLogKind.DISPUTE_FILED and not dispute.upheld:
            return LedgerEvent(
                kind=LedgerEventKind.DISPUTE_FILED, consumer_id=dispute.consumer_id, timestamp=ts
            )
        return LedgerEvent(
            kind=LedgerEventKind.DISPUTE_RESOLVED,
            consumer_id=dispute.consumer_id,
            dispute_upheld=dispute.upheld,
            timestamp=ts,
        )
    if kind == TLogKind.TRANSFER:
        transfer = TransferPayload.decode(payload)
        direction = (
            LedgerEventKind.TRANSFER_OUT
            if transfer.direction == TransferDirection.OUT
            else LedgerEventKind.TRANSFER_IN
        )
        return LedgerEvent(
            kind=direction, consumer_id=transfer.consumer_id, cost_credits=transfer.cost, timestamp=ts
        )
    if kind == TLogKind.STARTER_GRANT:
        grant = StarterGrantPayload.decode(payload)
        return LedgerEvent(
            kind=LedgerEventKind.STARTER_GRANT,
            consumer_id=grant.consumer_id,
            cost_credits=grant.cost,
            timestamp=ts,
        )
    return None


def encode_override_params(params: Mapping[str, object]) -> bytes:
    """The params JSON of an OPERATOR_OVERRIDE record, encoded as Go's json.Marshal (compact, sorted keys,
    HTML-escaped)."""
    return go_json(params).encode("utf-8")


def blocklist_change(payload: bytes) -> tuple[bool, bytes] | None:
    """(True = add / False = remove, peer id) for an OPERATOR_OVERRIDE payload that changed the admin
    blocklist; None for any other override, or one whose params do not name a 32-byte hex peer id (the admin
    route only records valid ids). Raises TLogPayloadError on a malformed payload."""
    override = OperatorOverridePayload.decode(payload)
    if override.action == BLOCKLIST_ADD:
        added = True
    elif override.action == BLOCKLIST_REMOVE:
        added = False
    else:
        return None
    try:
        params = json.loads(override.params)
        peer_id = bytes.fromhex(params["peer_id"])
    except (ValueError, TypeError, KeyError):
        return None
    return (added, peer_id) if len(peer_id) == 32 else None
