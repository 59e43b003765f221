"""Settlement side tables in the ledger database (a Go tracker ignores them; the chain is never rewritten):

    usage_reports      seq of a brokered USAGE entry → the seeder's own report id, written in the entry's
                       transaction, so a repeated report is recognised after any crash, and the seeder's
                       signature (stored in the entry) can be re-verified against its usage preimage
    countersignatures  seq of a USAGE entry → the consumer's signature over the entry's exact body bytes,
                       recorded when the consumer settles (SETTLE) by the ledger's writer, in its group
                       commit (`AsyncLedger.record_countersignature`)

`SettlementStore` reads both tables through its own connection to the ledger file (WAL), like the identity
table; it writes nothing. Blocking: call from a worker thread under Trio.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from dataclasses import dataclass

from tracker.ledger._errors import LedgerStorageError

SETTLEMENT_TABLES = """
CREATE TABLE IF NOT EXISTS usage_reports (
    seq       INTEGER PRIMARY KEY,
    seeder_id BLOB    NOT NULL,
    report_id BLOB    NOT NULL,
    UNIQUE (seeder_id, report_id)
);
CREATE TABLE IF NOT EXISTS countersignatures (
    seq          INTEGER PRIMARY KEY,
    consumer_sig BLOB    NOT NULL,
    recorded_at  INTEGER NOT NULL
);
"""
SELECT_USAGE_REPORT = "SELECT seq FROM usage_reports WHERE seeder_id = ? AND report_id = ?"
INSERT_USAGE_REPORT = "INSERT INTO usage_reports (seq, seeder_id, report_id) VALUES (?, ?, ?)"
INSERT_COUNTERSIGNATURE = (
    "INSERT OR IGNORE INTO countersignatures (seq, consumer_sig, recorded_at) VALUES (?, ?, ?)"
)
SELECT_COUNTERSIGNATURE = "SELECT consumer_sig FROM countersignatures WHERE seq = ?"
_BUSY_TIMEOUT_MS = 5000


@dataclass(frozen=True, slots=True)
class Countersignature:
    seq: int
    consumer_sig: bytes
    recorded_at: int


class CountersignatureConflict(LedgerStorageError):
    """A different countersignature is already recorded for this entry."""


class SettlementStore:
    """Open with `SettlementStore.open(ledger_path)` after the ledger created the file; `close()` when done.
    Thread-safe (one lock around the connection). Reads only: countersignatures are written by the ledger's
    writer (synchronous=FULL, so a recorded countersignature survives a power cut and a SETTLE OK means
    durable)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> SettlementStore:
        try:
            connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            connection.execute("PRAGMA synchronous = FULL")
            connection.executescript(SETTLEMENT_TABLES)
        except sqlite3.Error as error:
            raise LedgerStorageError(f"storage: settlement tables in {path}: {error}") from error
        return cls(connection)

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def _query(self, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        with self._lock:
            try:
                row: tuple[object, ...] | None = self._connection.execute(sql, params).fetchone()
            except sqlite3.Error as error:
                raise LedgerStorageError(f"storage: settlement tables: {error}") from error
        return row

    def usage_report_seq(self, seeder_id: bytes, report_id: bytes) -> int | None:
        """Seq of the USAGE entry settled for this seeder's report id, or None."""
        row = self._query(SELECT_USAGE_REPORT, (seeder_id, report_id))
        return None if row is None else int(row[0])  # type: ignore[call-overload]

    def countersignature(self, seq: int) -> Countersignature | None:
        row = self._query(
            "SELECT seq, consumer_sig, recorded_at FROM countersignatures WHERE seq = ?", (seq,)
        )
        if row is None:
            return None
        return Countersignature(int(row[0]), bytes(row[1]), int(row[2]))  # type: ignore[call-overload]


def read_settlement_rows(
    connection: sqlite3.Connection,
) -> tuple[dict[int, bytes], dict[int, bytes]]:
    """(seq → seeder report id, seq → consumer countersignature) of a ledger database; empty maps when the
    tables do not exist (a Go-written file)."""
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    reports: dict[int, bytes] = {}
    countersigs: dict[int, bytes] = {}
    if "usage_reports" in tables:
        reports = {
            int(seq): bytes(rid)
            for seq, rid in connection.execute("SELECT seq, report_id FROM usage_reports")
        }
    if "countersignatures" in tables:
        countersigs = {
            int(seq): bytes(sig)
            for seq, sig in connection.execute("SELECT seq, consumer_sig FROM countersignatures")
        }
    return reports, countersigs
