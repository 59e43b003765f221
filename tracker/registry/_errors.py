"""Typed registry errors (ledger-registry.md §6.4); messages match the Go sentinels."""

from __future__ import annotations


class RegistryError(Exception):
    """Base class of every registry error."""


class UnknownSeederError(RegistryError, KeyError):
    def __init__(self, seeder_id: bytes | None = None) -> None:
        self.seeder_id = seeder_id
        super().__init__("registry: unknown seeder")

    def __str__(self) -> str:
        if self.seeder_id is None:
            return "registry: unknown seeder"
        return f"registry: unknown seeder {self.seeder_id.hex()}"


class InvalidShardCountError(RegistryError, ValueError):
    def __init__(self, count: int) -> None:
        super().__init__(f"registry: shard count must be positive (got {count})")


class InvalidHeadroomError(RegistryError, ValueError):
    def __init__(self, headroom: float) -> None:
        super().__init__(f"registry: headroom must be within [0.0, 1.0] (got {headroom!r})")


class LoadUnderflowError(RegistryError):
    def __init__(self, seeder_id: bytes) -> None:
        super().__init__(f"registry: load underflow for seeder {seeder_id.hex()}")
