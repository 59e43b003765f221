"""`trio-tracker run` through `tracker.cli.main` in-process: a crashing background task ends the process with
exit code 1 and the error logged (never a hang); a start-up step failure is one `error:` line; the command
leaves no log handler behind on the stream it was given."""

from __future__ import annotations

import io
import json
import logging
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from quart_trio import QuartTrio

import tracker.app._services as services_module
from tracker.app import BackgroundTask, ServiceContext, StartupError
from tracker.cli import main
from tracker.config import config_for_data_dir, render_yaml
from tracker.identity import generate_identity, write_identity


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    config = config_for_data_dir(tmp_path)
    write_identity(config.server.identity_key_path, generate_identity())
    path = tmp_path / "tracker.yaml"
    path.write_text(render_yaml(config))
    return path


class _Services:
    def __init__(self, background: list[BackgroundTask]) -> None:
        self.admin_app = QuartTrio("crash-test")
        self.background = background


def test_crashing_task_exits_1_with_the_error_logged(
    config_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    closed: list[bool] = []

    async def explode() -> None:
        await trio.sleep(0.05)
        raise RuntimeError("snapshot ticker exploded")

    @asynccontextmanager
    async def open_crashing(context: ServiceContext) -> AsyncIterator[_Services]:
        try:
            yield _Services([BackgroundTask("exploder", explode)])
        finally:
            closed.append(True)

    monkeypatch.setattr(services_module, "open_tracker_services", open_crashing)
    monkeypatch.setitem(os.environ, "TOKEN_BAY_ADMIN_TOKEN", "t")
    code = main(["run", "--config", str(config_path)])
    assert code == 1
    assert closed == [True]
    records = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    crash = [record for record in records if record["message"] == "tracker: crashed, exiting"]
    assert len(crash) == 1
    assert crash[0]["level"] == "error"
    assert crash[0]["error"] == "RuntimeError: snapshot ticker exploded"
    assert "Traceback" in crash[0]["stack"]


def test_startup_step_failure_is_one_error_line(
    config_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    @asynccontextmanager
    async def open_failing(context: ServiceContext) -> AsyncIterator[_Services]:
        raise StartupError("ledger: cannot open /x/ledger.sqlite: permission denied")
        yield  # pragma: no cover

    monkeypatch.setattr(services_module, "open_tracker_services", open_failing)
    code = main(["run", "--config", str(config_path)])
    assert code == 1
    error_lines = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("{")]
    assert error_lines == ["error: ledger: cannot open /x/ledger.sqlite: permission denied"]


def test_corrupt_ledger_file_is_a_startup_error(
    config_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger_path = config_path.parent / "ledger.sqlite"
    ledger_path.write_bytes(b"this is not a sqlite database" * 100)
    code = main(["run", "--config", str(config_path)])
    assert code == 1
    error_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and error_lines[0].startswith("error: ledger: "), error_lines


def test_run_leaves_no_log_handler_on_the_stderr_it_was_given(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker_logger = logging.getLogger("tracker")
    handlers_before = list(tracker_logger.handlers)
    given = io.StringIO()
    monkeypatch.setattr(sys, "stderr", given)
    (config_path.parent / "ledger.sqlite").write_bytes(b"not a ledger" * 100)
    assert main(["run", "--config", str(config_path)]) == 1
    assert given.getvalue().startswith("error: ledger: ")
    given.close()  # as pytest closes a test's captured stderr
    later = io.StringIO()
    monkeypatch.setattr(sys, "stderr", later)
    logging.getLogger("tracker.admission").warning("admission: a later line")
    assert "Logging error" not in later.getvalue()
    assert tracker_logger.handlers == handlers_before
