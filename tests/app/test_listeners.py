"""Binding the admin/metrics listeners: address syntax, port 0, clear errors, nothing left open."""

from __future__ import annotations

import socket

import pytest

from tracker.app._listeners import ListenerBindError, bind_listener, bind_listeners, split_listen_addr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9090", ("127.0.0.1", 9090)),
        (":9100", ("", 9100)),
        ("[::1]:80", ("::1", 80)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_split_listen_addr(text: str, expected: tuple[str, int]) -> None:
    assert split_listen_addr(text) == expected


@pytest.mark.parametrize("text", ["127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000", ""])
def test_bad_listen_addr_is_a_bind_error(text: str) -> None:
    with pytest.raises(ListenerBindError, match=f"admin listener: cannot bind {text}: .*not host:port"):
        bind_listener("admin", text)


def test_port_zero_reports_the_real_port() -> None:
    listener = bind_listener("admin", "127.0.0.1:0")
    try:
        host, port = listener.address.rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        with socket.create_connection(("127.0.0.1", int(port)), timeout=2):
            pass
    finally:
        listener.close()


def test_second_failure_closes_the_first_listener() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    occupied = socket.create_server(("127.0.0.1", 0))
    try:
        busy = f"127.0.0.1:{occupied.getsockname()[1]}"
        with pytest.raises(
            ListenerBindError, match=r"metrics listener: cannot bind .*: address already in use"
        ):
            bind_listeners({"admin": f"127.0.0.1:{free_port}", "metrics": busy})
    finally:
        occupied.close()
    # The admin port bound first was released: it can be bound again at once.
    again = bind_listener("admin", f"127.0.0.1:{free_port}")
    again.close()


def test_hand_off_detaches_once() -> None:
    listener = bind_listener("admin", "127.0.0.1:0")
    descriptor = listener.hand_off()
    try:
        assert descriptor >= 0
        with pytest.raises(RuntimeError, match="already handed off"):
            listener.hand_off()
        listener.close()  # no-op: we no longer own it
    finally:
        socket.socket(fileno=descriptor).close()
