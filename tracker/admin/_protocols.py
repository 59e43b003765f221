"""What the admin app needs from the ledger, the registry and admission (structural types only).

The composition root passes the real objects (AsyncLedger, Registry, PersistentAdmission); tests do too,
and use small fakes only for failures the real objects cannot be made to produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol


class LedgerView(Protocol):
    """The async ledger façade (tracker.ledger.AsyncLedger); its SQLite work runs off the Trio thread."""

    async def tip(self) -> Any:
        """The chain tip (`.seq`, `.hash`), or None on an empty chain."""
        ...

    async def signed_balance(self, identity_id: bytes) -> Any:
        """A SignedBalanceSnapshot protobuf for the identity (credits 0 when unknown)."""
        ...

    async def entries_since(self, since_seq: int, limit: int = 0) -> Sequence[Any]:
        """Committed entries (`.seq`, `.entry`) with seq > since_seq, ascending, at most `limit`."""
        ...


class RegistryView(Protocol):
    """The seeder registry (tracker.registry.Registry)."""

    def get(self, identity_id: bytes) -> Any:
        """A copy of the SeederRecord, or None when unknown."""
        ...


class AdmissionView(Protocol):
    """The persistent admission subsystem (tracker.admission.PersistentAdmission)."""

    @property
    def core(self) -> Any:
        """The AdmissionCore: status/queue/consumer/seeder views, drain, eject, blocklist, recompute."""
        ...

    @property
    def ledger_seq(self) -> int:
        """Ledger position reflected in admission's memory."""
        ...

    async def snapshot_now(self, now: float | None = None) -> Path | None: ...

    def record_operator_override(
        self, operator_id: str, action: str, params: dict[str, Any] | bytes, now: float | None = None
    ) -> None: ...
