"""`trio-tracker ledger verify|balance|show`: offline tools over the ledger's SQLite file."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from tracker.cli._common import CliExit, CliParser, ExitCode
from tracker.cli._config_loading import load_config_for_cli
from tracker.identity import IdentityKeyError, TrackerIdentity, load_identity

_VERIFY_EXIT_CODES = """exit codes:
  0  the ledger is sound
  1  other error: --config missing or unreadable, bad identity key, no ledger file, I/O error
  2  config parse error
  3  config validation error
  4  the ledger is damaged: SQLite calls the file corrupt, its schema is not the ledger's, or an entry
     or balance is wrong (the first bad seq and what is wrong are printed)"""

_BALANCE_EXIT_CODES = """exit codes:
  0  the signed balance was printed
  1  other error: bad ID, --config missing or unreadable, bad identity key, no ledger file, I/O error
  2  config parse error
  3  config validation error"""

_SHOW_EXIT_CODES = """exit codes:
  0  the entry was printed
  1  other error: no entry with that seq, --config missing or unreadable, no ledger file, I/O error
  2  config parse error
  3  config validation error"""

_PROGRESS_EVERY = 10_000


def register(subcommands: argparse._SubParsersAction) -> None:
    ledger_parser: CliParser = subcommands.add_parser(
        "ledger",
        help="check the credit ledger or read a balance (offline)",
        description="Offline tools over the ledger database named by ledger.storage_path in the config.",
    )
    actions = ledger_parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND", parser_class=CliParser)
    ledger_parser.set_defaults(handler=lambda args: _print_help(ledger_parser))

    verify_parser = actions.add_parser(
        "verify",
        help="walk the whole chain and check it; exit 4 if damaged",
        description=(
            "Open the ledger read-only (immutable when no -wal file is beside it: nothing is created and\n"
            "a read-only filesystem is fine), check its schema, then every entry in seq order: seqs\n"
            "contiguous from 1, each prev_hash equal to the previous entry's hash, the stored hash equal\n"
            "to SHA-256 of the stored canonical body, the indexed columns equal to the signed body, the\n"
            "body valid, the tracker signature valid for the key in server.identity_key_path; then replay\n"
            "the chain (with the transfer-in recipient table) and compare it with the stored balances.\n"
            "Prints progress on stderr for long chains and a one-line summary on stdout: `OK: …` or\n"
            "`DAMAGED: … seq=N: …`. A usage entry whose consumer is its seeder (a Go tracker accepts\n"
            "them) moves that balance by +cost, as the Go tracker's last upsert does.\n"
            "Brokered usage entries: the seeder's signature is re-checked against its usage preimage and\n"
            "every recorded consumer countersignature against the entry body, with the keys of the\n"
            "identity table; the summary counts them."
        ),
        epilog=_VERIFY_EXIT_CODES,
    )
    verify_parser.add_argument("--config", metavar="PATH", help="the YAML config file (required)")
    verify_parser.set_defaults(handler=_verify)

    balance_parser = actions.add_parser(
        "balance",
        help="print the signed balance snapshot of an identity as JSON",
        description=(
            "Print a tracker-signed balance snapshot (valid 600 s) of identity ID as one JSON object:\n"
            "identity_id, credits, chain_tip_seq, chain_tip_hash, issued_at, expires_at, tracker_sig and\n"
            "snapshot (hex of the SignedBalanceSnapshot wire bytes). An identity the ledger has never\n"
            "seen has credits 0. The database is opened read-only."
        ),
        epilog=_BALANCE_EXIT_CODES,
    )
    balance_parser.add_argument("--config", metavar="PATH", help="the YAML config file (required)")
    balance_parser.add_argument("identity", metavar="ID", help="identity id: 64 hex characters (32 bytes)")
    balance_parser.set_defaults(handler=_balance)
    _register_show(actions)


def _register_show(actions: argparse._SubParsersAction) -> None:
    show_parser = actions.add_parser(
        "show",
        help="print one entry (with its peer signatures' state) as JSON",
        description=(
            "Print the entry at seq N as one JSON object: its body fields (ids, hashes and signatures\n"
            "in hex), its hash, and for a brokered usage entry the seeder's report id and whether the\n"
            "seeder's usage signature and the consumer's countersignature verify with the keys of the\n"
            'identity table (countersignature: "valid", "invalid", "missing" or "unknown_key").\n'
            "Read-only."
        ),
        epilog=_SHOW_EXIT_CODES,
    )
    show_parser.add_argument("--config", metavar="PATH", help="the YAML config file (required)")
    show_parser.add_argument("--seq", metavar="N", type=int, required=True, help="the entry's seq")
    show_parser.set_defaults(handler=_show)


def _show(args: argparse.Namespace) -> int:
    import json

    from tracker.ledger import EntryBody, describe_entry

    config = load_config_for_cli(args.config)
    store = _open_store(config.ledger.storage_path)
    try:
        row = store.row_by_seq(args.seq)
        if row is None:
            raise CliExit(ExitCode.ERROR, f"error: no entry with seq {args.seq}")
        body = EntryBody.FromString(row.canonical)
        described = describe_entry(
            store.read_connection(), row.seq, row.hash, body, row.canonical, row.seeder_sig
        )
        described["tracker_sig"] = row.tracker_sig.hex()
    finally:
        store.close()
    print(json.dumps(described, sort_keys=True))
    return ExitCode.OK


def _print_help(parser: CliParser) -> int:
    parser.print_help()
    return ExitCode.OK


def _load_identity(path: str) -> TrackerIdentity:
    try:
        return load_identity(path)
    except IdentityKeyError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None


def _open_store(path: str):  # -> LedgerStore
    from tracker.ledger import LedgerStorageError, LedgerStore

    try:
        return LedgerStore.open(path, read_only=True)
    except LedgerStorageError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None


def _structural_damage(path: str) -> str | None:
    """What makes the file at `path` not a readable ledger (SQLite calls it corrupt, the schema is not the
    ledger's), or None; a missing or unopenable file is left to `_open_store` (exit 1)."""
    from tracker._regular_file import NotRegularFileError, check_regular_file
    from tracker.ledger import schema_problems
    from tracker.ledger._store import connect_read_only

    try:
        check_regular_file(path)
    except NotRegularFileError as error:
        raise CliExit(ExitCode.ERROR, f"error: ledger {path}: {error.strerror}") from None
    except OSError:
        return None  # missing, a directory, permission: `_open_store` says so
    try:
        connection = connect_read_only(Path(path))
    except sqlite3.OperationalError as error:
        raise CliExit(ExitCode.ERROR, f"error: cannot open ledger {path}: {error}") from None
    try:
        problems = schema_problems(connection)
    except sqlite3.OperationalError as error:
        raise CliExit(ExitCode.ERROR, f"error: reading ledger {path}: {error}") from None
    except sqlite3.DatabaseError as error:  # not a database, malformed schema, corrupt page
        return f"the SQLite file is corrupt: {error}"
    finally:
        connection.close()
    if problems:
        return "not a ledger schema: " + "; ".join(problems)
    return None


def _verify(args: argparse.Namespace) -> int:
    from tracker.ledger import verify_ledger

    config = load_config_for_cli(args.config)
    identity = _load_identity(config.server.identity_key_path)
    path = config.ledger.storage_path
    damage = _structural_damage(path)
    if damage is not None:
        print(f"DAMAGED: ledger {path}: {damage}")
        return ExitCode.DAMAGED
    store = _open_store(path)

    def progress(checked: int, total: int) -> None:
        print(f"ledger verify: {checked}/{total} entries checked", file=sys.stderr, flush=True)

    try:
        report = verify_ledger(store, identity.public_key, progress=progress, progress_every=_PROGRESS_EVERY)
    except sqlite3.OperationalError as error:
        raise CliExit(ExitCode.ERROR, f"error: reading ledger {path}: {error}") from None
    except sqlite3.DatabaseError as error:
        print(f"DAMAGED: ledger {path}: the SQLite file is corrupt: {error}")
        return ExitCode.DAMAGED
    finally:
        store.close()
    if report.damage is not None:
        print(
            f"DAMAGED: ledger {path}: first bad seq={report.damage.seq}: {report.damage.reason} "
            f"({report.entries_checked} entries before it are sound)"
        )
        if report.damage.reason.startswith("tracker signature invalid"):
            print(
                f"hint: check that {config.server.identity_key_path} is the key that signed this ledger",
                file=sys.stderr,
            )
        return ExitCode.DAMAGED
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if report.tip_seq == 0:
        print(f"OK: ledger {path}: empty chain (0 entries), {report.balances_checked} balances")
        return ExitCode.OK
    assert report.tip_hash is not None
    balances = (
        f"{report.balances_checked} balances match the chain replay"
        if not report.notes
        else "balance projection not checked"
    )
    peers = report.peer_signatures
    print(
        f"OK: ledger {path}: {report.entries_checked} entries, tip seq {report.tip_seq} "
        f"hash {report.tip_hash.hex()}, chain sound; {balances}; "
        f"{peers.seeder_signatures_checked} seeder usage signatures and "
        f"{peers.countersignatures_checked} consumer countersignatures valid, "
        f"{peers.awaiting_countersignature} awaiting countersignature"
    )
    return ExitCode.OK


def _parse_identity_id(text: str) -> bytes:
    try:
        identity_id = bytes.fromhex(text)
    except ValueError:
        raise CliExit(ExitCode.ERROR, f"error: bad identity id {text!r}: not hex") from None
    if len(identity_id) != 32:
        raise CliExit(
            ExitCode.ERROR,
            f"error: bad identity id {text!r}: expected 32 bytes (64 hex characters), got {len(identity_id)}",
        )
    return identity_id


def _balance(args: argparse.Namespace) -> int:
    from tracker.ledger import Ledger, LedgerError

    identity_id = _parse_identity_id(args.identity)
    config = load_config_for_cli(args.config)
    identity = _load_identity(config.server.identity_key_path)
    path = config.ledger.storage_path
    store = _open_store(path)
    try:
        ledger = Ledger(store, identity)
        snapshot = ledger.signed_balance(identity_id)
    except (LedgerError, sqlite3.Error) as error:
        raise CliExit(ExitCode.ERROR, f"error: reading ledger {path}: {error}") from None
    finally:
        store.close()
    body = snapshot.body
    document = {
        "identity_id": body.identity_id.hex(),
        "credits": body.credits,
        "chain_tip_seq": body.chain_tip_seq,
        "chain_tip_hash": body.chain_tip_hash.hex(),
        "issued_at": body.issued_at,
        "expires_at": body.expires_at,
        "tracker_sig": snapshot.tracker_sig.hex(),
        "snapshot": snapshot.SerializeToString(deterministic=True).hex(),
    }
    print(json.dumps(document))
    return ExitCode.OK
