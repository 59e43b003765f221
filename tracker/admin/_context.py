"""`AdminContext`: what every route handler reads. A leaf module (imports no other admin module), so the
app factory and the route modules both depend on it and not on each other."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from tracker.admin._protocols import ConnectedPeerView, LedgerView, RegistryView
from tracker.admission import AdmissionService


@dataclass(frozen=True, slots=True)
class AdminContext:
    """The subsystem handles and the injected clock/logger."""

    ledger: LedgerView
    registry: RegistryView
    admission: AdmissionService
    request_shutdown: Callable[[], None]
    clock: Callable[[], float]
    logger: logging.Logger
    merkle_root_minutes: int | None
    connection_count: Callable[[], int]
    connected_peers: Callable[[], Awaitable[Sequence[ConnectedPeerView]]]
    version: str
