"""Fixtures for the admin app tests: a fixed clock, a recording shutdown trigger, an authorized client."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

TOKEN = "test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
FIXED_NOW = 1778328000.0  # 2026-05-09T12:00:00Z


@dataclass
class ShutdownRecorder:
    calls: int = 0

    def __call__(self) -> None:
        self.calls += 1


@dataclass
class LogCapture(logging.Handler):
    records: list[logging.LogRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        logging.Handler.__init__(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        return [record.getMessage() for record in self.records]

    __hash__ = logging.Handler.__hash__


@pytest.fixture
def log_capture() -> Any:
    logger = logging.getLogger("tests.admin")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    capture = LogCapture()
    logger.addHandler(capture)
    yield capture
    logger.removeHandler(capture)


@pytest.fixture
def shutdown() -> ShutdownRecorder:
    return ShutdownRecorder()


def fixed_clock() -> float:
    return FIXED_NOW


def hex_id(byte: int) -> str:
    return bytes([byte]).hex() * 32


def identity(byte: int) -> bytes:
    return bytes([byte]) * 32


ClockFn = Callable[[], float]
