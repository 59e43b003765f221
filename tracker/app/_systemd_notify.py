"""The systemd readiness protocol (sd_notify(3)), sender side only: one datagram of `KEY=VALUE` lines to the
AF_UNIX socket named by $NOTIFY_SOCKET. Without that variable (not started by systemd with Type=notify)
`notify` does nothing. No dependency on libsystemd.

Never raises and never blocks: the socket is non-blocking, and a failed send is logged once at debug level
(systemd then only misses a status update; the tracker keeps running).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

__all__ = ["NOTIFY_SOCKET_ENV", "notify"]

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
_logger = logging.getLogger("tracker.app.systemd")


def _socket_address(value: str) -> str | bytes | None:
    """A filesystem path as is; `@name` is the abstract namespace (leading NUL). Anything else: None."""
    if value.startswith("/"):
        return value
    if value.startswith("@") and len(value) > 1:
        return b"\0" + value[1:].encode()
    return None


def notify(state: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1", "STOPPING=1") to $NOTIFY_SOCKET; True if a datagram was sent."""
    value = (os.environ if environ is None else environ).get(NOTIFY_SOCKET_ENV, "")
    address = _socket_address(value)
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.setblocking(False)
            sock.sendto(state.encode(), address)
    except OSError as error:
        _logger.debug("systemd: notify failed", extra={"state": state, "error": str(error)})
        return False
    return True
