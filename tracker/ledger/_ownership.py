"""Is the SQLite file at a path our ledger, and is its tip entry intact and signed by this tracker? Read-only
checks (the file is opened as `LedgerStore` opens it for offline tools: immutable, or `mode=ro` beside a
write-ahead log) that never change a byte: `ledger verify` reports a schema that is not ours as damage, and
`run` refuses to serve such a file, a damaged tip or a tip signed by another key.
"""

from __future__ import annotations

import sqlite3
from functools import cache
from pathlib import Path

from google.protobuf.message import DecodeError

from tracker._proto.ledger_pb2 import EntryBody
from tracker.ledger._schema import GO_TABLES, SCHEMA_V1, SCHEMA_VERSION, SIDE_TABLE_NAMES, SIDE_TABLES
from tracker.ledger._store import connect_read_only
from tracker.ledger._wire import hash_canonical, verify_signature


class LedgerNotOursError(Exception):
    """The ledger file cannot be served by this tracker; the message is one line naming the file and the fix.
    `reason` is `foreign` (not a ledger schema), `damaged` (the tip does not recompute, or SQLite calls the
    file corrupt) or `other-key` (the tip is not signed by this tracker's identity)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _columns(connection: sqlite3.Connection, table: str) -> list[tuple[str, str, int, int]]:
    """(name, declared type, not null, primary key position) of each column, in order."""
    rows = connection.execute(f'PRAGMA table_info("{table}")').fetchall()
    return [(row[1], row[2].upper(), row[3], row[5]) for row in rows]


@cache
def _expected_columns() -> dict[str, list[tuple[str, str, int, int]]]:
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(SCHEMA_V1 + SIDE_TABLES)
        return {table: _columns(connection, table) for table in (*GO_TABLES, *SIDE_TABLE_NAMES)}
    finally:
        connection.close()


def schema_problems(connection: sqlite3.Connection) -> list[str]:
    """What differs from the ledger schema (v1 tables required, our side tables optional, nothing else);
    empty for a ledger written by us or by the Go tracker."""
    expected = _expected_columns()
    tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    problems: list[str] = []
    if not tables & set(GO_TABLES):
        problems.append("none of the ledger's tables")
    else:
        for table in (*GO_TABLES, *SIDE_TABLE_NAMES):
            if table not in tables:
                if table in GO_TABLES:
                    problems.append(f"no {table} table")
                continue
            have = _columns(connection, table)
            if have != expected[table]:
                names = ", ".join(column[0] for column in have) or "none"
                problems.append(f"table {table} has columns ({names}), not the ledger's")
    foreign = sorted(table for table in tables if table not in expected and not table.startswith("sqlite_"))
    if foreign:
        problems.append("tables that are not a ledger's: " + ", ".join(foreign[:5]))
    if "schema_version" in tables and not problems:
        versions = [row[0] for row in connection.execute("SELECT version FROM schema_version")]
        if versions != [SCHEMA_VERSION]:
            problems.append(f"schema_version holds {versions}, this tracker reads version {SCHEMA_VERSION}")
    return problems


def _tip_problem(connection: sqlite3.Connection, public_key: bytes) -> tuple[str, str] | None:
    row = connection.execute(
        "SELECT seq, hash, canonical, tracker_sig FROM entries ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    seq, stored_hash, canonical, tracker_sig = row
    if not isinstance(canonical, bytes) or hash_canonical(canonical) != stored_hash:
        return "damaged", f"its tip entry seq={seq} does not hash to its stored hash"
    body = EntryBody()
    try:
        body.ParseFromString(canonical)
    except DecodeError:
        return "damaged", f"its tip entry seq={seq} has a body that does not decode"
    if body.seq != seq:
        return "damaged", f"its tip entry seq={seq} has body seq={body.seq}"
    if not verify_signature(public_key, canonical, tracker_sig or b""):
        return "other-key", f"its tip entry seq={seq} is not signed by this tracker's identity key"
    return None


def check_ledger_is_ours(path: str | Path, public_key: bytes, key_path: str) -> None:
    """Raise LedgerNotOursError unless the existing file at `path` has the ledger schema and its tip entry (if
    any) recomputes and verifies with `public_key`. OSError/LedgerStorageError of the open propagate."""
    try:
        connection = connect_read_only(Path(path))
    except sqlite3.DatabaseError as error:
        raise _damaged(path, f"SQLite cannot read it ({error})") from None
    try:
        problems = schema_problems(connection)
        if problems:
            raise LedgerNotOursError(
                "foreign",
                f"{path} is not a trio-tracker ledger ({'; '.join(problems)}); point "
                "ledger.storage_path at this tracker's ledger (the file was left unchanged)",
            )
        connection.text_factory = bytes  # a damaged row may hold TEXT where a BLOB belongs
        problem = _tip_problem(connection, public_key)
    except sqlite3.DatabaseError as error:
        raise _damaged(path, f"SQLite cannot read it ({error})") from None
    finally:
        connection.close()
    if problem is None:
        return
    reason, detail = problem
    if reason == "other-key":
        raise LedgerNotOursError(
            reason,
            f"{path}: {detail} ({key_path}); use the key that wrote this ledger, or restore this "
            "tracker's ledger from a backup (`trio-tracker ledger verify` checks every entry)",
        )
    raise _damaged(path, detail)


def _damaged(path: str | Path, detail: str) -> LedgerNotOursError:
    return LedgerNotOursError(
        "damaged",
        f"{path} is damaged: {detail}; run `trio-tracker ledger verify` and restore the ledger from a backup",
    )
