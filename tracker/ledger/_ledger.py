"""The synchronous ledger: batches of appends (and consumer countersignature rows) written in one transaction
(group commit) with the tip kept in memory, the start-up replay of entries beyond the balance projection,
reads, signed balance snapshots, the audit and the hourly Merkle rollup. Usable without Trio; thread-safe."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

from google.protobuf.message import DecodeError

from tracker._proto.balance_pb2 import BalanceSnapshotBody, SignedBalanceSnapshot
from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.ledger import _audit
from tracker.ledger._errors import (
    DuplicateMerkleRoot,
    LedgerClosed,
    LedgerError,
    LedgerStorageError,
)
from tracker.ledger._merkle import merkle_root, merkle_root_preimage
from tracker.ledger._prepare import EntryPreparer, PreparedEntry, check_identity_id, tracker_signing_key
from tracker.ledger._records import (
    AppendRequest,
    CommittedEntry,
    CountersignatureRecord,
    CountersignatureRecorded,
    StarterGrantRequest,
    Tip,
    TransferInRecord,
    TransferOutRecord,
    UsageRecord,
    WriteRequest,
)
from tracker.ledger._settlement import CountersignatureConflict
from tracker.ledger._store import DEFAULT_SYNCHRONOUS, BalanceRow, EntryRow, LedgerStore
from tracker.ledger._wire import (
    BALANCE_SNAPSHOT_TTL_SECONDS,
    ZERO_HASH,
    EntryKind,
    canonical_bytes,
    entry_from_parts,
)

logger = logging.getLogger("tracker.ledger")

AppendResult = CommittedEntry | CountersignatureRecorded | BaseException


class _WriteFailed(Exception):
    """Internal: writing request `index` failed and the transaction was rolled back."""

    def __init__(self, index: int, error: BaseException) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


_NOT_RUN = LedgerError("ledger: append was not attempted")


def _unix_now(clock: Callable[[], float]) -> int:
    return max(0, int(clock()))


class Ledger:
    """The signed, hash-chained credit ledger over a LedgerStore.

    Construct with `Ledger.open(path, tracker_key)` (owns its store) or `Ledger(store, tracker_key)`.
    Appends from any number of threads are serialised; `append_batch` commits many appends in one transaction
    and returns the committed entries (the Trio façade notifies its subscribers from them).
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
        self._key = tracker_signing_key(tracker_key)
        self._store = store
        self._clock = clock
        self._owns_store = owns_store
        self._preparer = EntryPreparer(self._key, store)
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
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
        synchronous: str = DEFAULT_SYNCHRONOUS,
    ) -> Ledger:
        """Open the SQLite file at `path` and the ledger over it; `close()` closes both. `synchronous`:
        see LedgerStore.open (FULL by default: durable across power loss)."""
        store = LedgerStore.open(path, read_only=read_only, synchronous=synchronous)
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
        assert isinstance(result, CommittedEntry)
        return result

    def append_batch(self, requests: Sequence[WriteRequest]) -> list[AppendResult]:
        """Write every request in one transaction and one commit. Returns, per request and in order, its
        CommittedEntry (an entry appended), CountersignatureRecorded (a countersignature row written or
        found identical) or the exception that rejected it (CountersignatureConflict for a different
        countersignature already recorded); a rejected request writes nothing and does not affect the
        others. Seqs of the accepted entries are consecutive. If the commit itself fails, every accepted
        request gets that error instead and nothing is written."""
        with self._write_lock:
            if self._closed:
                raise LedgerClosed("ledger: closed")
            # Every check runs before anything is written, so a rejected entry normally costs nothing. A
            # failing SQL write (rare: I/O, a damaged file) rolls the whole transaction back; the batch is
            # then redone without that entry, so it still cannot take the others down with it.
            excluded: dict[int, BaseException] = {}
            while True:
                try:
                    results = self._append_once(requests, excluded)
                except _WriteFailed as failed:
                    excluded[failed.index] = failed.error
                    continue
                break
        return results

    def _append_once(
        self, requests: Sequence[WriteRequest], excluded: dict[int, BaseException]
    ) -> list[AppendResult]:
        store = self._store
        results: list[AppendResult] = [excluded.get(index, _NOT_RUN) for index in range(len(requests))]
        try:
            store.begin()
        except sqlite3.Error as error:
            message = f"ledger: append: storage: begin transaction: {error}"
            return [excluded.get(index) or LedgerStorageError(message) for index in range(len(requests))]
        accepted: list[int] = []
        tip_seq, tip_hash = self._tip.seq, self._tip.hash
        batch_now = self._clock()
        for index, request in enumerate(requests):
            if index in excluded:
                continue
            if isinstance(request, CountersignatureRecord):
                try:
                    results[index] = self._write_countersignature(request)
                except sqlite3.Error as error:
                    self._rollback_quietly()
                    message = f"ledger: countersignature: storage: {error}"
                    raise _WriteFailed(index, LedgerStorageError(message)) from None
                if not isinstance(results[index], BaseException):
                    accepted.append(index)
                continue
            try:
                prepared = self._preparer.prepare(request, tip_seq, tip_hash, batch_now)
            except Exception as error:
                if not isinstance(error, LedgerError):
                    logger.exception("ledger: unexpected error while appending")
                results[index] = error
                continue
            try:
                self._write(prepared)
            except sqlite3.Error as error:
                self._rollback_quietly()
                raise _WriteFailed(index, LedgerStorageError(f"ledger: append: storage: {error}")) from None
            except LedgerError as error:
                self._rollback_quietly()
                raise _WriteFailed(index, error) from None
            tip_seq, tip_hash = prepared.body.seq, prepared.entry_hash
            entry = Entry(
                body=prepared.body,
                consumer_sig=prepared.consumer_sig,
                seeder_sig=prepared.seeder_sig,
                tracker_sig=prepared.tracker_sig,
            )
            results[index] = CommittedEntry(
                prepared.body.seq,
                prepared.entry_hash,
                entry,
                prepared.transfer_in_recipient,
                tuple(prepared.new_balances),
            )
            accepted.append(index)
        try:
            store.commit()
        except sqlite3.Error as error:
            self._rollback_quietly()
            for index in accepted:
                results[index] = LedgerStorageError(f"ledger: append: storage: commit: {error}")
            self._tip = self._load_tip()
            return results
        self._tip = Tip(tip_seq, tip_hash)
        return results

    def _write_countersignature(
        self, record: CountersignatureRecord
    ) -> CountersignatureRecorded | CountersignatureConflict:
        recorded = self._store.insert_countersignature(record.seq, record.consumer_sig, record.recorded_at)
        if recorded is None:
            return CountersignatureRecorded(record.seq, new=True)
        if recorded == record.consumer_sig:
            return CountersignatureRecorded(record.seq, new=False)
        return CountersignatureConflict(
            f"storage: a different countersignature is recorded for seq {record.seq}"
        )

    def _rollback_quietly(self) -> None:
        try:
            self._store.rollback()
        except sqlite3.Error:
            logger.exception("ledger: rollback failed")

    def _write(self, prepared: PreparedEntry) -> None:
        store = self._store
        body = prepared.body
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
        if int(body.kind) in (EntryKind.TRANSFER_OUT, EntryKind.TRANSFER_IN):
            store.insert_transfer_ref(body.ref, body.seq)
        if prepared.transfer_in_recipient is not None:
            store.insert_transfer_in_recipient(body.seq, prepared.transfer_in_recipient)
        if prepared.seeder_report_id is not None:
            store.insert_usage_report(body.seq, body.seeder_id, prepared.seeder_report_id)

    # ---- start-up -----------------------------------------------------------------------------------------

    def _load_tip(self) -> Tip:
        with self._read_lock:
            try:
                tip = self._store.tip()
            except sqlite3.Error as error:
                raise LedgerStorageError(f"ledger: read tip: {error}") from None
        return Tip(0, ZERO_HASH) if tip is None else Tip(*tip)

    def _replay_projection(self) -> int:
        """Re-apply entries beyond the balance projection's last seq (e.g. balances restored from an older
        copy). Returns how many entries were re-applied."""
        with self._write_lock, self._read_lock:
            store = self._store
            try:
                projection_seq = store.projection_last_seq()
            except sqlite3.Error as error:
                raise LedgerStorageError(f"ledger: read balance projection: {error}") from None
            if self._tip.seq <= projection_seq:
                return 0
            replayed = 0
            try:
                store.begin()
                cursor = projection_seq
                while True:
                    rows = store.rows_since(cursor, 1000)
                    if not rows:
                        break
                    for row in rows:
                        body = EntryBody()
                        body.ParseFromString(row.canonical)
                        if int(body.kind) == EntryKind.TRANSFER_IN and row.transfer_in_recipient is None:
                            logger.warning(
                                "ledger: replay: transfer_in has no recorded recipient",
                                extra={"seq": row.seq},
                            )
                        for identity_id, delta in _audit.balance_deltas(body, row.transfer_in_recipient):
                            current = store.credits_in_transaction(identity_id) or 0
                            store.upsert_balance(identity_id, current + delta, body.seq, body.timestamp)
                        replayed += 1
                    cursor = rows[-1].seq
                store.commit()
            except BaseException as error:
                self._rollback_quietly()
                if isinstance(error, sqlite3.Error | DecodeError):
                    raise LedgerStorageError(
                        f"ledger: replay of entries after seq {projection_seq}: {error}"
                    ) from None
                raise
            logger.warning(
                "ledger: re-applied entries beyond the balance projection",
                extra={"entries": replayed, "projection_seq": projection_seq},
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
        check_identity_id("identity_id", identity_id)
        return self._read(lambda store: store.balance(identity_id))  # type: ignore[return-value]

    def signed_balance(self, identity_id: bytes) -> SignedBalanceSnapshot:
        """A tracker-signed snapshot of the identity's credits and the chain tip, valid for 600 s (read from
        SQLite: blocking)."""
        identity_id = check_identity_id("identity_id", identity_id)
        snapshot_view = self._read(lambda store: store.balance_with_tip(identity_id))
        return self.sign_balance_snapshot(
            identity_id,
            snapshot_view.balance.credits if snapshot_view.balance else 0,  # type: ignore[attr-defined]
            snapshot_view.tip_seq,  # type: ignore[attr-defined]
            snapshot_view.tip_hash or ZERO_HASH,  # type: ignore[attr-defined]
        )

    def sign_balance_snapshot(
        self, identity_id: bytes, credits: int, tip_seq: int, tip_hash: bytes
    ) -> SignedBalanceSnapshot:
        """Sign a snapshot certifying `credits` for `identity_id` at the chain tip (tip_seq, tip_hash), issued
        now and valid for 600 s. No I/O: the caller vouches that the balance and the tip belong together."""
        issued_at = _unix_now(self._clock)
        body = BalanceSnapshotBody(
            identity_id=identity_id,
            credits=credits,
            chain_tip_hash=tip_hash,
            chain_tip_seq=tip_seq,
            issued_at=issued_at,
            expires_at=issued_at + BALANCE_SNAPSHOT_TTL_SECONDS,
        )
        return SignedBalanceSnapshot(body=body, tracker_sig=self._key.sign(canonical_bytes(body)))

    def balances_at_tip(self) -> tuple[dict[bytes, int], Tip]:
        """Every identity's credits from the balance projection and the tip they are valid at, read with
        appends held off (blocking; the projection was brought up to the tip at open)."""
        with self._write_lock:
            rows: list[BalanceRow] = self._read(lambda store: store.all_balances())  # type: ignore[assignment]
            return {row.identity_id: row.credits for row in rows}, self._tip

    def assert_chain_integrity(self, since_seq: int = 0, until_seq: int = 0) -> int:
        """Audit entries (since_seq, until_seq] (0 = up to the tip): links, recomputed hashes, seq
        contiguity, row/body agreement and tracker signatures. Returns the count checked; raises
        ChainIntegrityError with the first bad seq. Runs on its own read-only connection, so a long
        audit does not hold up other reads."""
        if self._closed:
            raise LedgerClosed("ledger: closed")
        audit_store = LedgerStore.open(self._store.path, read_only=True)
        try:
            return _audit.assert_chain_integrity(audit_store, self._key.public_key, since_seq, until_seq)
        except sqlite3.Error as error:
            raise LedgerStorageError(f"ledger: audit read: {error}") from None
        finally:
            audit_store.close()

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
