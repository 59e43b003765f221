"""Long start-up replays and the final snapshot at shutdown say what they are doing: progress lines while the
replay runs (disk pass and ledger cross-check), a line before and after the final snapshot."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from tests.admission._helpers import (
    KIND_STARTER_GRANT,
    KIND_USAGE,
    FakeLedger,
    SimpleCore,
    make_id,
    open_persistent,
)
from tracker.admission import _service
from tracker.admission.core._events import LedgerEvent
from tracker.ledger import CommittedEntry

SERVICE_LOGGER = "tracker.admission.persistence"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, message: str) -> list[logging.LogRecord]:
        return [record for record in self.records if record.getMessage() == message]


@pytest.fixture
def capture() -> Iterator[Capture]:
    logger = logging.getLogger(SERVICE_LOGGER)
    handler = Capture()
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


class SlowLedger(FakeLedger):
    """A FakeLedger whose reads take `delay_s` (a ledger cross-check that takes a while)."""

    delay_s = 0.15

    async def entries_since(self, since_seq: int, limit: int = 0) -> Sequence[CommittedEntry]:
        import trio

        await trio.sleep(self.delay_s)
        return await super().entries_since(since_seq, limit)


class SlowCore(SimpleCore):
    """Applying each replayed event takes a while (a large tlog, in miniature)."""

    def apply_event(self, event: LedgerEvent) -> None:
        time.sleep(0.03)
        super().apply_event(event)


async def test_replay_logs_progress_in_each_phase(
    tmp_path: Path, capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = SlowLedger()
    first = await open_persistent(tmp_path, ledger=ledger)
    for index in range(8):
        assert first.on_ledger_entry(ledger.append(KIND_STARTER_GRANT, make_id(index), cost=100))
    assert first.on_ledger_entry(ledger.append(KIND_USAGE, make_id(1), seeder=make_id(9), cost=3))
    await first.aclose(final_snapshot=False)
    capture.records.clear()

    monkeypatch.setattr(_service, "REPLAY_PROGRESS_PERIOD_S", 0.02)
    second = await open_persistent(tmp_path, core=SlowCore(), ledger=ledger, fast_replay=False)
    try:
        progress = capture.named("admission: replay in progress")
        phases = {record.__dict__["phase"] for record in progress}
        assert {"tlog", "ledger_cross_check"} <= phases, phases
        assert all(record.levelno == logging.INFO for record in progress)
        read = [record.__dict__["tlog_records_read"] for record in progress]
        assert read == sorted(read) and read[-1] == 9
        (done,) = capture.named("admission: replay done")
        fields = done.__dict__
        assert fields["duration_s"] >= fields["disk_duration_s"] + fields["cross_check_duration_s"] - 0.01
        assert fields["cross_check_duration_s"] >= SlowLedger.delay_s
        assert capture.records[-1] is done  # no progress line after the replay finished
    finally:
        await second.aclose(final_snapshot=False)


async def test_short_replay_is_one_line(tmp_path: Path, capture: Capture) -> None:
    admission = await open_persistent(tmp_path, ledger=FakeLedger())
    try:
        assert [record.getMessage() for record in capture.records] == ["admission: replay done"]
    finally:
        await admission.aclose(final_snapshot=False)


async def test_final_snapshot_is_announced_before_and_after(tmp_path: Path, capture: Capture) -> None:
    ledger = FakeLedger()
    admission = await open_persistent(tmp_path, ledger=ledger)
    admission.on_ledger_entry(ledger.append(KIND_STARTER_GRANT, make_id(1), cost=100))
    capture.records.clear()
    await admission.aclose()
    messages = [record.getMessage() for record in capture.records]
    assert messages == ["admission: writing the final snapshot", "admission: final snapshot written"]
    before, after = capture.records
    assert before.__dict__["consumers"] == 1
    written = Path(after.__dict__["path"])
    assert written.exists() and after.__dict__["bytes"] == written.stat().st_size > 0
    assert after.__dict__["duration_s"] >= 0
