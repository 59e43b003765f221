"""`trio-tracker run --config PATH [--log-format json|text|journald]`: start the tracker in the foreground.

Exit codes: 0 after a clean shutdown (SIGINT, SIGTERM or POST /maintenance, drained; 129 after SIGHUP), 1 for
a bad identity key, a locked state directory, a ledger that is not ours, a port in use, a failing step, a
crash while running or a failed final tlog flush, 2/3 for config parse/validation errors (the same messages as
`config validate`), 128 + the signal number for a signal outside the tracker's own handling (see `_signals`).
"""

from __future__ import annotations

import argparse
import logging
import signal
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING

import trio

from tracker.cli._common import CliExit, ExitCode
from tracker.cli._signals import raise_if_interrupted, stacks_on_sigquit
from tracker.logging import LOG_FORMATS, installed_logging

if TYPE_CHECKING:
    from tracker.config import Config

HANGUP_EXIT = 128 + int(signal.SIGHUP)

_DESCRIPTION = """Run the tracker in the foreground until SIGINT/SIGTERM/SIGHUP or POST /maintenance.

Loads and validates the config, checks the identity key (server.identity_key_path), locks the state
directories (.trio-tracker.lock beside the ledger, the admission log and the snapshots: one tracker per
directory), checks that the ledger is this tracker's (our schema; the tip entry recomputes and is signed by
this identity; a missing ledger while admission files exist needs --allow-new-ledger), binds the admin API
(admin.listen_addr) and Prometheus metrics (metrics.listen_addr, GET /metrics), opens the ledger, the seeder
registry and admission (replaying its snapshot + transaction log; a tlog path whose file is not a tlog, or
admission state that has seen ledger entries the ledger lacks, stops the start with exit 1), then logs a
"tracker: ready" line on stderr with the bound addresses. Logs are structured lines on stderr at config
log_level. Every 2xx of a mutating admin route means its audit record is written and fsynced.

Shutdown: the first SIGINT, SIGTERM or SIGHUP (or POST /maintenance) stops accepting connections, lets
in-flight admin requests finish within server.shutdown_grace_s, flushes and fsyncs the admission log, writes a
final snapshot and closes the ledger, then exits 0 — or 129 after SIGHUP: the same graceful stop, with a
non-zero code so a supervisor's restart policy (systemd Restart=on-failure) starts the tracker again with the
config re-read; SIGHUP is a "drain and restart", not an in-place reload. A second signal skips the wait (the
log is still flushed). If that final flush fails (a full disk), run exits 1: records were not written. A
signal before the tracker's handler is installed (while the config, key and ledger are being checked) or
after it is removed ends the command with 128 + the signal number and one line.

The admin bearer token is read once at start-up, first match wins: the file named by
$TOKEN_BAY_ADMIN_TOKEN_FILE; $CREDENTIALS_DIRECTORY/admin-token (systemd LoadCredential=admin-token:PATH);
the environment variable TOKEN_BAY_ADMIN_TOKEN. With none of them every admin route except /health and
/openapi.json answers 401; a named token file that is missing or empty is an error (exit 1).

systemd: with $NOTIFY_SOCKET set (Type=notify) the tracker sends READY=1 after the ready line and
STOPPING=1 when a graceful shutdown starts.

Diagnosis: SIGQUIT writes every thread's Python stack to stderr, then ends the process (its default
action), as the Go tracker's runtime does."""


_RUN_EXIT_CODES = """exit codes:
  0    clean shutdown after SIGINT, SIGTERM or POST /maintenance (drained)
  1    other error: bad identity key, an unusable admin token file, state directory locked by another
       tracker (its pid is named), a ledger that is not this tracker's or is damaged, port in use, a
       failing start-up step, a crash, a failed final tlog flush at shutdown (records were not written)
  2    config parse error
  3    config validation error
  129  clean shutdown after SIGHUP (drained; non-zero so Restart=on-failure restarts it), or SIGHUP
       before the tracker's signal handler took over
  130  SIGINT before the tracker's signal handler took over (or after it let go)
  143  SIGTERM, likewise"""


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "run",
        help="run the tracker (admin API, metrics, ledger, admission) until stopped",
        description=_DESCRIPTION,
        epilog=_RUN_EXIT_CODES,
    )
    parser.add_argument("--config", metavar="PATH", help="the tracker YAML config (required)")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="json",
        help=(
            "log line format on stderr: json (default; one object per line, severity in its `level` field), "
            "text, or journald (text behind <N> syslog level prefixes, for a systemd service)"
        ),
    )
    parser.add_argument(
        "--allow-new-ledger",
        action="store_true",
        help="start a new, empty ledger although admission files (tlog, snapshots) exist; without it a "
        "missing ledger with admission state is refused (restore the ledger from a backup instead)",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tracker.cli._config_loading import load_config_for_cli

    config = load_config_for_cli(args.config)
    with stacks_on_sigquit(), installed_logging(config.log_level, args.log_format) as logger:
        return _run_configured(args, config, logger)


def _run_configured(args: argparse.Namespace, config: Config, logger: logging.Logger) -> int:
    from tracker.admin import AdminTokenError, admin_token_from_env
    from tracker.admission import TLogWriteError
    from tracker.app import (
        ListenerBindError,
        ShutdownController,
        StartupError,
        describe_failure,
        leaf_errors,
        run_tracker,
    )
    from tracker.app._preflight import guard_state_files
    from tracker.identity import IdentityKeyError, load_identity

    try:
        identity = load_identity(config.server.identity_key_path)
    except IdentityKeyError as error:
        raise CliExit(ExitCode.ERROR, f"error: read identity key: {error}") from None
    try:
        admin_token = admin_token_from_env()
    except AdminTokenError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None
    controller = ShutdownController(logger)
    try:
        with guard_state_files(config, identity, allow_new_ledger=args.allow_new_ledger) as set_aside:
            if set_aside:
                logger.warning(
                    "admission: old state set aside for a new ledger",
                    extra={"files": [str(path) for path in set_aside]},
                )
            tracker = partial(
                run_tracker, config, identity, admin_token=admin_token, logger=logger, controller=controller
            )
            # Inside Trio a signal never raises at an arbitrary bytecode (where a __del__ could swallow it):
            # Trio marks it pending and raises it at the main task's next checkpoint.
            trio.run(_unless_interrupted, tracker, restrict_keyboard_interrupt_to_checkpoints=True)
    except (ListenerBindError, StartupError) as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None
    except KeyboardInterrupt:
        # Only while Trio's signal receiver is not installed (start-up, the last instants of shutdown);
        # `main` exits 128 + the signal number.
        raise
    except BaseException as error:
        leaves = leaf_errors(error)
        if leaves and all(isinstance(leaf, KeyboardInterrupt) for leaf in leaves):
            raise KeyboardInterrupt from None
        # A failed final tlog flush (disk full at shutdown) is one line too: records were lost, exit 1.
        if len(leaves) == 1 and isinstance(leaves[0], ListenerBindError | StartupError | TLogWriteError):
            raise CliExit(ExitCode.ERROR, f"error: {leaves[0]}") from None
        _log_crash(logger, error, describe_failure(error))
        return ExitCode.ERROR
    if controller.reason == "SIGHUP":
        return HANGUP_EXIT  # drained like SIGTERM; non-zero so `Restart=on-failure` starts it again
    return ExitCode.OK


async def _unless_interrupted(tracker: Callable[[], Awaitable[None]]) -> None:
    """Run `tracker` unless a signal came before Trio's handler was installed and its KeyboardInterrupt was
    swallowed on the way (see `_signals`): the tracker must not start serving as if nothing had happened."""
    raise_if_interrupted()
    await tracker()


def _log_crash(logger: logging.Logger, error: BaseException, summary: str) -> None:
    logger.error("tracker: crashed, exiting", exc_info=error, extra={"error": summary})
