"""`trio-tracker version`."""

from __future__ import annotations

import argparse

from tracker import __version__
from tracker.cli._common import ExitCode


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "version", help="print the version and exit", description="Print the version."
    )
    parser.set_defaults(handler=_version)


def _version(args: argparse.Namespace) -> int:
    print(f"trio-tracker {__version__}")
    return ExitCode.OK
