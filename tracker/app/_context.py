"""What the composition root hands the subsystem opener, and what it gets back. A leaf module (imports no
other app module), so `_run.py` and `_services.py` both depend on it and not on each other."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from hypercorn.typing import ASGIFramework
from prometheus_client import CollectorRegistry

from tracker.app._shutdown import ShutdownController
from tracker.app._supervisor import BackgroundTask
from tracker.config import Config
from tracker.identity import TrackerIdentity


@dataclass(frozen=True)
class ServiceContext:
    """What the subsystem opener receives from the composition root."""

    config: Config
    identity: TrackerIdentity
    metrics_registry: CollectorRegistry
    controller: ShutdownController
    admin_token: str | None
    clock: Callable[[], float]
    logger: logging.Logger
    rpc_socket: socket.socket | None = None  # the bound UDP socket of server.listen_addr


class TrackerServices(Protocol):
    """The opened subsystems as the supervisor sees them: the admin app and the background tasks."""

    @property
    def admin_app(self) -> ASGIFramework: ...
    @property
    def background(self) -> list[BackgroundTask]: ...


ServicesOpener = Callable[[ServiceContext], AbstractAsyncContextManager[TrackerServices]]
