"""Deterministic keys, ids and record builders shared by the ledger tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from hypothesis import strategies as st

from tracker.identity import SigningKey, TrackerIdentity, identity_from_seed
from tracker.ledger import (
    Ledger,
    TransferInRecord,
    TransferOutRecord,
    UsageRecord,
    build_transfer_out_entry,
    build_usage_entry,
    canonical_bytes,
)

NOW = 1_714_000_000


@dataclass(frozen=True)
class Party:
    """A consumer or seeder: an Ed25519 key and a 32-byte identity id."""

    private_key: SigningKey
    public_key: bytes
    identity_id: bytes

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def key_from_seed_input(text: str | bytes) -> SigningKey:
    data = text.encode() if isinstance(text, str) else text
    return SigningKey(hashlib.sha256(data).digest())


def party(label: str) -> Party:
    private_key = key_from_seed_input("ledger-test-key-" + label)
    public_key = private_key.public_key
    return Party(private_key, public_key, hashlib.sha256(public_key).digest())


def tracker_identity() -> TrackerIdentity:
    return identity_from_seed(hashlib.sha256(b"ledger-test-tracker-key").digest())


def identity_id(label: str) -> bytes:
    return hashlib.sha256(("identity-" + label).encode()).digest()


def usage_record(
    ledger: Ledger,
    consumer: Party,
    seeder: Party,
    cost: int,
    *,
    timestamp: int = NOW,
    consumer_sig_missing: bool = False,
    request_id: bytes = b"\x33" * 16,
    model: str = "claude-sonnet-4-6",
    seq: int | None = None,
    prev_hash: bytes | None = None,
) -> UsageRecord:
    """A usage record built against the ledger's current tip and signed by both parties."""
    tip = ledger.tip()
    prev = prev_hash if prev_hash is not None else (tip.hash if tip else bytes(32))
    next_seq = seq if seq is not None else (tip.seq + 1 if tip else 1)
    body = build_usage_entry(
        prev_hash=prev,
        seq=next_seq,
        consumer_id=consumer.identity_id,
        seeder_id=seeder.identity_id,
        model=model,
        input_tokens=4096,
        output_tokens=1024,
        cost_credits=cost,
        timestamp=timestamp,
        request_id=request_id,
        consumer_sig_missing=consumer_sig_missing,
    )
    canonical = canonical_bytes(body)
    return UsageRecord(
        prev_hash=prev,
        seq=next_seq,
        consumer_id=consumer.identity_id,
        seeder_id=seeder.identity_id,
        model=model,
        input_tokens=4096,
        output_tokens=1024,
        cost_credits=cost,
        timestamp=timestamp,
        request_id=request_id,
        consumer_sig_missing=consumer_sig_missing,
        consumer_sig=b"" if consumer_sig_missing else consumer.sign(canonical),
        consumer_pub=b"" if consumer_sig_missing else consumer.public_key,
        seeder_sig=seeder.sign(canonical),
        seeder_pub=seeder.public_key,
    )


def transfer_out_record(
    ledger: Ledger, consumer: Party, amount: int, ref: bytes, *, timestamp: int = NOW
) -> TransferOutRecord:
    tip = ledger.tip()
    prev = tip.hash if tip else bytes(32)
    seq = tip.seq + 1 if tip else 1
    body = build_transfer_out_entry(
        prev_hash=prev,
        seq=seq,
        consumer_id=consumer.identity_id,
        amount=amount,
        timestamp=timestamp,
        transfer_ref=ref,
    )
    return TransferOutRecord(
        prev_hash=prev,
        seq=seq,
        consumer_id=consumer.identity_id,
        amount=amount,
        timestamp=timestamp,
        transfer_ref=ref,
        consumer_sig=consumer.sign(canonical_bytes(body)),
        consumer_pub=consumer.public_key,
    )


def transfer_in_record(
    ledger: Ledger, recipient: bytes, amount: int, ref: bytes, *, timestamp: int = NOW
) -> TransferInRecord:
    tip = ledger.tip()
    return TransferInRecord(
        prev_hash=tip.hash if tip else bytes(32),
        seq=tip.seq + 1 if tip else 1,
        identity_id=recipient,
        amount=amount,
        timestamp=timestamp,
        transfer_ref=ref,
    )


PARTIES = [party(f"p{index}") for index in range(4)]
"""Four parties the ledger property tests draw from (indices 0–3 in `ledger_operation`)."""

ledger_operation = st.one_of(
    st.tuples(st.just("grant"), st.integers(0, 3), st.integers(0, 300)),
    st.tuples(st.just("usage"), st.integers(0, 3), st.integers(0, 3), st.integers(0, 300)),
    st.tuples(st.just("out"), st.integers(0, 3), st.integers(0, 300), st.integers(0, 5)),
    st.tuples(st.just("in"), st.integers(0, 3), st.integers(0, 300), st.integers(0, 5)),
)
"""One ledger operation for property tests: a starter grant, a usage, a transfer out or a transfer in."""
