"""The `trio-tracker` command: one argparse tree, one module per command group.

Termination signals are taken over (`_signals`) before anything else is imported: the command modules take a
few hundred milliseconds to import, and a SIGTERM in that time must end the command with 143, not a
traceback. So this module imports nothing else at its top.
"""

from __future__ import annotations

from tracker.cli._signals import install_early_signal_handlers

install_early_signal_handlers()

from typing import TYPE_CHECKING  # noqa: E402 - after the handlers, on purpose

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tracker.cli._common import CliParser

__all__ = ["build_parser", "main"]


def build_parser() -> CliParser:
    from tracker import __version__
    from tracker.cli import (
        _admission_cmd,
        _backup_cmd,
        _completion_cmd,
        _config_cmd,
        _init_cmd,
        _ledger_cmd,
        _peer_cmd,
        _run_cmd,
        _version_cmd,
    )
    from tracker.cli._common import CliParser

    parser = CliParser(
        prog="trio-tracker",
        description="Regional tracker of the token-bay network (credit ledger, seeder registry, admission).",
    )
    parser.add_argument("--version", action="version", version=f"trio-tracker {__version__}")
    subcommands = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=CliParser)
    for module in (
        _version_cmd,
        _init_cmd,
        _config_cmd,
        _run_cmd,
        _ledger_cmd,
        _admission_cmd,
        _backup_cmd,
        _completion_cmd,
        _peer_cmd,
    ):
        module.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from tracker.cli._signals import (
        arm_signal_handlers,
        ignore_termination_signals,
        interrupted_exit_code,
        interrupted_signal_name,
    )

    try:
        arm_signal_handlers()
        from tracker.cli._common import CliExit, ExitCode, err

        try:
            parser = build_parser()
            args = parser.parse_args(argv)
            handler = getattr(args, "handler", None)
            if handler is None:
                parser.print_help()
                return ExitCode.OK
            return int(handler(args))
        except CliExit as exit_request:
            if exit_request.message:
                err(exit_request.message)
            return exit_request.code
        except BrokenPipeError:
            return ExitCode.ERROR
    except (KeyboardInterrupt, RuntimeError) as error:
        # A signal during a lazy import can land in a dataclass's __set_name__, which Python 3.11 wraps in a
        # RuntimeError whose cause is the KeyboardInterrupt.
        if isinstance(error, RuntimeError) and not isinstance(error.__cause__, KeyboardInterrupt):
            raise
        from tracker.cli._common import err

        err(f"error: interrupted by {interrupted_signal_name()}")
        return interrupted_exit_code()
    finally:
        if argv is None:  # this process's own command line (not a caller in the same process): it exits next
            ignore_termination_signals()


if __name__ == "__main__":
    import sys

    sys.exit(main())
