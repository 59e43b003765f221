"""The chain audit: links, recomputed hashes, seq contiguity, row/body agreement, tracker signatures, and
a replay of the chain that must equal the stored balance projection. Reports the first bad seq."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.message import DecodeError

from tracker._proto.ledger_pb2 import EntryBody
from tracker.ledger._errors import ChainIntegrityError, EntryValidationError
from tracker.ledger._peer_audit import PeerSignatureAudit, PeerSignatureReport
from tracker.ledger._store import LedgerStore
from tracker.ledger._validate import validate_entry_body
from tracker.ledger._wire import ZERO_HASH, EntryKind, hash_canonical, verify_signature

AUDIT_PAGE_SIZE = 1000


@dataclass(slots=True)
class _ReplayedBalance:
    credits: int = 0
    last_seq: int = 0
    updated_at: int = 0


def balance_deltas(body: EntryBody, transfer_in_recipient: bytes | None) -> list[tuple[bytes, int]]:
    """The (identity, delta) pairs an entry applies, in order (§5.8), as the Go tracker applied them. A
    TRANSFER_IN without a known recipient has none (its recipient is not on the chain)."""
    kind = int(body.kind)
    cost = body.cost_credits
    if kind == EntryKind.STARTER_GRANT:
        return [(body.consumer_id, cost)]
    if kind == EntryKind.USAGE:
        if body.consumer_id == body.seeder_id:
            # Go quirk (§5.8): both upserts read the pre-entry balance and the seeder's +cost is written
            # last, so the balance ends at old + cost. -cost then +2·cost applied in order gives that end
            # value and still puts the debit (old - cost) through the replay's floor check. We never write
            # such entries; Go-written files have them.
            return [(body.consumer_id, -cost), (body.consumer_id, 2 * cost)]
        return [(body.consumer_id, -cost), (body.seeder_id, cost)]
    if kind == EntryKind.TRANSFER_OUT:
        return [(body.consumer_id, -cost)]
    if kind == EntryKind.TRANSFER_IN and transfer_in_recipient is not None:
        return [(transfer_in_recipient, cost)]
    return []


@dataclass
class AuditReport:
    """What a full verification saw; `damage` is None when the ledger is sound."""

    entries_checked: int = 0
    tip_seq: int = 0
    tip_hash: bytes | None = None
    balances_checked: int = 0
    unattributed_transfer_ins: int = 0
    damage: ChainIntegrityError | None = None
    notes: list[str] = field(default_factory=list)
    peer_signatures: PeerSignatureReport = field(default_factory=PeerSignatureReport)


_COLUMN_NAMES = (
    "prev_hash",
    "hash",
    "kind",
    "consumer_id",
    "seeder_id",
    "model",
    "input_tokens",
    "output_tokens",
    "cost_credits",
    "timestamp",
    "request_id",
    "flags",
    "ref",
)


class ChainWalker:
    """Checks stored rows one by one, in seq order, starting after an anchor (seq, hash)."""

    def __init__(self, tracker_public_key: bytes, anchor_seq: int, anchor_hash: bytes) -> None:
        self._tracker_public_key = tracker_public_key
        self.last_seq = anchor_seq
        self.last_hash = anchor_hash

    def check(self, row: tuple[Any, ...]) -> EntryBody:
        """Raise ChainIntegrityError for the first problem of this row; return its parsed body."""
        seq = row[0]
        stored_hash = row[2]
        canonical = row[17]
        if seq != self.last_seq + 1:
            raise ChainIntegrityError(seq, f"seq gap at seq={seq}: expected seq={self.last_seq + 1}")
        body = EntryBody()
        try:
            body.ParseFromString(canonical)
        except DecodeError:
            raise ChainIntegrityError(seq, f"entry at seq={seq}: unmarshal canonical body failed") from None
        if body.prev_hash != self.last_hash:
            raise ChainIntegrityError(
                seq,
                f"chain break at seq={seq}: prev_hash={body.prev_hash.hex()}, "
                f"expected={self.last_hash.hex()}",
            )
        recomputed = hash_canonical(canonical)
        if recomputed != stored_hash:
            raise ChainIntegrityError(
                seq,
                f"hash mismatch at seq={seq}: stored={bytes(stored_hash).hex()}, "
                f"recomputed={recomputed.hex()}",
            )
        if body.seq != seq:
            raise ChainIntegrityError(seq, f"entry at seq={seq}: body seq={body.seq} does not match its row")
        try:
            validate_entry_body(body)
        except EntryValidationError as error:
            raise ChainIntegrityError(seq, f"entry at seq={seq}: invalid body: {error}") from None
        body_values = (
            body.prev_hash,
            recomputed,
            int(body.kind),
            body.consumer_id,
            body.seeder_id,
            body.model,
            body.input_tokens,
            body.output_tokens,
            body.cost_credits,
            body.timestamp,
            body.request_id,
            body.flags,
            body.ref,
        )
        for name, column_value, body_value in zip(_COLUMN_NAMES, row[1:14], body_values, strict=True):
            if column_value != body_value:
                raise ChainIntegrityError(
                    seq, f"entry at seq={seq}: column {name} does not match the signed body"
                )
        if not verify_signature(self._tracker_public_key, canonical, row[16] or b""):
            raise ChainIntegrityError(seq, f"tracker signature invalid at seq={seq}")
        self.last_seq = seq
        self.last_hash = recomputed
        return body


def _anchor(store: LedgerStore, since_seq: int) -> bytes:
    if since_seq == 0:
        return ZERO_HASH
    rows = store.audit_rows_since(since_seq - 1, 1)
    if not rows or rows[0][0] != since_seq:
        raise ChainIntegrityError(since_seq, f"AssertChainIntegrity: anchor seq={since_seq} missing")
    return hash_canonical(rows[0][17])


def _walk(store: LedgerStore, since_seq: int, until_seq: int) -> Iterator[tuple[Any, ...]]:
    cursor = since_seq
    while True:
        page = store.audit_rows_since(cursor, AUDIT_PAGE_SIZE)
        if not page:
            return
        for row in page:
            if until_seq and row[0] > until_seq:
                return
            yield row
        cursor = page[-1][0]


def assert_chain_integrity(
    store: LedgerStore, tracker_public_key: bytes, since_seq: int = 0, until_seq: int = 0
) -> int:
    """Audit entries (since_seq, until_seq] (until 0 = tip). Returns the number checked; raises
    ChainIntegrityError naming the first bad seq."""
    walker = ChainWalker(tracker_public_key, since_seq, _anchor(store, since_seq))
    checked = 0
    for row in _walk(store, since_seq, until_seq):
        walker.check(row)
        checked += 1
    return checked


def verify_ledger(
    store: LedgerStore,
    tracker_public_key: bytes,
    *,
    progress: Callable[[int, int], None] | None = None,
    progress_every: int = 10_000,
) -> AuditReport:
    """The full offline verification: the whole chain, then the projection against a replay of the chain (plus
    the transfer-in side table). Never raises for damage; the report carries the first problem found."""
    report = AuditReport()
    total = store.entry_count()
    walker = ChainWalker(tracker_public_key, 0, ZERO_HASH)
    replayed: dict[bytes, _ReplayedBalance] = {}
    peers = PeerSignatureAudit(store.read_connection())
    report.peer_signatures = peers.report
    try:
        for row in _walk(store, 0, 0):
            body = walker.check(row)
            report.entries_checked += 1
            if int(body.kind) == EntryKind.USAGE:
                peers.check(body.seq, body, row[17], row[15])
            recipient = row[18]
            if int(body.kind) == EntryKind.TRANSFER_IN and recipient is None:
                report.unattributed_transfer_ins += 1
            for identity_id, delta in balance_deltas(body, recipient):
                balance = replayed.setdefault(identity_id, _ReplayedBalance())
                balance.credits += delta
                balance.last_seq = body.seq
                balance.updated_at = body.timestamp
                if balance.credits < 0:
                    raise ChainIntegrityError(
                        body.seq,
                        f"entry at seq={body.seq}: balance of {identity_id.hex()} goes below 0 "
                        f"({balance.credits}) in the replay",
                    )
            if progress is not None and report.entries_checked % progress_every == 0:
                progress(report.entries_checked, total)
    except ChainIntegrityError as damage:
        report.damage = damage
        return report
    report.tip_seq = walker.last_seq
    report.tip_hash = walker.last_hash if walker.last_seq else None
    if report.unattributed_transfer_ins:
        report.notes.append(
            f"{report.unattributed_transfer_ins} transfer_in entries have no recorded recipient "
            "(written by a tracker without the recipient side table); balance projection check skipped"
        )
        return report
    report.damage = _compare_projection(store, replayed, report)
    return report


def _compare_projection(
    store: LedgerStore, replayed: dict[bytes, _ReplayedBalance], report: AuditReport
) -> ChainIntegrityError | None:
    stored = {row.identity_id: row for row in store.all_balances()}
    for identity_id in sorted(set(stored) | set(replayed)):
        want = replayed.get(identity_id)
        have = stored.get(identity_id)
        report.balances_checked += 1
        if want is None:
            assert have is not None
            return ChainIntegrityError(
                have.last_seq,
                f"balance projection: identity {identity_id.hex()} has a stored balance ({have.credits}) "
                "but no entry on the chain touches it",
            )
        if have is None:
            return ChainIntegrityError(
                want.last_seq, f"balance projection: identity {identity_id.hex()} is missing from balances"
            )
        if (have.credits, have.last_seq) != (want.credits, want.last_seq):
            return ChainIntegrityError(
                want.last_seq,
                f"balance projection: identity {identity_id.hex()} stores credits={have.credits} "
                f"last_seq={have.last_seq}, the chain replay gives credits={want.credits} "
                f"last_seq={want.last_seq}",
            )
    return None
