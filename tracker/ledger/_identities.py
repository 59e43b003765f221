"""The durable identity table: every enrolled peer under its canonical id (SHA-256 of its certificate's SPKI)
and its raw-pub id (SHA-256 of the raw Ed25519 key), with its public key, role, account fingerprint and
enrolment time. A side table in the ledger database (a Go tracker ignores it), so `ledger verify` and the
settlement path can check peer signatures with stored keys.

It has its own SQLite connection to the ledger file (WAL: readers and this writer never block the ledger's
appends for long; busy_timeout covers the rest). "Was a starter grant already issued to X?" is answered from
the entries table itself (its consumer index), so a crash between the grant and the enrolment row can never
lead to a second grant.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass

from tracker.ledger._errors import LedgerStorageError

IDENTITY_TABLE = """
CREATE TABLE IF NOT EXISTS peer_identities (
    canonical_id        BLOB    PRIMARY KEY,
    raw_pub_id          BLOB    NOT NULL UNIQUE,
    public_key          BLOB    NOT NULL,
    role                INTEGER NOT NULL,
    account_fingerprint BLOB    NOT NULL,
    enrolled_at         INTEGER NOT NULL
);
"""
_STARTER_GRANT_KIND = 4
_BUSY_TIMEOUT_MS = 5000
_COLUMNS = "canonical_id, raw_pub_id, public_key, role, account_fingerprint, enrolled_at"


@dataclass(frozen=True, slots=True)
class PeerIdentity:
    canonical_id: bytes
    raw_pub_id: bytes
    public_key: bytes
    role: int
    account_fingerprint: bytes
    enrolled_at: int


class IdentityStore:
    """Open with `IdentityStore.open(ledger_path)` after the ledger has created the file; `close()` when done.
    Thread-safe (one lock around the connection); blocking: call from a worker thread under Trio."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, synchronous: str = "NORMAL") -> IdentityStore:
        try:
            connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            connection.execute(f"PRAGMA synchronous = {synchronous}")
            connection.executescript(IDENTITY_TABLE)
        except sqlite3.Error as error:
            raise LedgerStorageError(f"storage: identity table in {path}: {error}") from error
        return cls(connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def record(self, identity: PeerIdentity) -> PeerIdentity:
        """Insert `identity` unless its canonical id is already enrolled; returns the stored row (the first
        enrolment wins: a repeat never changes it)."""
        with self._lock:
            try:
                self._connection.execute(
                    f"INSERT OR IGNORE INTO peer_identities ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        identity.canonical_id,
                        identity.raw_pub_id,
                        identity.public_key,
                        identity.role,
                        identity.account_fingerprint,
                        identity.enrolled_at,
                    ),
                )
            except sqlite3.Error as error:
                raise LedgerStorageError(f"storage: recording identity: {error}") from error
            stored = self._lookup(identity.canonical_id)
        assert stored is not None
        return stored

    def lookup(self, identity_id: bytes) -> PeerIdentity | None:
        """The enrolled identity whose canonical id or raw-pub id is `identity_id`."""
        with self._lock:
            return self._lookup(identity_id)

    def _lookup(self, identity_id: bytes) -> PeerIdentity | None:
        try:
            row = self._connection.execute(
                f"SELECT {_COLUMNS} FROM peer_identities WHERE canonical_id = ? OR raw_pub_id = ?",
                (identity_id, identity_id),
            ).fetchone()
        except sqlite3.Error as error:
            raise LedgerStorageError(f"storage: reading identity: {error}") from error
        return PeerIdentity(*row) if row is not None else None

    def starter_grant_seq(self, identity_id: bytes) -> int | None:
        """Seq of the first STARTER_GRANT entry credited to `identity_id`, or None."""
        with self._lock:
            try:
                row = self._connection.execute(
                    "SELECT seq FROM entries WHERE consumer_id = ? AND kind = ? ORDER BY seq LIMIT 1",
                    (identity_id, _STARTER_GRANT_KIND),
                ).fetchone()
            except sqlite3.Error as error:
                raise LedgerStorageError(f"storage: reading starter grants: {error}") from error
        return row[0] if row is not None else None
