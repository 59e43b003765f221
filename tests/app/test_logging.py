"""tracker.logging: JSON and text lines, levels from config, event fields and errors."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from tracker.logging import StructuredFormatter, configure_logging, installed_logging, level_from_config


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """A stream for the test's log lines; afterwards the `tracker` logger is as it was."""
    stream = io.StringIO()
    with installed_logging("info", "json", stream=stream):
        yield stream


@pytest.mark.parametrize(
    ("configured", "level"),
    [
        ("debug", logging.DEBUG),
        ("info", logging.INFO),
        ("warn", logging.WARNING),
        ("error", logging.ERROR),
        ("", logging.INFO),
        (None, logging.INFO),
        ("loud", logging.INFO),
    ],
)
def test_level_from_config(configured: str | None, level: int) -> None:
    assert level_from_config(configured) == level


def test_json_line_has_epoch_ms_level_message_and_fields(stream: io.StringIO) -> None:
    logger = configure_logging("info", "json", stream=stream)
    logger.info("admin: listening", extra={"addr": "127.0.0.1:9090", "count": 3})
    line = json.loads(stream.getvalue())
    assert set(line) == {"time", "level", "message", "addr", "count"}
    assert isinstance(line["time"], int) and line["time"] > 1_600_000_000_000
    assert line["level"] == "info"
    assert line["message"] == "admin: listening"
    assert line["addr"] == "127.0.0.1:9090" and line["count"] == 3


@pytest.mark.parametrize(
    ("method", "name"), [("debug", "debug"), ("info", "info"), ("warning", "warn"), ("error", "error")]
)
def test_level_names_round_trip(stream: io.StringIO, method: str, name: str) -> None:
    logger = configure_logging("debug", "json", stream=stream)
    getattr(logger.getChild("sub"), method)("x")
    assert json.loads(stream.getvalue())["level"] == name


def test_level_filters_lower_records(stream: io.StringIO) -> None:
    logger = configure_logging("warn", "json", stream=stream)
    logger.info("hidden")
    logger.warning("shown")
    lines = stream.getvalue().splitlines()
    assert [json.loads(line)["message"] for line in lines] == ["shown"]


def test_exception_becomes_error_and_stack_fields(stream: io.StringIO) -> None:
    logger = configure_logging("info", "json", stream=stream)
    try:
        raise ValueError("disk on fire")
    except ValueError as error:
        logger.error("tracker: crashed, exiting", exc_info=error)
    line = json.loads(stream.getvalue())
    assert line["error"] == "ValueError: disk on fire"
    assert "Traceback" in line["stack"] and "disk on fire" in line["stack"]


def test_text_format_is_one_readable_line(stream: io.StringIO) -> None:
    logger = configure_logging("info", "text", stream=stream)
    logger.warning("admin: token unset", extra={"env": "TOKEN_BAY_ADMIN_TOKEN", "note": "two words"})
    (line,) = stream.getvalue().splitlines()
    assert line.endswith('WARN  admin: token unset env=TOKEN_BAY_ADMIN_TOKEN note="two words"')
    assert line[:4].isdigit() and "T" in line.split()[0] and line.split()[0].endswith("Z")


def test_unknown_format_is_rejected() -> None:
    with pytest.raises(ValueError, match="log format"):
        StructuredFormatter("xml")  # type: ignore[arg-type]


def test_hypercorn_info_chatter_is_hidden_unless_debug(stream: io.StringIO) -> None:
    configure_logging("info", "json", stream=stream)
    http_logger = logging.getLogger("tracker.http")
    http_logger.info("Running on http://127.0.0.1:1 (CTRL + C to quit)")
    http_logger.error("real problem")
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["http: real problem"]


def test_journald_lines_carry_the_syslog_priority_prefix(stream: io.StringIO) -> None:
    logger = configure_logging("debug", "journald", stream=stream)
    logger.debug("registry: sweep", extra={"removed": 2})
    logger.info("tracker: ready", extra={"admin_addr": "127.0.0.1:8080"})
    logger.warning("admin: request", extra={"status": 401})
    try:
        raise OSError("disk gone")
    except OSError as error:
        logger.error("admission: final snapshot failed", exc_info=error)
    lines = stream.getvalue().splitlines()
    assert lines[:3] == [
        "<7>DEBUG registry: sweep removed=2",
        "<6>INFO  tracker: ready admin_addr=127.0.0.1:8080",
        "<4>WARN  admin: request status=401",
    ]
    assert lines[3] == '<3>ERROR admission: final snapshot failed error="OSError: disk gone"'
    # The traceback follows, every line at the same priority (journald makes each line an entry).
    assert len(lines) > 4 and all(line.startswith("<3>") for line in lines[4:])
    assert "OSError: disk gone" in lines[-1]
