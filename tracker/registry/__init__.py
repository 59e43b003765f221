"""Seeder registry: live, sharded, in-memory index of seeders with candidate matching (registry §6)."""

from tracker.registry._errors import (
    InvalidHeadroomError,
    InvalidShardCountError,
    LoadUnderflowError,
    RegistryError,
    UnknownSeederError,
)
from tracker.registry._records import (
    GO_ZERO_TIME,
    Capabilities,
    Filter,
    NetCoords,
    PrivacyTier,
    SeederRecord,
)
from tracker.registry._registry import (
    DEFAULT_SHARD_COUNT,
    AdvertiseObserver,
    HeartbeatObserver,
    Registry,
)

__all__ = [
    "DEFAULT_SHARD_COUNT",
    "GO_ZERO_TIME",
    "AdvertiseObserver",
    "Capabilities",
    "Filter",
    "HeartbeatObserver",
    "InvalidHeadroomError",
    "InvalidShardCountError",
    "LoadUnderflowError",
    "NetCoords",
    "PrivacyTier",
    "Registry",
    "RegistryError",
    "SeederRecord",
    "UnknownSeederError",
]
