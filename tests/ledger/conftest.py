"""Fixtures of the ledger tests: a fresh ledger file signed by the deterministic test tracker key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ledger.helpers import NOW, tracker_identity
from tracker.identity import TrackerIdentity
from tracker.ledger import Ledger


class FakeClock:
    """A settable wall clock (unix seconds)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def identity() -> TrackerIdentity:
    return tracker_identity()


@pytest.fixture
def ledger_path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.sqlite"


@pytest.fixture
def ledger(ledger_path: Path, identity: TrackerIdentity, clock: FakeClock) -> Iterator[Ledger]:
    opened = Ledger.open(ledger_path, identity, clock=clock)
    yield opened
    opened.close()
