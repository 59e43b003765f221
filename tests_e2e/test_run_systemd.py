"""`trio-tracker run` as systemd starts it: READY=1 on $NOTIFY_SOCKET once the ready line is out, STOPPING=1
when SIGTERM starts the drain, and the admin token from $CREDENTIALS_DIRECTORY/admin-token
(LoadCredential=) or $TOKEN_BAY_ADMIN_TOKEN_FILE."""

from __future__ import annotations

import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

from tests_e2e.conftest import TRIO_TRACKER, run_cli
from tests_e2e.test_run_support import TrackerProcess, make_data_dir, tracker_env, use_ephemeral_ports


def _start(config_path: Path, env: dict[str, str]) -> TrackerProcess:
    process = subprocess.Popen(
        [*TRIO_TRACKER, "run", "--config", str(config_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    tracker = TrackerProcess(process=process, started_at=time.monotonic())
    tracker._reader = threading.Thread(target=tracker._read_stderr, daemon=True)
    tracker._reader.start()
    return tracker


def test_notify_socket_and_credential_token(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "admin-token").write_text("credential-token\n")
    notify_path = tmp_path / "notify.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(str(notify_path))
    receiver.settimeout(20)
    env = tracker_env("environment-token")
    env.update({"NOTIFY_SOCKET": str(notify_path), "CREDENTIALS_DIRECTORY": str(credentials)})
    tracker = _start(config_path, env)
    try:
        assert receiver.recv(4096) == b"READY=1"
        assert tracker.wait_ready(5) is not None  # the ready line came before READY=1
        status = f"{tracker.admin_url}/admission/status"
        good = httpx.get(status, headers={"Authorization": "Bearer credential-token"}, timeout=10)
        assert good.status_code == 200
        env_token = httpx.get(status, headers={"Authorization": "Bearer environment-token"}, timeout=10)
        assert env_token.status_code == 401
        tracker.send_signal(signal.SIGTERM)
        assert receiver.recv(4096) == b"STOPPING=1"
        assert tracker.wait(15) == 0, tracker.stderr
    finally:
        tracker.kill()
        receiver.close()
    assert "credential-token" not in tracker.stderr


def test_token_file_variable(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    token_file = tmp_path / "token"
    token_file.write_text("file-token")
    env = tracker_env(None)
    env["TOKEN_BAY_ADMIN_TOKEN_FILE"] = str(token_file)
    tracker = _start(config_path, env)
    try:
        tracker.wait_ready()
        response = httpx.get(
            f"{tracker.admin_url}/admission/status",
            headers={"Authorization": "Bearer file-token"},
            timeout=10,
        )
        assert response.status_code == 200
        assert tracker.stop() == 0
    finally:
        tracker.kill()


def test_missing_token_file_is_exit_1_before_anything_starts(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    missing = tmp_path / "no-such-token"
    result = run_cli(
        "run",
        "--config",
        str(config_path),
        env={**tracker_env(None), "TOKEN_BAY_ADMIN_TOKEN_FILE": str(missing)},
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: admin token file {missing} ($TOKEN_BAY_ADMIN_TOKEN_FILE): No such file or directory"
    )
