"""SQLite storage of the ledger: connections and pragmas, schema migration, row-level reads and writes.

The store trusts its caller (no hashing, signing or balance math here). It holds one writer connection and one
reader connection (WAL lets the reader run while the writer commits); callers serialise use of each connection
(the Ledger holds one lock per connection).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracker.ledger._errors import AlreadyExists, DuplicateMerkleRoot, LedgerStorageError
from tracker.ledger._schema import SCHEMA_V1, SIDE_TABLES
from tracker.ledger._settlement import (
    INSERT_COUNTERSIGNATURE,
    INSERT_USAGE_REPORT,
    SELECT_COUNTERSIGNATURE,
    SELECT_USAGE_REPORT,
)

BUSY_TIMEOUT_MS = 5000
SYNCHRONOUS_MODES = ("NORMAL", "FULL")
DEFAULT_SYNCHRONOUS = "FULL"
_TRANSFER_KINDS = (2, 3)
_REFS_WATERMARK = "transfer_refs_indexed_through_seq"

_ENTRY_COLUMNS = "e.seq, e.hash, e.canonical, e.consumer_sig, e.seeder_sig, e.tracker_sig, r.identity_id"
_ENTRY_FROM = "entries e LEFT JOIN transfer_in_recipients r ON r.seq = e.seq"
_INSERT_ENTRY = (
    "INSERT INTO entries (seq, prev_hash, hash, kind, consumer_id, seeder_id, model, input_tokens,"
    " output_tokens, cost_credits, timestamp, request_id, flags, ref, consumer_sig, seeder_sig, tracker_sig,"
    " canonical) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT_CREDITS = "SELECT credits FROM balances WHERE identity_id = ?"
_SELECT_TRANSFER_REF = "SELECT seq FROM transfer_refs WHERE ref = ?"
_INSERT_TRANSFER_REF = "INSERT INTO transfer_refs (ref, seq) VALUES (?, ?)"
_INSERT_RECIPIENT = "INSERT INTO transfer_in_recipients (seq, identity_id) VALUES (?, ?)"
_UPSERT_BALANCE = (
    "INSERT INTO balances (identity_id, credits, last_seq, updated_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT(identity_id) DO UPDATE SET credits = excluded.credits, last_seq = excluded.last_seq,"
    " updated_at = excluded.updated_at"
)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One stored entry as read back: the canonical body blob and signatures (NULL read as b"")."""

    seq: int
    hash: bytes
    canonical: bytes
    consumer_sig: bytes
    seeder_sig: bytes
    tracker_sig: bytes
    transfer_in_recipient: bytes | None


@dataclass(frozen=True, slots=True)
class BalanceRow:
    identity_id: bytes
    credits: int
    last_seq: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class BalanceWithTip:
    """A balance and the chain tip read in one read transaction (one consistent snapshot)."""

    balance: BalanceRow | None
    tip_seq: int
    tip_hash: bytes | None


def _entry_row(row: tuple[Any, ...]) -> EntryRow:
    return EntryRow(
        seq=row[0],
        hash=row[1],
        canonical=row[2],
        consumer_sig=row[3] or b"",
        seeder_sig=row[4] or b"",
        tracker_sig=row[5],
        transfer_in_recipient=row[6],
    )


def read_only_uri(path: Path) -> str:
    """The SQLite URI offline readers open `path` with. Without a `-wal` file beside it every commit is in the
    main file: `immutable=1` reads it creating no `-wal`/`-shm` file and taking no lock, so it works on a
    read-only filesystem and leaves the directory as it was. With a `-wal` (a tracker has the file open, or
    one was killed) `mode=ro` also reads the commits still in the log."""
    uri = path.resolve().as_uri()
    if os.path.lexists(f"{path}-wal"):
        return f"{uri}?mode=ro"
    return f"{uri}?immutable=1"


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection to the database at `path` (see `read_only_uri`); sqlite3 errors propagate."""
    return sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False)


def _connect(path: Path, *, read_only: bool, synchronous: str = DEFAULT_SYNCHRONOUS) -> sqlite3.Connection:
    if read_only:
        connection = connect_read_only(path)
    else:
        connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:
            connection.execute("PRAGMA journal_mode = WAL")
        connection.execute(f"PRAGMA synchronous = {synchronous}")
        connection.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        connection.close()
        raise
    return connection


class LedgerStore:
    """The ledger's SQLite file. Open with `LedgerStore.open(path)`; close with `close()` (idempotent)."""

    def __init__(self, path: Path, writer: sqlite3.Connection | None, reader: sqlite3.Connection) -> None:
        self.path = path
        self._writer = writer
        # One reused cursor for the append path: Connection.execute builds a new cursor per statement. The
        # statements themselves are prepared once and reused by sqlite3's statement cache (keyed by SQL).
        self._cursor = writer.cursor() if writer is not None else None
        self._reader = reader
        self._closed = False
        self._has_side_tables = True

    @classmethod
    def open(
        cls, path: str | os.PathLike[str], *, read_only: bool = False, synchronous: str = DEFAULT_SYNCHRONOUS
    ) -> LedgerStore:
        """Open (creating when writable) the database at `path` and apply the v1 schema + side tables.

        read_only=True opens an existing file without changing it (offline tools); raises
        LedgerStorageError when the file is missing, unreadable or not a ledger database. `synchronous` is
        the SQLite pragma. FULL, the default, fsyncs the WAL at every commit, so a committed append survives
        an OS crash or a power cut; group commit shares that fsync between the appends of one batch. NORMAL
        (the Go tracker's setting) survives only a process crash: the WAL is fsynced at checkpoints, so a
        power cut can drop the last commits. NORMAL is kept for benchmarks and is not a config key."""
        if synchronous not in SYNCHRONOUS_MODES:
            raise LedgerStorageError(f"storage: synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
        if not str(path):
            raise LedgerStorageError("storage: Open requires a non-empty path")
        db_path = Path(path)
        if read_only and not db_path.is_file():
            raise LedgerStorageError(f"storage: no ledger database at {db_path}")
        writer: sqlite3.Connection | None = None
        reader: sqlite3.Connection | None = None
        try:
            if not read_only:
                writer = _connect(db_path, read_only=False, synchronous=synchronous)
                writer.executescript(SCHEMA_V1 + SIDE_TABLES)
            reader = _connect(db_path, read_only=read_only, synchronous=synchronous)
            tables = {row[0] for row in reader.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "entries" not in tables or "balances" not in tables:
                raise LedgerStorageError(f"storage: {db_path} is not a ledger database (no entries table)")
            store = cls(db_path, writer, reader)
            store._has_side_tables = "transfer_in_recipients" in tables
            if writer is not None:
                store._backfill_transfer_refs()
            return store
        except sqlite3.Error as error:
            for connection in (writer, reader):
                if connection is not None:
                    connection.close()
            raise LedgerStorageError(f"storage: cannot open ledger database {db_path}: {error}") from None
        except BaseException:
            for connection in (writer, reader):
                if connection is not None:
                    connection.close()
            raise

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for connection in (self._writer, self._reader):
            if connection is not None:
                connection.close()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def writable(self) -> bool:
        return self._writer is not None

    # ---- write side (caller holds the write lock) -------------------------------------------------------

    def _write_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise LedgerStorageError("storage: store is closed")
        if self._writer is None:
            raise LedgerStorageError("storage: store was opened read-only")
        return self._writer

    def _write_cursor(self) -> sqlite3.Cursor:
        if self._closed or self._cursor is None:
            self._write_connection()  # raises the error that says why
        return self._cursor  # type: ignore[return-value]

    def begin(self) -> None:
        self._write_cursor().execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._write_cursor().execute("COMMIT")

    def rollback(self) -> None:
        writer = self._write_connection()
        if writer.in_transaction:
            writer.execute("ROLLBACK")

    def insert_entry(self, values: tuple[Any, ...]) -> None:
        """Insert one entries row (the 18 columns in schema order; empty signatures passed as None)."""
        try:
            self._write_cursor().execute(_INSERT_ENTRY, values)
        except sqlite3.IntegrityError as error:
            text = str(error)
            if (
                "entries.hash" in text
                or "entries.seq" in text
                or ("PRIMARY KEY" in text and "entries" in text)
            ):
                raise AlreadyExists("storage: entry with this seq or hash already exists") from None
            raise LedgerStorageError(f"storage: append insert: {error}") from None

    def credits_in_transaction(self, identity_id: bytes) -> int | None:
        row = self._write_cursor().execute(_SELECT_CREDITS, (identity_id,)).fetchone()
        return None if row is None else row[0]

    def upsert_balance(self, identity_id: bytes, credits: int, last_seq: int, updated_at: int) -> None:
        if len(identity_id) != 32:
            raise LedgerStorageError(f"storage: balance identity_id length {len(identity_id)}, want 32")
        self._write_cursor().execute(_UPSERT_BALANCE, (identity_id, credits, last_seq, updated_at))

    def transfer_ref_seq_in_transaction(self, ref: bytes) -> int | None:
        row = self._write_cursor().execute(_SELECT_TRANSFER_REF, (ref,)).fetchone()
        return None if row is None else row[0]

    def insert_transfer_ref(self, ref: bytes, seq: int) -> None:
        self._write_cursor().execute(_INSERT_TRANSFER_REF, (ref, seq))

    def insert_transfer_in_recipient(self, seq: int, identity_id: bytes) -> None:
        self._write_cursor().execute(_INSERT_RECIPIENT, (seq, identity_id))

    def usage_report_seq_in_transaction(self, seeder_id: bytes, report_id: bytes) -> int | None:
        row = self._write_cursor().execute(SELECT_USAGE_REPORT, (seeder_id, report_id)).fetchone()
        return None if row is None else row[0]

    def insert_usage_report(self, seq: int, seeder_id: bytes, report_id: bytes) -> None:
        self._write_cursor().execute(INSERT_USAGE_REPORT, (seq, seeder_id, report_id))

    def insert_countersignature(self, seq: int, consumer_sig: bytes, recorded_at: int) -> bytes | None:
        """Insert the countersignature of entry `seq` unless one is recorded; None when inserted, else the
        signature already recorded (in this transaction or before)."""
        cursor = self._write_cursor()
        if cursor.execute(INSERT_COUNTERSIGNATURE, (seq, consumer_sig, recorded_at)).rowcount == 1:
            return None
        row = cursor.execute(SELECT_COUNTERSIGNATURE, (seq,)).fetchone()
        return b"" if row is None else bytes(row[0])

    def put_merkle_root(self, hour: int, root: bytes, tracker_sig: bytes) -> None:
        if not root or not tracker_sig:
            raise LedgerStorageError("storage: PutMerkleRoot requires a root and a signature")
        try:
            self._write_connection().execute(
                "INSERT INTO merkle_roots (hour, root, tracker_sig) VALUES (?, ?, ?)",
                (hour, root, tracker_sig),
            )
        except sqlite3.IntegrityError:
            raise DuplicateMerkleRoot(f"storage: merkle root for hour {hour} already exists") from None

    def _backfill_transfer_refs(self) -> None:
        """Index refs of transfers written by a tracker without the transfer_refs table (e.g. the Go one)."""
        writer = self._write_connection()
        writer.execute("BEGIN IMMEDIATE")
        try:
            row = writer.execute(
                "SELECT value FROM side_table_state WHERE name = ?", (_REFS_WATERMARK,)
            ).fetchone()
            watermark = row[0] if row else 0
            writer.execute(
                "INSERT OR IGNORE INTO transfer_refs (ref, seq) SELECT ref, seq FROM entries"
                " WHERE seq > ? AND kind IN (?, ?) ORDER BY seq",
                (watermark, *_TRANSFER_KINDS),
            )
            writer.execute(
                "INSERT INTO side_table_state (name, value)"
                " VALUES (?, (SELECT COALESCE(MAX(seq), 0) FROM entries))"
                " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (_REFS_WATERMARK,),
            )
            writer.execute("COMMIT")
        except BaseException:
            if writer.in_transaction:
                writer.execute("ROLLBACK")
            raise

    # ---- reads (reader connection; caller serialises use of it) ------------------------------------------

    def read_connection(self) -> sqlite3.Connection:
        """The reader connection, for offline audits of side tables."""
        return self._read_connection()

    def _read_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise LedgerStorageError("storage: store is closed")
        return self._reader

    def _entry_query(self, where: str) -> str:
        if self._has_side_tables:
            return f"SELECT {_ENTRY_COLUMNS} FROM {_ENTRY_FROM} {where}"
        columns = _ENTRY_COLUMNS.replace("r.identity_id", "NULL")
        return f"SELECT {columns} FROM entries e {where}"

    def tip(self) -> tuple[int, bytes] | None:
        row = (
            self._read_connection()
            .execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1")
            .fetchone()
        )
        return None if row is None else (row[0], row[1])

    def row_by_seq(self, seq: int) -> EntryRow | None:
        row = self._read_connection().execute(self._entry_query("WHERE e.seq = ?"), (seq,)).fetchone()
        return None if row is None else _entry_row(row)

    def row_by_hash(self, entry_hash: bytes) -> EntryRow | None:
        row = self._read_connection().execute(self._entry_query("WHERE e.hash = ?"), (entry_hash,)).fetchone()
        return None if row is None else _entry_row(row)

    def rows_since(self, since_seq: int, limit: int) -> list[EntryRow]:
        """Entries with seq > since_seq in ascending seq order; limit <= 0 means no limit."""
        rows = self._read_connection().execute(
            self._entry_query("WHERE e.seq > ? ORDER BY e.seq LIMIT ?"),
            (since_seq, limit if limit > 0 else -1),
        )
        return [_entry_row(row) for row in rows]

    def balance(self, identity_id: bytes) -> BalanceRow | None:
        row = (
            self._read_connection()
            .execute(
                "SELECT identity_id, credits, last_seq, updated_at FROM balances WHERE identity_id = ?",
                (identity_id,),
            )
            .fetchone()
        )
        return None if row is None else BalanceRow(*row)

    def all_balances(self) -> list[BalanceRow]:
        rows = self._read_connection().execute(
            "SELECT identity_id, credits, last_seq, updated_at FROM balances ORDER BY identity_id"
        )
        return [BalanceRow(*row) for row in rows]

    def balance_with_tip(self, identity_id: bytes) -> BalanceWithTip:
        reader = self._read_connection()
        reader.execute("BEGIN")
        try:
            balance = self.balance(identity_id)
            tip = self.tip()
        finally:
            reader.execute("COMMIT")
        return BalanceWithTip(balance=balance, tip_seq=tip[0] if tip else 0, tip_hash=tip[1] if tip else None)

    def audit_rows_since(self, since_seq: int, limit: int) -> list[tuple[Any, ...]]:
        """Every column of entries with seq > since_seq (ascending) plus the transfer-in recipient, for the
        audit: (seq, prev_hash, hash, kind, consumer_id, seeder_id, model, input_tokens, output_tokens,
        cost_credits, timestamp, request_id, flags, ref, consumer_sig, seeder_sig, tracker_sig, canonical,
        recipient)."""
        recipient = "r.identity_id" if self._has_side_tables else "NULL"
        joined = _ENTRY_FROM if self._has_side_tables else "entries e"
        rows = self._read_connection().execute(
            "SELECT e.seq, e.prev_hash, e.hash, e.kind, e.consumer_id, e.seeder_id, e.model, e.input_tokens,"
            " e.output_tokens, e.cost_credits, e.timestamp, e.request_id, e.flags, e.ref, e.consumer_sig,"
            f" e.seeder_sig, e.tracker_sig, e.canonical, {recipient} FROM {joined}"
            " WHERE e.seq > ? ORDER BY e.seq LIMIT ?",
            (since_seq, limit if limit > 0 else -1),
        )
        return rows.fetchall()

    def projection_last_seq(self) -> int:
        row = self._read_connection().execute("SELECT COALESCE(MAX(last_seq), 0) FROM balances").fetchone()
        return int(row[0])

    def entry_count(self) -> int:
        return int(self._read_connection().execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def leaves_for_hour(self, hour: int) -> list[bytes]:
        rows = self._read_connection().execute(
            "SELECT hash FROM entries WHERE timestamp >= ? AND timestamp < ? ORDER BY seq",
            (hour * 3600, (hour + 1) * 3600),
        )
        return [row[0] for row in rows]

    def merkle_root(self, hour: int) -> tuple[bytes, bytes] | None:
        row = (
            self._read_connection()
            .execute("SELECT root, tracker_sig FROM merkle_roots WHERE hour = ?", (hour,))
            .fetchone()
        )
        return None if row is None else (row[0], row[1])
