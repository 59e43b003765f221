"""The `trio-tracker` command: one argparse tree, one module per command group."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from tracker.cli import (
    _admission_cmd,
    _config_cmd,
    _init_cmd,
    _ledger_cmd,
    _run_cmd,
    _version_cmd,
)
from tracker.cli._common import CliExit, CliParser, ExitCode, err

__all__ = ["build_parser", "main"]


def build_parser() -> CliParser:
    parser = CliParser(
        prog="trio-tracker",
        description="Regional tracker of the token-bay network (credit ledger, seeder registry, admission).",
    )
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=CliParser)
    for module in (_version_cmd, _init_cmd, _config_cmd, _run_cmd, _ledger_cmd, _admission_cmd):
        module.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return ExitCode.OK
    try:
        return int(handler(args))
    except CliExit as exit_request:
        if exit_request.message:
            err(exit_request.message)
        return exit_request.code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return ExitCode.ERROR


if __name__ == "__main__":
    sys.exit(main())
