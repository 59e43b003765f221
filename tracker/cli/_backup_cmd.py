"""`trio-tracker backup --config PATH --to DIR`: a verified online copy of the tracker's state."""

from __future__ import annotations

import argparse
import sys

from tracker.cli._common import CliExit, ExitCode

_DESCRIPTION = """Copy everything a tracker needs to come back, while it runs (or not), into DIR (new, or an
existing empty directory): the config file, the identity key, the TLS cert/key, the admission snapshots and
transaction log, and the ledger (SQLite online backup: the database as of one commit). The order is
snapshots, tlog, ledger: admission files never reflect a ledger entry the ledger copy lacks, and start-up
replays the ledger entries the tlog copy misses.

Then the copy is verified: SHA-256 of every file, the full ledger audit (as `ledger verify`) with the copied
key, tlog frames and snapshot CRCs, and that the admission files stay within the ledger copy's tip. Writes
SHA256SUMS (for `sha256sum -c`) and manifest.json (files, sizes, SHA-256, roles, source paths, ledger tip
seq/hash, tracker id, time, verification result). Damaged snapshots are left out (start-up would skip them
too) and listed in the manifest. Progress on stderr; one summary line on stdout. Restore: see
docs/operations.md ("Backup and restore")."""

_EXIT_CODES = """exit codes:
  0  the backup was written and verified
  1  anything else: --config or --to missing, DIR not empty, bad identity key, an I/O error while copying
     (the partial copy is removed), or verification failed (files and manifest.json with "verified": false
     and the problems are kept for inspection)
  2  config parse error
  3  config validation error"""


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "backup",
        help="copy the ledger, admission files, identity key and config to DIR (online, verified)",
        description=_DESCRIPTION,
        epilog=_EXIT_CODES,
    )
    parser.add_argument("--config", metavar="PATH", help="the tracker YAML config (required)")
    parser.add_argument("--to", metavar="DIR", help="the backup directory: new or empty (required)")
    parser.set_defaults(handler=_backup)


def _backup(args: argparse.Namespace) -> int:
    from tracker.backup import BackupError, take_backup
    from tracker.cli._config_loading import load_config_for_cli

    if not args.to:
        raise CliExit(ExitCode.ERROR, "error: --to is required")
    config = load_config_for_cli(args.config)

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        manifest = take_backup(config, args.config, args.to, progress)
    except BackupError as error:
        raise CliExit(ExitCode.ERROR, f"error: backup: {error}") from None
    if not manifest.verified:
        for problem in manifest.problems:
            print(f"problem: {problem}", file=sys.stderr)
        print(f"FAILED: backup {args.to}: verification found {len(manifest.problems)} problem(s)")
        return ExitCode.ERROR
    for skipped in manifest.skipped:
        print(f"note: left out {skipped['source']}: {skipped['reason']}", file=sys.stderr)
    print(
        f"OK: backup {args.to}: {len(manifest.files)} files, {manifest.total_bytes} bytes, ledger tip seq "
        f"{manifest.ledger_tip_seq}, tracker id {manifest.tracker_id}, verified"
    )
    return ExitCode.OK
