"""Seeder registry records and the match filter (ledger-registry.md §6.1, §6.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

GO_ZERO_TIME = -62135596800.0
"""Go `time.Time{}` as unix seconds: a never-heartbeated seeder (always swept)."""


class PrivacyTier(IntEnum):
    UNSPECIFIED = 0
    STANDARD = 1
    TEE = 2


@dataclass(slots=True)
class Capabilities:
    models: list[str] = field(default_factory=list)
    max_context: int = 0
    tiers: list[PrivacyTier] = field(default_factory=list)
    attestation: bytes | None = None

    def copy(self) -> Capabilities:
        return Capabilities(list(self.models), self.max_context, list(self.tiers), self.attestation)


@dataclass(slots=True)
class NetCoords:
    external_addr: str = ""
    local_candidates: list[str] = field(default_factory=list)

    def copy(self) -> NetCoords:
        return NetCoords(self.external_addr, list(self.local_candidates))


@dataclass(slots=True)
class SeederRecord:
    """One seeder as the registry knows it. `last_heartbeat` is unix seconds (GO_ZERO_TIME = never)."""

    identity_id: bytes
    conn_session_id: int = 0
    capabilities: Capabilities = field(default_factory=Capabilities)
    available: bool = False
    headroom_estimate: float = 0.0
    reputation_score: float = 0.0
    net_coords: NetCoords = field(default_factory=NetCoords)
    load: int = 0
    last_heartbeat: float = GO_ZERO_TIME

    def copy(self) -> SeederRecord:
        """A deep copy: mutating it (or its lists) never affects the original."""
        return SeederRecord(
            identity_id=bytes(self.identity_id),
            conn_session_id=self.conn_session_id,
            capabilities=self.capabilities.copy(),
            available=self.available,
            headroom_estimate=self.headroom_estimate,
            reputation_score=self.reputation_score,
            net_coords=self.net_coords.copy(),
            load=self.load,
            last_heartbeat=self.last_heartbeat,
        )


@dataclass(frozen=True, slots=True)
class Filter:
    """Candidate filter for `Registry.match` (§6.3). `max_load` 0 = no limit (exclusive bound otherwise)."""

    require_available: bool = False
    model: str = ""
    tier: PrivacyTier = PrivacyTier.UNSPECIFIED
    min_headroom: float = 0.0
    max_load: int = 0

    def accepts(self, record: SeederRecord) -> bool:
        if self.require_available and not record.available:
            return False
        if self.model and self.model not in record.capabilities.models:
            return False
        if self.tier != PrivacyTier.UNSPECIFIED and self.tier not in record.capabilities.tiers:
            return False
        # Written as "not below" so a NaN headroom passes, as in Go (`if h < min { drop }`).
        if record.headroom_estimate < self.min_headroom:
            return False
        return not (self.max_load > 0 and record.load >= self.max_load)
