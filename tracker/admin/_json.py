"""The admin API's JSON shaping, in one place: every subsystem object a route returns becomes the dict of
its Go admin API shape here (ledger tip, signed balance, seeder record, admission status, queue, consumer
score, seeder heartbeat state). Encoding rules (key order, escapes, times) live in tracker/_go.py."""

from __future__ import annotations

from collections.abc import Container
from typing import Any

from tracker._go import rfc3339_seconds
from tracker._proto.balance_pb2 import SignedBalanceSnapshot
from tracker.admin._protocols import ConnectedPeerView
from tracker.admission import AdmissionStatus, ConsumerView, QueueItemView, SeederHeartbeatState, Signals
from tracker.ledger import CommittedEntry, EntryKind, Tip
from tracker.registry import SeederRecord


def tip_fields(tip: Tip | None) -> tuple[int | None, str | None]:
    """(tip_seq, tip_hash hex) of the ledger tip, or (None, None) for an empty chain."""
    if tip is None:
        return None, None
    seq = int(tip.seq)
    if seq == 0:
        return None, None
    return seq, bytes(tip.hash).hex()


def balance_json(snapshot: SignedBalanceSnapshot | None) -> dict[str, int] | None:
    """The ``balance`` object of GET /identity from a SignedBalanceSnapshot, or None without a body."""
    if snapshot is None or not snapshot.HasField("body"):
        return None
    body = snapshot.body
    return {
        "chain_tip_seq": int(body.chain_tip_seq),
        "credits": int(body.credits),
        "expires_at": int(body.expires_at),
        "issued_at": int(body.issued_at),
    }


def seeder_record_json(record: SeederRecord) -> dict[str, object]:
    """The ``seeder`` object of GET /identity from a registry SeederRecord."""
    models = list(record.capabilities.models)
    return {
        "available": bool(record.available),
        "headroom_estimate": float(record.headroom_estimate),
        "last_heartbeat": rfc3339_seconds(record.last_heartbeat),
        "load": int(record.load),
        "models": models or None,
        "reputation_score": float(record.reputation_score),
    }


def admission_status_json(status: AdmissionStatus) -> dict[str, Any]:
    """GET /admission/status."""
    return {
        "pressure": status.pressure,
        "queue_depth": status.queue_depth,
        "supply_total_headroom": status.supply_total_headroom,
        "thresholds": {"admit": status.admit_threshold, "reject": status.reject_threshold},
    }


def queue_item_json(item: QueueItemView) -> dict[str, Any]:
    """One element of GET /admission/queue."""
    return {
        "consumer_id": item.consumer_id.hex(),
        "effective_priority": item.effective_priority,
        "enqueued_at": item.enqueued_at,
        "score": item.score,
    }


def signals_json(signals: Signals) -> dict[str, float | int]:
    """Go's `Signals` struct (exported field names)."""
    return {
        "SettlementReliability": signals.settlement_reliability,
        "DisputeRate": signals.dispute_rate,
        "TenureDays": signals.tenure_days,
        "NetFlow": signals.net_flow,
        "BalanceCushionLog2": signals.balance_cushion_log2,
    }


def consumer_view_json(view: ConsumerView) -> dict[str, Any]:
    """GET /admission/consumer/<id>."""
    return {"score": view.score, "signals": signals_json(view.signals)}


def seeder_state_json(state: SeederHeartbeatState) -> dict[str, Any]:
    """GET /admission/seeder/<id>: Go's `SeederHeartbeatState` (exported field names, RFC 3339 times)."""
    return {
        "Buckets": [{"Expected": bucket.expected, "Actual": bucket.actual} for bucket in state.buckets],
        "LastBucketRollAt": rfc3339_seconds(state.last_bucket_roll_at),
        "LastHeadroomEstimate": state.last_headroom_estimate,
        "LastHeadroomSource": state.last_headroom_source,
        "LastHeadroomTs": rfc3339_seconds(state.last_headroom_ts),
        "CanProbeUsage": state.can_probe_usage,
    }


_ROLE_NAMES = ((0b01, "consumer"), (0b10, "seeder"))


def peer_json(peer: ConnectedPeerView) -> dict[str, object]:
    """One entry of GET /peers."""
    return {
        "canonical_id": peer.canonical_id.hex(),
        "raw_pub_id": peer.raw_pub_id.hex(),
        "roles": None if peer.role is None else [name for bit, name in _ROLE_NAMES if peer.role & bit],
        "address": peer.address,
        "connected_since": rfc3339_seconds(peer.connected_since),
        "last_heartbeat": None if peer.last_heartbeat is None else rfc3339_seconds(peer.last_heartbeat),
    }


_ZERO_ID = bytes(32)


def _party(identity_id: bytes) -> str | None:
    return None if not identity_id or identity_id == _ZERO_ID else identity_id.hex()


def ledger_entry_json(committed: CommittedEntry, countersigned_seqs: Container[int] = ()) -> dict[str, Any]:
    """One entry of GET /dashboard/api/ledger: seq, hash, kind, cost, parties, and whether the consumer
    countersigned a USAGE entry (it may carry only the seeder's signature: flags bit 0; a countersignature
    recorded after commit lives in the settlement store, whose seqs are `countersigned_seqs`); null for other
    kinds."""
    body = committed.body
    try:
        kind = EntryKind(body.kind).name
    except ValueError:
        kind = f"KIND_{int(body.kind)}"
    return {
        "seq": int(committed.seq),
        "hash": bytes(committed.hash).hex(),
        "kind": kind,
        "cost_credits": int(body.cost_credits),
        "consumer_id": _party(bytes(body.consumer_id)),
        "seeder_id": _party(bytes(body.seeder_id)),
        "recipient_id": _party(committed.transfer_in_recipient or b""),
        "model": body.model or None,
        "timestamp": int(body.timestamp),
        # Only USAGE carries a consumer countersignature; other kinds are signed by their one party.
        "countersigned": (
            bool(committed.entry.consumer_sig) or int(committed.seq) in countersigned_seqs
            if int(body.kind) == EntryKind.USAGE
            else None
        ),
        "request_id": bytes(body.request_id).hex() or None,
    }
