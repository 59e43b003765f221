"""The synchronous ledger orchestrator: tip check, validation, counterparty signature checks, tracker signing,
balance arithmetic and storage of a batch of appends in one transaction (group commit), signed balance
snapshots, the audit and the hourly Merkle rollup. Usable without Trio; thread-safe."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from google.protobuf.message import DecodeError

from tracker._proto.balance_pb2 import BalanceSnapshotBody, SignedBalanceSnapshot
from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.ledger import _audit
from tracker.ledger._builders import (
    build_starter_grant_entry,
    build_transfer_in_entry,
    build_transfer_out_entry,
    build_usage_entry,
)
from tracker.ledger._errors import (
    DuplicateMerkleRoot,
    EntryValidationError,
    InsufficientBalance,
    LedgerClosed,
    LedgerError,
    LedgerStorageError,
    SignatureError,
    StaleTip,
    TimestampOutOfWindow,
    TransferRefExists,
)
from tracker.ledger._merkle import merkle_root, merkle_root_preimage
from tracker.ledger._records import (
    AppendRequest,
    CommittedEntry,
    StarterGrantRequest,
    Tip,
    TransferInRecord,
    TransferOutRecord,
    UsageRecord,
)
from tracker.ledger._store import BalanceRow, EntryRow, LedgerStore
from tracker.ledger._wire import (
    BALANCE_SNAPSHOT_TTL_SECONDS,
    ID_SIZE,
    MAX_INT64,
    PUBLIC_KEY_SIZE,
    ZERO_HASH,
    EntryKind,
    canonical_bytes,
    entry_from_parts,
    hash_canonical,
    verify_signature,
)

logger = logging.getLogger("tracker.ledger")

TIMESTAMP_WINDOW_SECONDS = 300
TRACKER_KEY_SIZE = 64

Subscriber = Callable[[CommittedEntry], None]
AppendResult = CommittedEntry | BaseException


class _SigningKey:
    """The tracker key in Go layout (seed ‖ pub); accepts a TrackerIdentity-like object or the 64 raw bytes."""

    def __init__(self, tracker_key: object) -> None:
        key_bytes = getattr(tracker_key, "key_bytes", tracker_key)
        if not isinstance(key_bytes, bytes | bytearray):
            raise LedgerError("ledger: tracker key must be a TrackerIdentity or 64 raw bytes")
        if len(key_bytes) != TRACKER_KEY_SIZE:
            raise LedgerError(f"ledger: tracker key length {len(key_bytes)}, want {TRACKER_KEY_SIZE}")
        self._private_key = Ed25519PrivateKey.from_private_bytes(bytes(key_bytes[:32]))
        self.public_key = self._private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        if self.public_key != bytes(key_bytes[32:]):
            raise LedgerError("ledger: tracker key is inconsistent: its public half does not match its seed")

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)


@dataclass(slots=True)
class _Prepared:
    """An entry that passed every check and only needs to be written."""

    body: EntryBody
    canonical: bytes
    entry_hash: bytes
    consumer_sig: bytes
    seeder_sig: bytes
    tracker_sig: bytes
    new_balances: list[tuple[bytes, int]]
    transfer_in_recipient: bytes | None


def _unix_now(clock: Callable[[], float]) -> int:
    return max(0, int(clock()))


def _check_id(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != ID_SIZE:
        length = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise EntryValidationError(f"ledger: {name} length {length}, want {ID_SIZE}")
    return bytes(value)


def _check_amount(amount: object, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise EntryValidationError(f"ledger: {what} amount must be an integer")
    if amount <= 0:
        raise EntryValidationError(f"ledger: {what} amount must be > 0")
    if amount > MAX_INT64:
        raise EntryValidationError(f"ledger: amount {amount} exceeds int64 range")
    return amount


def _check_cost(cost: object) -> None:
    if isinstance(cost, int) and not isinstance(cost, bool) and cost > MAX_INT64:
        raise EntryValidationError(f"ledger: amount {cost} exceeds int64 range")


def _with_prefix(prefix: str, build: Callable[[], EntryBody]) -> EntryBody:
    try:
        return build()
    except EntryValidationError as error:
        raise EntryValidationError(f"ledger: {prefix}: {error}") from None


class Ledger:
    """The signed, hash-chained credit ledger over a LedgerStore.

    Construct with `Ledger.open(path, tracker_key)` (owns its store) or `Ledger(store, tracker_key)`.
    Appends from any number of threads are serialised; `append_batch` commits many appends in one transaction.
    Subscribers are called after each commit, in commit order, on the committing thread, never for an entry
    that was rolled back; they must not append to the ledger themselves.
    """

    def __init__(
        self,
        store: LedgerStore,
        tracker_key: object,
        *,
        clock: Callable[[], float] = time.time,
        owns_store: bool = False,
    ) -> None:
        if store is None:
            raise LedgerError("ledger: Open requires a non-nil Store")
        self._key = _SigningKey(tracker_key)
        self._store = store
        self._clock = clock
        self._owns_store = owns_store
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._subscribers: list[Subscriber] = []
        self._closed = False
        self._tip = self._load_tip()
        self.replayed_on_open = self._replay_projection() if store.writable else 0

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        tracker_key: object,
        *,
        clock: Callable[[], float] = time.time,
        read_only: bool = False,
    ) -> Ledger:
        """Open the SQLite file at `path` and the ledger over it; `close()` closes both."""
        store = LedgerStore.open(path, read_only=read_only)
        try:
            return cls(store, tracker_key, clock=clock, owns_store=True)
        except BaseException:
            store.close()
            raise

    @property
    def tracker_public_key(self) -> bytes:
        return self._key.public_key

    @property
    def store(self) -> LedgerStore:
        return self._store

    @property
    def path(self) -> str:
        return str(self._store.path)

    def close(self) -> None:
        """Idempotent. Closes the store too when the ledger opened it."""
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            if self._owns_store:
                self._store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call `callback(committed)` after each commit; returns a function that unsubscribes."""
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    # ---- appends ------------------------------------------------------------------------------------------

    def issue_starter_grant(self, identity_id: bytes, amount: int) -> CommittedEntry:
        return self._append_one(StarterGrantRequest(identity_id, amount))

    def append_usage(self, record: UsageRecord) -> CommittedEntry:
        return self._append_one(record)

    def append_transfer_out(self, record: TransferOutRecord) -> CommittedEntry:
        return self._append_one(record)

    def append_transfer_in(self, record: TransferInRecord) -> CommittedEntry:
        return self._append_one(record)

    def _append_one(self, request: AppendRequest) -> CommittedEntry:
        result = self.append_batch([request])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def append_batch(self, requests: Sequence[AppendRequest]) -> list[AppendResult]:
        """Append every request in one transaction and one commit. Returns, per request and in order, its
        CommittedEntry or the exception that rejected it; a rejected request writes nothing and does not affect
        the others. Seqs of the accepted ones are consecutive. If the commit itself fails, every accepted request
        gets that error instead and nothing is written."""
        results: list[AppendResult | None] = [None] * len(requests)
        accepted: list[int] = []
        with self._write_lock:
            if self._closed:
                raise LedgerClosed("ledger: closed")
            store = self._store
            try:
                store.begin()
            except sqlite3.Error as error:
                failure = LedgerStorageError(f"ledger: append: storage: begin transaction: {error}")
                return [failure] * len(requests)
            tip_seq, tip_hash = self._tip.seq, self._tip.hash
            batch_now = self._clock()
            for index, request in enumerate(requests):
                try:
                    prepared = self._prepare(request, tip_seq, tip_hash, batch_now)
                    self._write(prepared)
                except Exception as error:
                    if not isinstance(error, LedgerError):
                        logger.exception("ledger: unexpected error while appending")
                    results[index] = error
                    continue
                tip_seq, tip_hash = prepared.body.seq, prepared.entry_hash
                entry = Entry(
                    consumer_sig=prepared.consumer_sig,
                    seeder_sig=prepared.seeder_sig,
                    tracker_sig=prepared.tracker_sig,
                )
                entry.body.CopyFrom(prepared.body)
                results[index] = CommittedEntry(
                    prepared.body.seq, prepared.entry_hash, entry, prepared.transfer_in_recipient
                )
                accepted.append(index)
            try:
                store.commit()
            except sqlite3.Error as error:
                try:
                    store.rollback()
                except sqlite3.Error:
                    logger.exception("ledger: rollback after a failed commit failed")
                failure = LedgerStorageError(f"ledger: append: storage: commit: {error}")
                for index in accepted:
                    results[index] = failure
                self._tip = self._load_tip()
                return results  # type: ignore[return-value]
            self._tip = Tip(tip_seq, tip_hash)
            for index in accepted:
                self._notify(results[index])  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    def _notify(self, committed: CommittedEntry) -> None:
        for callback in tuple(self._subscribers):
            try:
                callback(committed)
            except Exception:
                logger.exception("ledger: subscriber %r failed on seq %d", callback, committed.seq)

    def _write(self, prepared: _Prepared) -> None:
        store = self._store
        body = prepared.body
        store.savepoint()
        try:
            store.insert_entry(
                (
                    body.seq,
                    body.prev_hash,
                    prepared.entry_hash,
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
                    prepared.consumer_sig or None,
                    prepared.seeder_sig or None,
                    prepared.tracker_sig,
                    prepared.canonical,
                )
            )
            for identity_id, credits in prepared.new_balances:
                store.upsert_balance(identity_id, credits, body.seq, body.timestamp)
            if body.kind in (EntryKind.TRANSFER_OUT, EntryKind.TRANSFER_IN):
                store.insert_transfer_ref(body.ref, body.seq)
            if prepared.transfer_in_recipient is not None:
                store.insert_transfer_in_recipient(body.seq, prepared.transfer_in_recipient)
        except BaseException as error:
            store.rollback_to_savepoint()
            if isinstance(error, sqlite3.Error):
                raise LedgerStorageError(f"ledger: append: storage: {error}") from None
            raise
        store.release_savepoint()

    def _prepare(self, request: AppendRequest, tip_seq: int, tip_hash: bytes, now: float) -> _Prepared:
        if isinstance(request, StarterGrantRequest):
            return self._prepare_starter_grant(request, tip_seq, tip_hash, now)
        if isinstance(request, UsageRecord):
            return self._prepare_usage(request, tip_seq, tip_hash, now)
        if isinstance(request, TransferOutRecord):
            return self._prepare_transfer_out(request, tip_seq, tip_hash, now)
        if isinstance(request, TransferInRecord):
            return self._prepare_transfer_in(request, tip_seq, tip_hash, now)
        raise EntryValidationError(f"ledger: unknown append request type {type(request).__name__}")

    def _prepare_starter_grant(
        self, request: StarterGrantRequest, tip_seq: int, tip_hash: bytes, now: float
    ) -> _Prepared:
        if isinstance(request.amount, int) and not isinstance(request.amount, bool) and request.amount == 0:
            raise EntryValidationError("ledger: starter grant amount must be > 0")
        identity_id = _check_id("identity_id", request.identity_id)
        amount = _check_amount(request.amount, "starter grant")
        body = _with_prefix(
            "build starter grant",
            lambda: build_starter_grant_entry(
                prev_hash=tip_hash,
                seq=tip_seq + 1,
                consumer_id=identity_id,
                amount=amount,
                timestamp=max(0, int(now)),
            ),
        )
        return self._sign(body, b"", b"", [(identity_id, amount)], None)

    def _prepare_usage(self, record: UsageRecord, tip_seq: int, tip_hash: bytes, now: float) -> _Prepared:
        if not record.seeder_sig or len(record.seeder_pub) != PUBLIC_KEY_SIZE:
            raise EntryValidationError("ledger: AppendUsage requires seeder sig + pubkey")
        if not record.consumer_sig_missing and (
            not record.consumer_sig or len(record.consumer_pub) != PUBLIC_KEY_SIZE
        ):
            raise EntryValidationError(
                "ledger: AppendUsage requires consumer sig + pubkey (or set ConsumerSigMissing)"
            )
        _check_cost(record.cost_credits)
        body = _with_prefix(
            "build usage",
            lambda: build_usage_entry(
                prev_hash=record.prev_hash,
                seq=record.seq,
                consumer_id=record.consumer_id,
                seeder_id=record.seeder_id,
                model=record.model,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cost_credits=record.cost_credits,
                timestamp=record.timestamp,
                request_id=record.request_id,
                consumer_sig_missing=record.consumer_sig_missing,
            ),
        )
        if body.consumer_id == body.seeder_id:
            raise EntryValidationError(
                "ledger: usage consumer_id equals seeder_id (an identity cannot pay itself)"
            )
        self._check_timestamp(body, now)
        self._check_tip(body, tip_seq, tip_hash)
        canonical = canonical_bytes(body)
        consumer_sig = b""
        if not record.consumer_sig_missing:
            if not verify_signature(record.consumer_pub, canonical, record.consumer_sig):
                raise SignatureError("ledger: consumer_sig invalid")
            consumer_sig = record.consumer_sig
        if not verify_signature(record.seeder_pub, canonical, record.seeder_sig):
            raise SignatureError("ledger: seeder_sig invalid")
        cost = body.cost_credits
        return self._sign(
            body,
            consumer_sig,
            record.seeder_sig,
            [(body.consumer_id, -cost), (body.seeder_id, cost)],
            None,
            canonical,
        )

    def _prepare_transfer_out(
        self, record: TransferOutRecord, tip_seq: int, tip_hash: bytes, now: float
    ) -> _Prepared:
        if not record.consumer_sig or len(record.consumer_pub) != PUBLIC_KEY_SIZE:
            raise EntryValidationError("ledger: AppendTransferOut requires consumer sig + pubkey")
        amount = _check_amount(record.amount, "transfer_out")
        body = _with_prefix(
            "build transfer_out",
            lambda: build_transfer_out_entry(
                prev_hash=record.prev_hash,
                seq=record.seq,
                consumer_id=record.consumer_id,
                amount=amount,
                timestamp=record.timestamp,
                transfer_ref=record.transfer_ref,
            ),
        )
        self._check_timestamp(body, now)
        self._check_tip(body, tip_seq, tip_hash)
        self._check_transfer_ref(body.ref)
        canonical = canonical_bytes(body)
        if not verify_signature(record.consumer_pub, canonical, record.consumer_sig):
            raise SignatureError("ledger: consumer_sig invalid")
        return self._sign(body, record.consumer_sig, b"", [(body.consumer_id, -amount)], None, canonical)

    def _prepare_transfer_in(
        self, record: TransferInRecord, tip_seq: int, tip_hash: bytes, now: float
    ) -> _Prepared:
        amount = _check_amount(record.amount, "transfer_in")
        identity_id = _check_id("identity_id", record.identity_id)
        body = _with_prefix(
            "build transfer_in",
            lambda: build_transfer_in_entry(
                prev_hash=record.prev_hash,
                seq=record.seq,
                amount=amount,
                timestamp=record.timestamp,
                transfer_ref=record.transfer_ref,
            ),
        )
        self._check_timestamp(body, now)
        self._check_tip(body, tip_seq, tip_hash)
        self._check_transfer_ref(body.ref)
        return self._sign(body, b"", b"", [(identity_id, amount)], identity_id)

    def _check_timestamp(self, body: EntryBody, now: float) -> None:
        if abs(body.timestamp - now) > TIMESTAMP_WINDOW_SECONDS:
            raise TimestampOutOfWindow(
                f"ledger: entry timestamp {body.timestamp} is more than {TIMESTAMP_WINDOW_SECONDS} s away from "
                f"the tracker clock ({int(now)})"
            )

    @staticmethod
    def _check_tip(body: EntryBody, tip_seq: int, tip_hash: bytes) -> None:
        if body.seq != tip_seq + 1 or body.prev_hash != tip_hash:
            raise StaleTip(
                f"{StaleTip.BASE_MESSAGE}: got seq={body.seq} prev_hash={body.prev_hash.hex()}, "
                f"tip is seq={tip_seq} hash={tip_hash.hex()}"
            )

    def _check_transfer_ref(self, ref: bytes) -> None:
        existing = self._store.transfer_ref_seq_in_transaction(ref)
        if existing is not None:
            raise TransferRefExists(
                f"ledger: transfer ref already on chain (ref={ref.hex()}, seq={existing})"
            )

    def _sign(
        self,
        body: EntryBody,
        consumer_sig: bytes,
        seeder_sig: bytes,
        deltas: list[tuple[bytes, int]],
        transfer_in_recipient: bytes | None,
        canonical: bytes | None = None,
    ) -> _Prepared:
        if canonical is None:
            canonical = canonical_bytes(body)
        new_balances = []
        for identity_id, delta in deltas:
            current = self._store.credits_in_transaction(identity_id) or 0
            new = current + delta
            if new < 0:
                raise InsufficientBalance(identity_id, current, delta)
            if new > MAX_INT64:
                raise EntryValidationError(
                    f"ledger: balance of {identity_id.hex()} would exceed the int64 range ({current} + {delta})"
                )
            new_balances.append((identity_id, new))
        return _Prepared(
            body=body,
            canonical=canonical,
            entry_hash=hash_canonical(canonical),
            consumer_sig=consumer_sig,
            seeder_sig=seeder_sig,
            tracker_sig=self._key.sign(canonical),
            new_balances=new_balances,
            transfer_in_recipient=transfer_in_recipient,
        )

    # ---- start-up -----------------------------------------------------------------------------------------

    def _load_tip(self) -> Tip:
        with self._read_lock:
            try:
                tip = self._store.tip()
            except sqlite3.Error as error:
                raise LedgerStorageError(f"ledger: read tip: {error}") from None
        return Tip(0, ZERO_HASH) if tip is None else Tip(*tip)

    def _replay_projection(self) -> int:
        """Re-apply entries beyond the balance projection's last seq (crash or restore between an entry and its
        balances). Returns how many entries were re-applied."""
        with self._write_lock, self._read_lock:
            store = self._store
            try:
                projection_seq = store.projection_last_seq()
            except sqlite3.Error as error:
                raise LedgerStorageError(f"ledger: read balance projection: {error}") from None
            if self._tip.seq <= projection_seq:
                return 0
            replayed = 0
            store.begin()
            try:
                cursor = projection_seq
                while True:
                    rows = store.rows_since(cursor, 1000)
                    if not rows:
                        break
                    for row in rows:
                        body = EntryBody()
                        body.ParseFromString(row.canonical)
                        if body.kind == EntryKind.TRANSFER_IN and row.transfer_in_recipient is None:
                            logger.warning(
                                "ledger: replay: transfer_in at seq %d has no recorded recipient", row.seq
                            )
                        for identity_id, delta in _audit.balance_deltas(body, row.transfer_in_recipient):
                            current = store.credits_in_transaction(identity_id) or 0
                            store.upsert_balance(identity_id, current + delta, body.seq, body.timestamp)
                        replayed += 1
                    cursor = rows[-1].seq
                store.commit()
            except (sqlite3.Error, DecodeError) as error:
                store.rollback()
                raise LedgerStorageError(
                    f"ledger: replay of entries after seq {projection_seq}: {error}"
                ) from None
            logger.warning(
                "ledger: re-applied %d entries beyond the balance projection (seq > %d)",
                replayed,
                projection_seq,
            )
            return replayed

    # ---- reads --------------------------------------------------------------------------------------------

    def tip(self) -> Tip | None:
        """The last committed entry, or None for an empty chain."""
        if self._closed:
            raise LedgerClosed("ledger: closed")
        tip = self._tip
        return None if tip.seq == 0 else tip

    def _read(self, operation: Callable[[LedgerStore], object]) -> object:
        with self._read_lock:
            if self._closed:
                raise LedgerClosed("ledger: closed")
            try:
                return operation(self._store)
            except sqlite3.Error as error:
                raise LedgerStorageError(f"ledger: read: {error}") from None

    @staticmethod
    def _committed(row: EntryRow | None) -> CommittedEntry | None:
        if row is None:
            return None
        try:
            entry = entry_from_parts(row.canonical, row.consumer_sig, row.seeder_sig, row.tracker_sig)
        except DecodeError:
            raise LedgerStorageError(f"ledger: entry seq={row.seq}: unmarshal canonical failed") from None
        return CommittedEntry(row.seq, bytes(row.hash), entry, row.transfer_in_recipient)

    def entry_by_seq(self, seq: int) -> CommittedEntry | None:
        return self._committed(self._read(lambda store: store.row_by_seq(seq)))  # type: ignore[arg-type]

    def entry_by_hash(self, entry_hash: bytes) -> CommittedEntry | None:
        return self._committed(self._read(lambda store: store.row_by_hash(entry_hash)))  # type: ignore[arg-type]

    def entries_since(self, since_seq: int, limit: int = 0) -> list[CommittedEntry]:
        """Committed entries with seq > since_seq, ascending; limit <= 0 means all of them."""
        rows: list[EntryRow] = self._read(lambda store: store.rows_since(since_seq, limit))  # type: ignore[assignment]
        return [self._committed(row) for row in rows]  # type: ignore[misc]

    def balance(self, identity_id: bytes) -> BalanceRow | None:
        """The stored balance row of an identity, or None when no entry has touched it."""
        _check_id("identity_id", identity_id)
        return self._read(lambda store: store.balance(identity_id))  # type: ignore[return-value]

    def signed_balance(self, identity_id: bytes) -> SignedBalanceSnapshot:
        """A tracker-signed snapshot of the identity's credits and the chain tip, valid for 600 s."""
        identity_id = _check_id("identity_id", identity_id)
        snapshot_view = self._read(lambda store: store.balance_with_tip(identity_id))
        issued_at = _unix_now(self._clock)
        body = BalanceSnapshotBody(
            identity_id=identity_id,
            credits=snapshot_view.balance.credits if snapshot_view.balance else 0,  # type: ignore[attr-defined]
            chain_tip_hash=snapshot_view.tip_hash or ZERO_HASH,  # type: ignore[attr-defined]
            chain_tip_seq=snapshot_view.tip_seq,  # type: ignore[attr-defined]
            issued_at=issued_at,
            expires_at=issued_at + BALANCE_SNAPSHOT_TTL_SECONDS,
        )
        snapshot = SignedBalanceSnapshot(tracker_sig=self._key.sign(canonical_bytes(body)))
        snapshot.body.CopyFrom(body)
        return snapshot

    def assert_chain_integrity(self, since_seq: int = 0, until_seq: int = 0) -> int:
        """Audit entries (since_seq, until_seq] (0 = up to the tip): links, recomputed hashes, seq contiguity,
        row/body agreement and tracker signatures. Returns the count checked; raises ChainIntegrityError with the
        first bad seq."""
        return self._read(  # type: ignore[return-value]
            lambda store: _audit.assert_chain_integrity(store, self._key.public_key, since_seq, until_seq)
        )

    # ---- Merkle rollup ------------------------------------------------------------------------------------

    def merkle_root(self, hour: int) -> tuple[bytes, bytes] | None:
        """(root, tracker_sig) stored for `hour`, or None."""
        return self._read(lambda store: store.merkle_root(hour))  # type: ignore[return-value]

    def rollup_hour(self, hour: int) -> bytes | None:
        """Compute, sign and store the Merkle root of `hour` (entries whose timestamp is in the hour, by seq).
        Idempotent: an existing root is kept and returned; an empty hour stores nothing and returns None."""
        existing = self.merkle_root(hour)
        if existing is not None:
            return existing[0]
        leaves: list[bytes] = self._read(lambda store: store.leaves_for_hour(hour))  # type: ignore[assignment]
        root = merkle_root(leaves)
        if root is None:
            return None
        if len(root) != 32:
            raise LedgerError(f"ledger: merkle root for hour {hour} is {len(root)} bytes, want 32")
        signature = self._key.sign(merkle_root_preimage(hour, root))
        with self._write_lock:
            if self._closed:
                raise LedgerClosed("ledger: closed")
            try:
                self._store.put_merkle_root(hour, root, signature)
            except DuplicateMerkleRoot:
                pass  # a concurrent rollup won the race; roots are immutable
            except sqlite3.Error as error:
                raise LedgerStorageError(f"ledger: rollup hour {hour}: {error}") from None
        stored = self.merkle_root(hour)
        return stored[0] if stored else root

    run_rollup_once = rollup_hour
