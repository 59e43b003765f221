"""Canonical bytes, entry hash and Ed25519 signing/verification of ledger and balance wire messages."""

from __future__ import annotations

import hashlib
from enum import IntEnum

from tracker._proto.balance_pb2 import BalanceSnapshotBody, SignedBalanceSnapshot
from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.identity import verify

HASH_SIZE = 32
ID_SIZE = 32
REQUEST_ID_SIZE = 16
REF_SIZE = 32
SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32
ZERO_HASH = bytes(HASH_SIZE)
ZERO_ID = bytes(ID_SIZE)
ZERO_REQUEST_ID = bytes(REQUEST_ID_SIZE)
ZERO_REF = bytes(REF_SIZE)
FLAG_CONSUMER_SIG_MISSING = 0x1
MAX_INT64 = 2**63 - 1
MAX_UINT32 = 2**32 - 1
MAX_MODEL_BYTES = 32
BALANCE_SNAPSHOT_TTL_SECONDS = 600

verify_signature = verify
"""Ed25519 verify (tracker.identity): False, never an exception, for a bad key, signature or message."""


class EntryKind(IntEnum):
    """Entry kinds with their proto/wire (and SQLite `kind` column) values."""

    USAGE = 1
    TRANSFER_OUT = 2
    TRANSFER_IN = 3
    STARTER_GRANT = 4

    @property
    def label(self) -> str:
        return self.name.lower()


def canonical_bytes(body: EntryBody | BalanceSnapshotBody) -> bytes:
    """Deterministic proto3 serialization: the bytes that are hashed and signed (Go DeterministicMarshal)."""
    return body.SerializeToString(deterministic=True)


def hash_canonical(canonical: bytes) -> bytes:
    return hashlib.sha256(canonical).digest()


def entry_hash(body: EntryBody) -> bytes:
    """SHA-256 of canonical(body); the next entry's prev_hash."""
    return hashlib.sha256(canonical_bytes(body)).digest()


def encode_entry(entry: Entry) -> bytes:
    """Deterministic wire bytes of a signed Entry."""
    return entry.SerializeToString(deterministic=True)


def entry_from_parts(canonical: bytes, consumer_sig: bytes, seeder_sig: bytes, tracker_sig: bytes) -> Entry:
    """Rebuild an Entry from the stored canonical body blob and signatures (DecodeError on a bad blob)."""
    entry = Entry(consumer_sig=consumer_sig, seeder_sig=seeder_sig, tracker_sig=tracker_sig)
    entry.body.ParseFromString(canonical)
    return entry


def verify_balance_snapshot(snapshot: SignedBalanceSnapshot, tracker_public_key: bytes) -> bool:
    """True when the snapshot has a body and its tracker_sig verifies over canonical(body)."""
    if snapshot is None or not snapshot.HasField("body"):
        return False
    return verify_signature(tracker_public_key, canonical_bytes(snapshot.body), snapshot.tracker_sig)
