"""`trio-tracker run` start-up failures: exit codes and one clear stderr line, nothing bound or written."""

from __future__ import annotations

import re
import socket
from pathlib import Path

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import make_data_dir, set_listen_addr, tracker_env


def _occupied_port() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))


def test_missing_config_flag_exits_1() -> None:
    result = run_cli("run", env=tracker_env())
    assert result.returncode == 1
    assert "--config is required" in result.stderr


def test_missing_config_file_exits_1(tmp_path: Path) -> None:
    result = run_cli("run", "--config", str(tmp_path / "nope.yaml"), env=tracker_env())
    assert result.returncode == 1
    assert "no such file" in result.stderr.lower()


def test_parse_error_exits_2_before_binding(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    occupied = _occupied_port()
    try:
        # If run bound its listeners before loading the config, this would fail with "port in use" (1).
        set_listen_addr(config_path, "admin", f"127.0.0.1:{occupied.getsockname()[1]}")
        config_path.write_text(config_path.read_text() + "\nnot_a_section: 1\n")
        result = run_cli("run", "--config", str(config_path), env=tracker_env())
    finally:
        occupied.close()
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("parse error: ")
    assert "not_a_section" in result.stderr
    assert not (tmp_path / "data" / "ledger.sqlite").exists()


def test_validation_error_exits_3_before_binding(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    occupied = _occupied_port()
    try:
        set_listen_addr(config_path, "admin", f"127.0.0.1:{occupied.getsockname()[1]}")
        config_path.write_text(re.sub(r"(?m)^log_level:.*$", 'log_level: "loud"', config_path.read_text()))
        result = run_cli("run", "--config", str(config_path), env=tracker_env())
    finally:
        occupied.close()
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("validation failed:\n")
    assert "log_level" in result.stderr
    assert not (tmp_path / "data" / "ledger.sqlite").exists()


def test_missing_identity_key_exits_1(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    (tmp_path / "data" / "identity.key").unlink()
    result = run_cli("run", "--config", str(config_path), env=tracker_env())
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: read identity key: ")
    assert "identity.key" in lines[0] and "does not exist" in lines[0]
    assert "Traceback" not in result.stderr


def test_wrong_length_identity_key_exits_1(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    (tmp_path / "data" / "identity.key").write_bytes(bytes(63))
    result = run_cli("run", "--config", str(config_path), env=tracker_env())
    assert result.returncode == 1
    assert "63 bytes, want 64" in result.stderr
    assert "Traceback" not in result.stderr


def test_inconsistent_identity_key_exits_1(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    key_path = tmp_path / "data" / "identity.key"
    key = bytearray(key_path.read_bytes())
    key[40] ^= 0xFF  # corrupt the public half
    key_path.write_bytes(bytes(key))
    result = run_cli("run", "--config", str(config_path), env=tracker_env())
    assert result.returncode == 1
    assert "inconsistent" in result.stderr
    assert "Traceback" not in result.stderr


def test_port_in_use_exits_1_with_one_line_and_opens_nothing(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    occupied = _occupied_port()
    busy = f"127.0.0.1:{occupied.getsockname()[1]}"
    try:
        set_listen_addr(config_path, "metrics", busy)
        result = run_cli("run", "--config", str(config_path), env=tracker_env(), timeout=30)
    finally:
        occupied.close()
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error_lines == [
        f"error: metrics listener: cannot bind {busy}: " + error_lines[0].split(": ", 3)[3]
    ]
    assert "address already in use" in error_lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "ledger.sqlite").exists()
    assert not list((tmp_path / "data").glob("admission.tlog*"))
