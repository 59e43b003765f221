"""Records callers hand to the ledger (one per caller-built kind) and what the ledger hands back."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.ledger._wire import EntryKind


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A settled request, built by the caller against the tip (prev_hash, seq) and signed by the parties."""

    prev_hash: bytes
    seq: int
    consumer_id: bytes
    seeder_id: bytes
    model: str
    input_tokens: int
    output_tokens: int
    cost_credits: int
    timestamp: int
    request_id: bytes
    consumer_sig_missing: bool = False
    consumer_sig: bytes = b""
    consumer_pub: bytes = b""
    seeder_sig: bytes = b""
    seeder_pub: bytes = b""


@dataclass(frozen=True, slots=True)
class BrokeredUsageRecord:
    """A usage report the tracker settles at once (spec README, "Settlement"): the ledger places it at the tip
    and stamps it with its clock, flag consumer_sig_missing set. `seeder_sig` covers the seeder's usage
    preimage over `seeder_report_id` (the seeder's own request id), verified with `seeder_pub`; the report id
    goes to a side table in the same transaction, so a repeated report is recognised after a restart."""

    consumer_id: bytes
    seeder_id: bytes
    model: str
    input_tokens: int
    output_tokens: int
    cost_credits: int
    request_id: bytes  # the tracker's reservation token
    seeder_report_id: bytes
    seeder_sig: bytes
    seeder_pub: bytes


@dataclass(frozen=True, slots=True)
class TransferOutRecord:
    """Credits leaving this region, signed by the debited identity (consumer_id)."""

    prev_hash: bytes
    seq: int
    consumer_id: bytes
    amount: int
    timestamp: int
    transfer_ref: bytes
    consumer_sig: bytes = b""
    consumer_pub: bytes = b""


@dataclass(frozen=True, slots=True)
class TransferInRecord:
    """Credits arriving from another region for identity_id (the recipient is kept off-chain, in a side
    table)."""

    prev_hash: bytes
    seq: int
    identity_id: bytes
    amount: int
    timestamp: int
    transfer_ref: bytes


@dataclass(frozen=True, slots=True)
class StarterGrantRequest:
    """A tracker-built starter grant; the ledger picks prev_hash, seq and the timestamp."""

    identity_id: bytes
    amount: int


AppendRequest = UsageRecord | BrokeredUsageRecord | TransferOutRecord | TransferInRecord | StarterGrantRequest


@dataclass(frozen=True, slots=True)
class CountersignatureRecord:
    """A consumer's countersignature of USAGE entry `seq` (its signature over the entry's canonical body
    bytes, verified by the caller), for the countersignatures side table. The ledger's writer records it in
    the next group commit, beside the appends of that batch: durable when the call returns."""

    seq: int
    consumer_sig: bytes
    recorded_at: int


@dataclass(frozen=True, slots=True)
class CountersignatureRecorded:
    """What recording a countersignature did: `new` is False when the same signature was already there."""

    seq: int
    new: bool


WriteRequest = AppendRequest | CountersignatureRecord
"""What one group commit writes: chain entries and countersignature rows."""


@dataclass(frozen=True, slots=True)
class CommittedEntry:
    """An entry as committed on the chain: its seq, its hash (SHA-256 of canonical(body)), the signed Entry.

    `transfer_in_recipient` is the credited identity of a TRANSFER_IN entry (not part of the chain itself);
    None for every other kind, and for transfer-ins written by a tracker without the recipient side table.

    `balances_after` is what the entry's transaction wrote to the balance projection: (identity, credits
    after this entry) per touched identity. Set on entries handed back by an append (and so to
    subscribers); empty on entries read back from storage. Not part of equality."""

    seq: int
    hash: bytes
    entry: Entry
    transfer_in_recipient: bytes | None = None
    balances_after: tuple[tuple[bytes, int], ...] = field(default=(), compare=False, repr=False)

    @property
    def body(self) -> EntryBody:
        return self.entry.body

    @property
    def kind(self) -> EntryKind:
        return EntryKind(self.entry.body.kind)


@dataclass(frozen=True, slots=True)
class Tip:
    """The last committed entry: seq 0 and 32 zero bytes for an empty chain."""

    seq: int
    hash: bytes

    @property
    def empty(self) -> bool:
        return self.seq == 0
