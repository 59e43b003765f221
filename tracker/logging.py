"""Structured log lines on stderr: one JSON object (or one human-readable text line) per event.

JSON lines follow the Go tracker's zerolog shape: `time` (Unix epoch milliseconds, integer), `level`
(debug/info/warn/error), `message`, `error` (and `stack`) for an attached exception, plus per-event fields
passed as `logger.info("admin: listening", extra={"addr": "127.0.0.1:9090"})`. Messages are constant texts
that start with their subsystem ("admission: ..."); values go in fields. Every subsystem logs through the
standard `logging` module under the `tracker` logger; a command installs the one handler for as long as it
runs (`installed_logging`) and takes it away again when it returns, so no handler outlives the stream it
writes to (a caller's captured stderr, closed after an in-process run).

Formats: `json` (default), `text` (`time LEVEL message key=value...`), and `journald`: the text line without
the timestamp (the journal stamps each entry) behind an sd-daemon `<N>` syslog level prefix (debug <7>,
info <6>, warn <4>, error <3>), which journald turns into the entry's PRIORITY when it reads a service's
stderr (`SyslogLevelPrefix=yes`, the default), so `journalctl -p warning -u trio-tracker` works. Each line of
a traceback carries the prefix too.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, Literal, TextIO

__all__ = [
    "LOG_FORMATS",
    "LOG_LEVELS",
    "LogFormat",
    "StructuredFormatter",
    "configure_logging",
    "installed_logging",
    "level_from_config",
]

LogFormat = Literal["json", "text", "journald"]
LOG_FORMATS: tuple[LogFormat, ...] = ("json", "text", "journald")
LOG_LEVELS: dict[str, int] = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}
_LEVEL_NAMES: dict[int, str] = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "error",
}
# sd-daemon(3) / syslog(3) priorities of our level names.
_SYSLOG_PRIORITIES: dict[str, int] = {"debug": 7, "info": 6, "warn": 4, "error": 3}
ROOT_LOGGER_NAME = "tracker"
HTTP_LOGGER_NAME = "tracker.http"
_HTTP_PREFIX = "http: "

# Attributes every LogRecord carries; anything else on a record came from `extra=` and is an event field.
_STANDARD_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
    | {"message", "asctime", "taskName"}
)


def level_from_config(log_level: str | None) -> int:
    """`log_level` from the config → a logging level; "" or an unknown name → info (as the Go tracker)."""
    return LOG_LEVELS.get((log_level or "").strip().lower(), logging.INFO)


def _level_name(levelno: int) -> str:
    if levelno in _LEVEL_NAMES:
        return _LEVEL_NAMES[levelno]
    if levelno < logging.INFO:
        return "debug"
    if levelno < logging.WARNING:
        return "info"
    return "warn" if levelno < logging.ERROR else "error"


def _event_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_RECORD_ATTRIBUTES and not key.startswith("_")
    }


def _error_text(record: logging.LogRecord) -> str | None:
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return None


class StructuredFormatter(logging.Formatter):
    """Formats a record as one JSON object or one `time level message key=value…` text line."""

    def __init__(self, log_format: LogFormat = "json") -> None:
        super().__init__()
        if log_format not in LOG_FORMATS:
            raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
        self.log_format = log_format

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.name == HTTP_LOGGER_NAME and not message.startswith(_HTTP_PREFIX):
            message = _HTTP_PREFIX + message  # Hypercorn's own texts get the subsystem prefix ours have
        fields = _event_fields(record)
        error = _error_text(record)
        if error is not None and "error" not in fields:
            fields["error"] = error
        if self.log_format == "json":
            line: dict[str, Any] = {
                "time": int(record.created * 1000),
                "level": _level_name(record.levelno),
                "message": message,
            }
            line.update(fields)
            if record.exc_info:
                line["stack"] = self.formatException(record.exc_info)
            return json.dumps(line, default=str, ensure_ascii=False, separators=(",", ":"))
        level = _level_name(record.levelno)
        parts = [f"{level.upper():5}", message]
        if self.log_format == "text":
            timestamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            milliseconds = int(record.created * 1000) % 1000
            parts.insert(0, f"{timestamp}.{milliseconds:03d}Z")
        parts.extend(f"{key}={_text_value(value)}" for key, value in fields.items())
        text = " ".join(parts)
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        if self.log_format == "journald":
            prefix = f"<{_SYSLOG_PRIORITIES[level]}>"
            text = "\n".join(prefix + line for line in text.split("\n"))
        return text


def _text_value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    if text == "" or any(character.isspace() or character in '"=' for character in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def configure_logging(
    log_level: str | None = "info",
    log_format: LogFormat = "json",
    *,
    stream: TextIO | None = None,
) -> logging.Logger:
    """Install the one stderr handler on the `tracker` logger (replacing any earlier one) and return it.

    Hypercorn's error log is routed into the same handler under `tracker.http`.
    """
    logger = logging.getLogger(ROOT_LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(StructuredFormatter(log_format))
    logger.addHandler(handler)
    level = level_from_config(log_level)
    logger.setLevel(level)
    logger.propagate = False
    # Hypercorn announces "Running on … (CTRL + C to quit)" at info; our ready line says it better.
    logging.getLogger(HTTP_LOGGER_NAME).setLevel(logging.DEBUG if level <= logging.DEBUG else logging.WARNING)
    return logger


@contextmanager
def installed_logging(
    log_level: str | None = "info",
    log_format: LogFormat = "json",
    *,
    stream: TextIO | None = None,
) -> Iterator[logging.Logger]:
    """`configure_logging` for the duration of a block (one CLI command). On exit the handler it installed is
    flushed and removed, and the `tracker` and `tracker.http` loggers get back the handlers, levels and
    propagation they had before: nothing keeps writing to a stream the command did not own."""
    logger = logging.getLogger(ROOT_LOGGER_NAME)
    http_logger = logging.getLogger(HTTP_LOGGER_NAME)
    earlier_handlers = list(logger.handlers)
    earlier_level, earlier_propagate, earlier_http_level = logger.level, logger.propagate, http_logger.level
    configured = configure_logging(log_level, log_format, stream=stream)
    try:
        yield configured
    finally:
        for handler in list(logger.handlers):
            if handler not in earlier_handlers:
                with suppress(
                    OSError, ValueError
                ):  # a stream already closed, a broken pipe: nothing to flush
                    handler.flush()
                logger.removeHandler(handler)
        for handler in earlier_handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        logger.setLevel(earlier_level)
        logger.propagate = earlier_propagate
        http_logger.setLevel(earlier_http_level)
