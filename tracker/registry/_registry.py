"""The sharded, in-memory seeder registry (ledger-registry.md §6).

Synchronous and thread-safe: 16 shards (by the first 8 bytes of the id, big-endian, mod n), each a dict behind
its own lock. Readers get deep copies; writers copy their inputs, mutate a copy and commit only on success.
Observers (admission's heartbeat accounting) are called after the shard lock is released.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from tracker.registry._errors import (
    InvalidHeadroomError,
    InvalidShardCountError,
    LoadUnderflowError,
    UnknownSeederError,
)
from tracker.registry._records import Capabilities, Filter, SeederRecord

DEFAULT_SHARD_COUNT = 16


class _Ordered(Protocol):
    def __lt__(self, other: Any, /) -> bool: ...


_Rank = TypeVar("_Rank", bound=_Ordered)

HeartbeatObserver = Callable[[bytes, float], None]
"""Called as observer(seeder_id, now) after every successful heartbeat (and registration with a heartbeat)."""
AdvertiseObserver = Callable[[bytes, float], None]
"""Called as observer(seeder_id, headroom) after every successful advertisement."""


class _Shard:
    __slots__ = ("lock", "records")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[bytes, SeederRecord] = {}


class Registry:
    """Live index of seeders: register / heartbeat / advertise / load accounting / match / sweep."""

    def __init__(self, shard_count: int = DEFAULT_SHARD_COUNT) -> None:
        if shard_count <= 0:
            raise InvalidShardCountError(shard_count)
        self._shards = tuple(_Shard() for _ in range(shard_count))
        self._heartbeat_observers: list[HeartbeatObserver] = []
        self._advertise_observers: list[AdvertiseObserver] = []

    @property
    def shard_count(self) -> int:
        return len(self._shards)

    def shard_index(self, identity_id: bytes) -> int:
        return int.from_bytes(identity_id[:8].ljust(8, b"\0"), "big") % len(self._shards)

    def _shard(self, identity_id: bytes) -> _Shard:
        return self._shards[self.shard_index(identity_id)]

    # --- observers ----------------------------------------------------------------------------------------

    def add_heartbeat_observer(self, observer: HeartbeatObserver) -> None:
        self._heartbeat_observers.append(observer)

    def add_advertise_observer(self, observer: AdvertiseObserver) -> None:
        self._advertise_observers.append(observer)

    # --- writes ---------------------------------------------------------------------------------------------

    def register(self, record: SeederRecord) -> None:
        """Insert or replace the whole record (no validation; the caller sets last_heartbeat)."""
        stored = record.copy()
        shard = self._shard(stored.identity_id)
        with shard.lock:
            shard.records[stored.identity_id] = stored
        if stored.last_heartbeat > 0:
            for observer in self._heartbeat_observers:
                observer(stored.identity_id, stored.last_heartbeat)

    def deregister(self, identity_id: bytes) -> None:
        """Remove the seeder; a no-op when it is unknown."""
        shard = self._shard(identity_id)
        with shard.lock:
            shard.records.pop(bytes(identity_id), None)

    def heartbeat(self, identity_id: bytes, now: float) -> None:
        """Set last_heartbeat = now. Raises UnknownSeederError."""
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            if record is None:
                raise UnknownSeederError(bytes(identity_id))
            record.last_heartbeat = now
        for observer in self._heartbeat_observers:
            observer(bytes(identity_id), now)

    def update_external_addr(self, identity_id: bytes, external_addr: str) -> None:
        """Set the external address, keeping the local candidates. Raises UnknownSeederError."""
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            if record is None:
                raise UnknownSeederError(bytes(identity_id))
            record.net_coords.external_addr = external_addr

    def advertise(
        self, identity_id: bytes, capabilities: Capabilities, available: bool, headroom: float
    ) -> None:
        """Replace capabilities, availability and headroom atomically.

        Raises InvalidHeadroomError (checked first: NaN or outside [0, 1]) or UnknownSeederError.
        """
        if math.isnan(headroom) or not 0.0 <= headroom <= 1.0:
            raise InvalidHeadroomError(headroom)
        new_capabilities = capabilities.copy()
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            if record is None:
                raise UnknownSeederError(bytes(identity_id))
            record.capabilities = new_capabilities
            record.available = available
            record.headroom_estimate = headroom
        for observer in self._advertise_observers:
            observer(bytes(identity_id), headroom)

    def update_reputation(self, identity_id: bytes, score: float) -> None:
        """Set the reputation score (any float). Raises UnknownSeederError."""
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            if record is None:
                raise UnknownSeederError(bytes(identity_id))
            record.reputation_score = score

    def inc_load(self, identity_id: bytes) -> int:
        """Increment the in-flight offer count; returns the new load. Raises UnknownSeederError."""
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            if record is None:
                raise UnknownSeederError(bytes(identity_id))
            record.load += 1
            return record.load

    def dec_load(self, identity_id: bytes) -> int:
        """Decrement the load; returns the new load. Raises LoadUnderflowError at ≤ 0 (no change)."""
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            if record is None:
                raise UnknownSeederError(bytes(identity_id))
            if record.load <= 0:
                raise LoadUnderflowError(bytes(identity_id))
            record.load -= 1
            return record.load

    def sweep(self, stale_before: float) -> int:
        """Remove seeders whose last heartbeat is ≤ stale_before (inclusive); returns how many."""
        removed = 0
        for shard in self._shards:
            with shard.lock:
                stale = [key for key, rec in shard.records.items() if rec.last_heartbeat <= stale_before]
                for key in stale:
                    del shard.records[key]
                removed += len(stale)
        return removed

    # --- reads ----------------------------------------------------------------------------------------------

    def get(self, identity_id: bytes) -> SeederRecord | None:
        """A deep copy of the record, or None."""
        shard = self._shard(identity_id)
        with shard.lock:
            record = shard.records.get(bytes(identity_id))
            return None if record is None else record.copy()

    def snapshot(self) -> list[SeederRecord]:
        """Deep copies of every record, unordered (each shard read under its own lock)."""
        result: list[SeederRecord] = []
        for shard in self._shards:
            with shard.lock:
                result.extend(record.copy() for record in shard.records.values())
        return result

    def best(self, rank: Callable[[SeederRecord], _Rank | None]) -> SeederRecord | None:
        """A deep copy of the record with the smallest `rank` (None leaves a record out), or None when no
        record qualifies; on equal ranks the first one seen wins. Copies one record instead of all of them:
        `rank` is called with the live records, under their shard's lock, and must only read them."""
        best: SeederRecord | None = None
        best_rank: _Rank | None = None
        for shard in self._shards:
            with shard.lock:
                for record in shard.records.values():
                    value = rank(record)
                    if value is not None and (best_rank is None or value < best_rank):
                        best, best_rank = record.copy(), value
        return best

    def match(self, candidate_filter: Filter) -> list[SeederRecord]:
        """Copies of the records that pass every rule of `candidate_filter` (§6.3), unordered."""
        result: list[SeederRecord] = []
        for shard in self._shards:
            with shard.lock:
                result.extend(rec.copy() for rec in shard.records.values() if candidate_filter.accepts(rec))
        return result

    def __len__(self) -> int:
        return sum(len(shard.records) for shard in self._shards)
