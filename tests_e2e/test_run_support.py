"""Helpers for the `trio-tracker run` end-to-end tests (no tests here): data directories, a running tracker
subprocess with its ready line parsed from stderr, and loopback HTTP calls."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests_e2e.conftest import TRIO_TRACKER, run_cli

ADMIN_TOKEN = "e2e-admin-token"
READY_MESSAGE = "tracker: ready"
READY_TIMEOUT_S = 20.0


def make_data_dir(directory: Path) -> Path:
    """A runnable data directory made by `trio-tracker init` (identity key, TLS cert, tracker.yaml with
    loopback listeners on port 0). Returns the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    result = run_cli("init", "--data-dir", str(directory))
    assert result.returncode == 0, f"init failed ({result.returncode}): {result.stderr}"
    config_path = directory / "tracker.yaml"
    assert config_path.is_file(), f"init did not write {config_path}: {os.listdir(directory)}"
    return config_path


def set_listen_addr(config_path: Path, section: str, address: str) -> None:
    """Rewrite `<section>.listen_addr` in a config written by init (e.g. to `127.0.0.1:0`)."""
    text = config_path.read_text()
    pattern = re.compile(rf"(^{section}:\n(?:[ \t]+.*\n)*?[ \t]+listen_addr:)[^\n]*", re.MULTILINE)
    new_text, count = pattern.subn(rf'\g<1> "{address}"', text, count=1)
    assert count == 1, f"no {section}.listen_addr in {config_path}"
    config_path.write_text(new_text)


def use_ephemeral_ports(config_path: Path) -> None:
    """Admin and metrics on 127.0.0.1:0 (the ready line reports the ports the OS chose)."""
    set_listen_addr(config_path, "admin", "127.0.0.1:0")
    set_listen_addr(config_path, "metrics", "127.0.0.1:0")


def tracker_env(admin_token: str | None = ADMIN_TOKEN) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TOKEN_BAY_ADMIN_TOKEN", None)
    if admin_token is not None:
        env["TOKEN_BAY_ADMIN_TOKEN"] = admin_token
    return env


@dataclass
class TrackerProcess:
    """A `trio-tracker run` subprocess; stderr lines are collected by a reader thread."""

    process: subprocess.Popen[str]
    started_at: float
    lines: list[str] = field(default_factory=list)
    ready: dict[str, object] | None = None
    _ready_event: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    @property
    def admin_url(self) -> str:
        assert self.ready is not None
        return f"http://{self.ready['admin_addr']}"

    @property
    def metrics_url(self) -> str:
        assert self.ready is not None
        return f"http://{self.ready['metrics_addr']}"

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            record = parse_log_line(line)
            if record is not None and record.get("message") == READY_MESSAGE:
                self.ready = record
                self._ready_event.set()
        self._ready_event.set()  # stderr closed: the process ended

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> dict[str, object]:
        self._ready_event.wait(timeout)
        if self.ready is None:
            self.kill()
            raise AssertionError(f"tracker never became ready; exit={self.process.poll()} stderr:\n" + self.stderr)
        return self.ready

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def log_records(self) -> list[dict[str, object]]:
        return [record for record in map(parse_log_line, self.lines) if record is not None]

    def send_signal(self, signal_number: int) -> None:
        self.process.send_signal(signal_number)

    def wait(self, timeout: float = 15.0) -> int:
        code = self.process.wait(timeout)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self._reader is not None:
            self._reader.join(5)


def parse_log_line(line: str) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def start_tracker(config_path: Path, *, admin_token: str | None = ADMIN_TOKEN, extra_args: tuple[str, ...] = ()) -> TrackerProcess:
    process = subprocess.Popen(
        [*TRIO_TRACKER, "run", "--config", str(config_path), *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=tracker_env(admin_token),
    )
    tracker = TrackerProcess(process=process, started_at=time.monotonic())
    tracker._reader = threading.Thread(target=tracker._read_stderr, daemon=True)
    tracker._reader.start()
    return tracker


def auth_headers(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
