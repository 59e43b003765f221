"""`trio-tracker admission inspect`: offline, read-only summary of the admission tlog and snapshots."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from tracker._go import format_go_time, unix_to_datetime
from tracker._regular_file import NotRegularFileError, check_regular_file
from tracker.cli._common import CliExit, CliParser, ExitCode

if TYPE_CHECKING:
    from tracker.admission import PersistenceInspection

_INSPECT_EXIT_CODES = """exit codes:
  0  every file read is sound (a torn final frame of the active tlog is the normal end after a crash)
  1  other error: --config missing or unreadable, a file that cannot be read or is not a regular
     file (a FIFO, a device, a directory), I/O error
  2  config parse error
  3  config validation error
  4  damage found: a damaged frame (bad length or CRC mismatch) anywhere but in the final one, a truncated
     rotated file, a file that is not a tlog, a bad payload, an unreadable snapshot, or a damaged file an
     earlier start-up quarantined (<name>.damaged-<time>; exit 0 again once it is dealt with and removed)"""


def register(subcommands: argparse._SubParsersAction) -> None:
    admission_parser: CliParser = subcommands.add_parser(
        "admission",
        help="inspect the admission tlog and snapshots (offline)",
        description="Offline tools over the admission persistence files named in the config.",
    )
    actions = admission_parser.add_subparsers(
        title="subcommands", metavar="SUBCOMMAND", parser_class=CliParser
    )
    admission_parser.set_defaults(handler=lambda args: _print_help(admission_parser))

    inspect_parser = actions.add_parser(
        "inspect",
        help="summarise the tlog and snapshots; exit 4 if damaged",
        description=(
            "Read the admission transaction log (admission.tlog_path: rotated files, then the active one)\n"
            "and the snapshots (admission.snapshot_path_prefix.<seq>) without changing them, and print for\n"
            "each tlog file the record count per kind, the seq and time ranges, a torn tail and the offset\n"
            "of a corrupt frame; for each snapshot its seq, time, consumer and seeder counts or why it\n"
            "cannot be loaded. --tlog FILE or --snapshot FILE inspects one file instead (then --config is\n"
            "optional). tlog seqs tie records to the ledger: ledger entry N is written with seq N << 20."
        ),
        epilog=_INSPECT_EXIT_CODES,
    )
    inspect_parser.add_argument("--config", metavar="PATH", help="the YAML config file")
    target = inspect_parser.add_mutually_exclusive_group()
    target.add_argument("--tlog", metavar="FILE", help="inspect this tlog file only")
    target.add_argument("--snapshot", metavar="FILE", help="inspect this snapshot file only")
    inspect_parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    inspect_parser.add_argument("--records", action="store_true", help="also list every tlog record")
    inspect_parser.set_defaults(handler=_inspect)


def _print_help(parser: CliParser) -> int:
    parser.print_help()
    return ExitCode.OK


def _inspect(args: argparse.Namespace) -> int:
    from tracker.admission import inspect_files

    try:
        if args.tlog:
            check_regular_file(args.tlog)  # a FIFO or device would hang the read below
            found = inspect_files(tlog_file=Path(args.tlog), with_records=args.records)
        elif args.snapshot:
            check_regular_file(args.snapshot)
            found = inspect_files(snapshot_file=Path(args.snapshot))
        else:
            from tracker.cli._config_loading import load_config_for_cli

            if not args.config:
                raise CliExit(
                    ExitCode.ERROR, "error: --config is required (or give --tlog FILE / --snapshot FILE)"
                )
            config = load_config_for_cli(args.config)
            for path in _configured_files(config.admission.tlog_path, config.admission.snapshot_path_prefix):
                check_regular_file(path)  # a FIFO or device would hang the reads below
            found = inspect_files(
                tlog_path=config.admission.tlog_path,
                snapshot_prefix=config.admission.snapshot_path_prefix,
                with_records=args.records,
            )
    except IsADirectoryError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error.filename}: is a directory") from None
    except NotRegularFileError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error.filename}: {error.strerror}") from None
    except OSError as error:
        reason = error.strerror or str(error)
        raise CliExit(ExitCode.ERROR, f"error: read {error.filename or ''}: {reason}") from None

    if args.json:
        print(json.dumps(found.to_json(), indent=2))
    else:
        _print_text(found, args)
    return ExitCode.DAMAGED if found.problems else ExitCode.OK


def _configured_files(tlog_path: str, snapshot_prefix: str) -> list[str]:
    """The tlog and every `<base>.<n>` rotated tlog or snapshot beside the configured bases."""
    found = [tlog_path] if tlog_path and os.path.lexists(tlog_path) else []
    for base in (tlog_path, snapshot_prefix):
        if not base:
            continue
        head = Path(base).name + "."
        try:
            entries = list(os.scandir(Path(base).parent))
        except OSError:
            continue
        found.extend(
            entry.path
            for entry in entries
            if entry.name.startswith(head) and entry.name[len(head) :].isdigit()
        )
    return found


def _time(ts: int | None) -> str:
    if ts is None:
        return "-"
    moment = unix_to_datetime(ts)
    return str(ts) if moment is None else format_go_time(moment)


def _print_text(found: PersistenceInspection, args: argparse.Namespace) -> None:
    tlogs, snapshots, aside, problems = found.tlogs, found.snapshots, found.set_aside, found.problems
    if not args.tlog and not args.snapshot and not tlogs:
        print("tlog: no files")
    for item in tlogs:
        seq_range = "-" if item.seq_min is None else f"{item.seq_min}..{item.seq_max}"
        ledger = "" if item.ledger_seq_max is None else f" (ledger seq <= {item.ledger_seq_max})"
        print(
            f"tlog {item.path}: {item.status}, {item.records} records, {item.size} bytes, "
            f"seq {seq_range}{ledger}, time {_time(item.ts_min)}..{_time(item.ts_max)}"
        )
        if item.counts:
            print("  " + ", ".join(f"{name} {count}" for name, count in sorted(item.counts.items())))
        if item.not_a_tlog:
            print("  not an admission tlog: not one valid frame")
        else:
            for start, end in item.damage:
                print(
                    f"  damaged bytes at offset {start}..{end} (bad frame length or CRC mismatch); "
                    "the valid frames after them are read"
                )
            if item.lost_local_records:
                print(f"  at least {item.lost_local_records} local record(s) lost in the damage")
        if item.torn_tail_bytes:
            note = "cut on the next start-up" if item.active else "data after it is lost"
            print(f"  torn frame at offset {item.good_end} ({item.torn_tail_bytes} bytes; {note})")
        for error in item.payload_errors:
            print(f"  bad payload: seq {error['seq']}: {error['error']}")
        if item.seq_regressions:
            print(f"  {item.seq_regressions} records with a seq not above the one before")
        for line in item.record_lines:
            print("  " + json.dumps(line, separators=(",", ":")))
    if not args.tlog and not args.snapshot and not snapshots:
        print("snapshots: none")
    for item in snapshots:
        if item.error is not None and item.seq is None:
            print(f"snapshot {item.path}: DAMAGED, {item.size} bytes: {item.error}")
            continue
        status = "DAMAGED: " + item.error if item.error else "ok"
        print(
            f"snapshot {item.path}: {status}, seq {item.seq} (ledger seq {item.ledger_seq}), "
            f"time {_time(item.ts)}, {item.consumers} consumers, {item.seeders} seeders, {item.size} bytes"
        )
    for path in aside:
        print(f"quarantined by an earlier start-up (damaged; kept; remove once dealt with): {path}")
    for path in found.torn_tails:
        print(f"torn tail cut by an earlier start-up (kept): {path}")
    if problems:
        print(f"DAMAGED: {len(problems)} file(s) with damage")
    else:
        print(f"OK: {len(tlogs)} tlog file(s), {len(snapshots)} snapshot(s)")
