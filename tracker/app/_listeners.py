"""TCP listeners for the admin and metrics HTTP servers: bound up front, served by Hypercorn.

Both sockets are bound before anything irreversible happens (ledger open, replay), so a port in use ends the
start-up with one clear line and nothing half-open. A bound socket is handed to Hypercorn by file descriptor
(`fd://N`), which keeps `hypercorn.trio.serve` the public entry point and makes port 0 work: the bound
address is known before serving starts.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
from dataclasses import dataclass, field

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from hypercorn.typing import Framework

_BACKLOG = 1024


class ListenerBindError(Exception):
    """A listener could not be bound (address in use, no permission, bad address). The message names the
    listener, the address and the cause."""


def split_listen_addr(listen_addr: str) -> tuple[str, int]:
    """`host:port` (Go syntax: `[::1]:9090`, `:9100` = every interface) → (host, port)."""
    host, separator, port_text = listen_addr.rpartition(":")
    if not separator or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"{listen_addr!r} is not host:port")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port_text)


def format_address(address: tuple[str, int] | tuple[str, int, int, int]) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _describe_os_error(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "address already in use (is another tracker or service on that port?)"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    if error.errno == errno.EADDRNOTAVAIL:
        return "address not available on this host"
    return error.strerror or str(error)


def _create_listening_socket(host: str, port: int) -> socket.socket:
    if host == "":
        if socket.has_dualstack_ipv6():
            return socket.create_server(
                ("", port), family=socket.AF_INET6, dualstack_ipv6=True, backlog=_BACKLOG
            )
        return socket.create_server(("0.0.0.0", port), family=socket.AF_INET, backlog=_BACKLOG)
    family, _, _, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    return socket.create_server(address[:2], family=family, backlog=_BACKLOG)


@dataclass
class BoundListener:
    """A listening TCP socket owned by us until `hand_off()` gives its descriptor to Hypercorn."""

    name: str
    configured_addr: str
    address: str
    _socket: socket.socket | None = field(repr=False)
    _descriptor: int | None = field(default=None, repr=False)

    def hand_off(self) -> int:
        """Detach the socket and return its descriptor; from now on Hypercorn owns (and closes) it."""
        if self._socket is None:
            raise RuntimeError(f"{self.name} listener was already handed off or closed")
        self._descriptor = self._socket.detach()
        self._socket = None
        return self._descriptor

    def close(self) -> None:
        """Close the socket if we still own it (idempotent)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def bind_listener(name: str, listen_addr: str) -> BoundListener:
    """Bind and listen on `listen_addr`; raises ListenerBindError with one operator-readable line."""
    try:
        host, port = split_listen_addr(listen_addr)
    except ValueError as error:
        raise ListenerBindError(f"{name} listener: cannot bind {listen_addr}: {error}") from None
    try:
        listening_socket = _create_listening_socket(host, port)
    except socket.gaierror as error:
        raise ListenerBindError(
            f"{name} listener: cannot bind {listen_addr}: cannot resolve host {host!r} ({error.strerror})"
        ) from None
    except OSError as error:
        raise ListenerBindError(
            f"{name} listener: cannot bind {listen_addr}: {_describe_os_error(error)}"
        ) from None
    address = format_address(listening_socket.getsockname())
    return BoundListener(name=name, configured_addr=listen_addr, address=address, _socket=listening_socket)


def bind_udp_listener(name: str, listen_addr: str) -> socket.socket:
    """Bind a non-blocking UDP socket on `listen_addr` (the QUIC listener); raises ListenerBindError."""
    try:
        host, port = split_listen_addr(listen_addr)
        family, _, _, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
        )[0]
    except ValueError as error:
        raise ListenerBindError(f"{name} listener: cannot bind {listen_addr}: {error}") from None
    except socket.gaierror as error:
        raise ListenerBindError(
            f"{name} listener: cannot bind {listen_addr}: cannot resolve host {host!r} ({error.strerror})"
        ) from None
    udp = socket.socket(family, socket.SOCK_DGRAM)
    try:
        udp.setblocking(False)
        udp.bind(address[:2])
    except OSError as error:
        udp.close()
        raise ListenerBindError(
            f"{name} listener: cannot bind {listen_addr} (UDP): {_describe_os_error(error)}"
        ) from None
    return udp


def bind_listeners(addresses: dict[str, str]) -> dict[str, BoundListener]:
    """Bind every `name → listen_addr`; on the first failure close the ones already bound and re-raise."""
    bound: dict[str, BoundListener] = {}
    try:
        for name, listen_addr in addresses.items():
            bound[name] = bind_listener(name, listen_addr)
    except BaseException:
        for listener in bound.values():
            listener.close()
        raise
    return bound


def hypercorn_config(
    descriptor: int, *, graceful_timeout_s: float, error_logger: logging.Logger
) -> HypercornConfig:
    """One Hypercorn Config per server, from our settings only (never from globals or files)."""
    config = HypercornConfig()
    config.bind = [f"fd://{descriptor}"]
    config.graceful_timeout = float(graceful_timeout_s)
    config.accesslog = None
    config.errorlog = error_logger
    config.include_server_header = False
    return config


async def serve_listener(
    listener: BoundListener,
    app: Framework,
    *,
    graceful_timeout_s: float,
    shutdown_trigger: trio.Event,
    error_logger: logging.Logger,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve `app` on `listener` until `shutdown_trigger` is set, then stop accepting and let in-flight
    requests finish within `graceful_timeout_s`. `task_status.started(address)` once Hypercorn accepts."""
    descriptor = listener.hand_off()
    try:
        config = hypercorn_config(
            descriptor, graceful_timeout_s=graceful_timeout_s, error_logger=error_logger
        )
    except BaseException:
        os.close(descriptor)
        raise

    await serve(
        app,
        config,
        shutdown_trigger=shutdown_trigger.wait,
        task_status=_ReportAddress(task_status, listener.address),
    )


class _ReportAddress:
    """Hypercorn reports `["http://fd://…"]`-style bind strings; we report the address we bound."""

    def __init__(self, task_status: trio.TaskStatus[str], address: str) -> None:
        self._task_status = task_status
        self._address = address

    def started(self, value: object = None) -> None:
        del value
        self._task_status.started(self._address)
