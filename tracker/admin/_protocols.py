"""What the admin app needs from the ledger and the registry (structural types only; admission is the
`AdmissionService` itself).

The composition root passes the real objects (AsyncLedger, Registry); tests do too, and use small fakes only
for failures the real objects cannot be made to produce.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from tracker._proto.balance_pb2 import SignedBalanceSnapshot
from tracker.ledger import CommittedEntry, Tip
from tracker.registry import SeederRecord


class LedgerView(Protocol):
    """The async ledger façade (tracker.ledger.AsyncLedger); its SQLite work runs off the Trio thread."""

    async def tip(self) -> Tip | None:
        """The chain tip, or None on an empty chain."""
        ...

    async def signed_balance(self, identity_id: bytes) -> SignedBalanceSnapshot | None:
        """A SignedBalanceSnapshot for the identity (credits 0 when unknown)."""
        ...

    async def entries_since(self, since_seq: int, limit: int = 0) -> Sequence[CommittedEntry]:
        """Committed entries with seq > since_seq, ascending, at most `limit` (0 = all)."""
        ...


class RegistryView(Protocol):
    """The seeder registry (tracker.registry.Registry)."""

    def get(self, identity_id: bytes) -> SeederRecord | None:
        """A copy of the SeederRecord, or None when unknown."""
        ...


class ConnectedPeerView(Protocol):
    """A peer connected to the plugin RPC listener (tracker.rpc.ConnectedPeer)."""

    @property
    def canonical_id(self) -> bytes: ...
    @property
    def raw_pub_id(self) -> bytes: ...
    @property
    def role(self) -> int | None: ...
    @property
    def address(self) -> str: ...
    @property
    def connected_since(self) -> float: ...
    @property
    def last_heartbeat(self) -> float | None: ...
