"""The sd_notify sender against a real AF_UNIX datagram socket: path and abstract addresses, nothing sent
without $NOTIFY_SOCKET, a missing receiver is not an error."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tracker.app._systemd_notify import notify


@pytest.fixture
def receiver(tmp_path: Path):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    try:
        yield path, sock
    finally:
        sock.close()


def test_ready_and_stopping_arrive_as_datagrams(receiver: tuple[Path, socket.socket]) -> None:
    path, sock = receiver
    environ = {"NOTIFY_SOCKET": str(path)}
    assert notify("READY=1", environ) is True
    assert notify("STOPPING=1", environ) is True
    assert sock.recv(4096) == b"READY=1"
    assert sock.recv(4096) == b"STOPPING=1"


def test_abstract_namespace_address() -> None:
    name = f"trio-tracker-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2)
    try:
        assert notify("READY=1", {"NOTIFY_SOCKET": "@" + name}) is True
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_reads_the_process_environment(receiver: tuple[Path, socket.socket], monkeypatch) -> None:
    path, sock = receiver
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    assert notify("READY=1") is True
    assert sock.recv(4096) == b"READY=1"


@pytest.mark.parametrize("value", ["", "relative/path", "@"])
def test_no_or_unusable_socket_sends_nothing(value: str) -> None:
    assert notify("READY=1", {"NOTIFY_SOCKET": value}) is False
    assert notify("READY=1", {}) is False


def test_missing_receiver_is_not_an_error(tmp_path: Path) -> None:
    assert notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody-listens.sock")}) is False
