"""Shared pieces of the command line: exit codes, the argument parser, one-line error reporting."""

from __future__ import annotations

import argparse
import sys
from enum import IntEnum
from typing import NoReturn


class ExitCode(IntEnum):
    """Process exit codes; the same meaning for every command."""

    OK = 0
    ERROR = 1  # I/O, missing flag or file, bad key file, port in use, any other failure
    PARSE_ERROR = 2  # the config file is not valid YAML for our schema
    VALIDATION_ERROR = 3  # the config parsed but breaks a validation rule
    DAMAGED = 4  # an offline check (ledger verify, admission inspect) found damage


EXIT_CODES_HELP = """exit codes:
  0  success
  1  other error (I/O, missing flag or file, bad identity key, port in use)
  2  config parse error
  3  config validation error
  4  damage found (ledger verify, admission inspect)"""


class CliExit(Exception):
    """Raised by command code to end the process with `code` after printing `message` on stderr."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message or "")
        self.code = int(code)
        self.message = message


class CliParser(argparse.ArgumentParser):
    """ArgumentParser that reports usage errors as one line and exit code 1 (argparse's 2 means
    "config parse error" here)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        kwargs.setdefault("epilog", EXIT_CODES_HELP)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see '{self.prog} --help')", file=sys.stderr)
        raise SystemExit(ExitCode.ERROR)


def err(message: str) -> None:
    """Print one line for the operator on stderr."""
    print(message, file=sys.stderr, flush=True)
