"""`trio-tracker run --config PATH [--log-format json|text]`: start the tracker in the foreground.

Exit codes: 0 after a clean shutdown (SIGINT, SIGTERM or POST /maintenance, drained), 1 for a bad identity
key, a port in use, a failing start-up step or a crash while running, 2/3 for config parse/validation
errors (the same messages as `config validate`).
"""

from __future__ import annotations

import argparse
import logging
from functools import partial

import trio

from tracker.cli._common import CliExit, ExitCode

_DESCRIPTION = """Run the tracker in the foreground until SIGINT/SIGTERM or POST /maintenance.

Loads and validates the config, checks the identity key (server.identity_key_path), binds the admin API
(admin.listen_addr) and Prometheus metrics (metrics.listen_addr, GET /metrics), opens the ledger, the seeder
registry and admission (replaying its snapshot + transaction log), then logs a "tracker: ready" line on stderr
with the bound addresses. Logs are structured lines on stderr at config log_level.

Shutdown: the first SIGINT/SIGTERM (or POST /maintenance) stops accepting connections, lets in-flight admin
requests finish within server.shutdown_grace_s, flushes and fsyncs the admission log, writes a final snapshot
and closes the ledger. A second signal skips the wait (the log is still flushed).

The admin bearer token is read from the environment variable TOKEN_BAY_ADMIN_TOKEN; when it is unset every
admin route except /health and /openapi.json answers 401."""


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "run",
        help="run the tracker (admin API, metrics, ledger, admission) until stopped",
        description=_DESCRIPTION,
    )
    parser.add_argument("--config", metavar="PATH", help="the tracker YAML config (required)")
    parser.add_argument(
        "--log-format",
        choices=("json", "text"),
        default="json",
        help="log line format on stderr: json (default; one object per line) or text",
    )
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from tracker.admin import admin_token_from_env
    from tracker.app import ListenerBindError, StartupError, describe_failure, leaf_errors, run_tracker
    from tracker.cli._config_loading import load_config_for_cli
    from tracker.identity import IdentityKeyError, load_identity
    from tracker.logging import configure_logging

    config = load_config_for_cli(args.config)
    logger = configure_logging(config.log_level, args.log_format)
    try:
        identity = load_identity(config.server.identity_key_path)
    except IdentityKeyError as error:
        raise CliExit(ExitCode.ERROR, f"error: read identity key: {error}") from None
    admin_token = admin_token_from_env()
    try:
        trio.run(partial(run_tracker, config, identity, admin_token=admin_token, logger=logger))
    except (ListenerBindError, StartupError) as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None
    except KeyboardInterrupt:
        # Only possible before the signal handler is installed (the first milliseconds of start-up).
        raise CliExit(130, "error: interrupted during start-up") from None
    except BaseException as error:
        leaves = leaf_errors(error)
        if len(leaves) == 1 and isinstance(leaves[0], ListenerBindError | StartupError):
            raise CliExit(ExitCode.ERROR, f"error: {leaves[0]}") from None
        _log_crash(logger, error, describe_failure(error))
        return ExitCode.ERROR
    return ExitCode.OK


def _log_crash(logger: logging.Logger, error: BaseException, summary: str) -> None:
    logger.error("tracker: crashed, exiting", exc_info=error, extra={"error": summary})
