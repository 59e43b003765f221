"""Loading the config for a command, with `config validate`'s exact messages and exit codes on failure:
missing flag / unreadable file → 1, ParseError → 2, ValidationError → 3."""

from __future__ import annotations

import errno
import os

from tracker.cli._common import CliExit, ExitCode
from tracker.config import Config, ParseError, ParseStats, ValidationError, load_with_stats


def _os_error_text(path: str, error: OSError) -> str:
    """Go-style `open <path>: <reason>` (lower-case reason, e.g. `no such file or directory`)."""
    reason = error.strerror or (os.strerror(error.errno) if error.errno else str(error))
    if error.errno == errno.EISDIR:
        reason = "is a directory"
    return f"open {path}: {reason[:1].lower()}{reason[1:]}"


def load_config_with_stats_for_cli(path: str | None) -> tuple[Config, ParseStats]:
    """Like `load_config_for_cli`, also returning what the file set (for the `OK:` line)."""
    if not path:
        raise CliExit(ExitCode.ERROR, "error: --config is required")
    try:
        return load_with_stats(path)
    except ParseError as error:
        raise CliExit(ExitCode.PARSE_ERROR, f"parse error: {error}") from None
    except ValidationError as error:
        raise CliExit(ExitCode.VALIDATION_ERROR, f"validation failed:\n{error}") from None
    except OSError as error:
        raise CliExit(ExitCode.ERROR, _os_error_text(path, error)) from None
    except ValueError as error:  # e.g. a NUL byte in the path
        raise CliExit(ExitCode.ERROR, f"open {path!r}: {error}") from None


def load_config_for_cli(path: str | None) -> Config:
    """The validated config at `path`, or CliExit(1|2|3) carrying the exact `config validate` message
    (the dispatcher prints it on stderr)."""
    return load_config_with_stats_for_cli(path)[0]
