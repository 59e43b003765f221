"""JSON views of subsystem objects (ledger tip, signed balance, seeder record) in the Go admin API shapes."""

from __future__ import annotations

from typing import Any

from tracker.admin._responses import rfc3339_seconds


def tip_fields(tip: Any) -> tuple[int | None, str | None]:
    """(tip_seq, tip_hash hex) of the ledger tip, or (None, None) for an empty chain."""
    if tip is None:
        return None, None
    seq = int(tip.seq)
    if seq == 0:
        return None, None
    return seq, bytes(tip.hash).hex()


def balance_json(snapshot: Any) -> dict[str, int] | None:
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


def seeder_record_json(record: Any) -> dict[str, object]:
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
