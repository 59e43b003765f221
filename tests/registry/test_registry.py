"""The seeder registry (ledger-registry.md §6): operations, errors, deep copies, sharding, match, sweep."""

from __future__ import annotations

import math

import pytest

from tracker.registry import (
    DEFAULT_SHARD_COUNT,
    GO_ZERO_TIME,
    Capabilities,
    Filter,
    InvalidHeadroomError,
    InvalidShardCountError,
    LoadUnderflowError,
    NetCoords,
    PrivacyTier,
    Registry,
    SeederRecord,
    UnknownSeederError,
)

NOW = 1777118400.0


def ident(byte: int) -> bytes:
    return bytes([byte]) * 32


def record(byte: int, **fields: object) -> SeederRecord:
    base: dict[str, object] = {
        "identity_id": ident(byte),
        "capabilities": Capabilities(
            models=["claude-opus-4-7"], max_context=200000, tiers=[PrivacyTier.STANDARD]
        ),
        "available": True,
        "headroom_estimate": 0.5,
        "reputation_score": 1.0,
        "net_coords": NetCoords("198.51.100.1:7777", ["10.0.0.1:1"]),
        "last_heartbeat": NOW,
    }
    base.update(fields)
    return SeederRecord(**base)  # type: ignore[arg-type]


def test_shard_count_must_be_positive() -> None:
    assert Registry().shard_count == DEFAULT_SHARD_COUNT == 16
    for bad in (0, -1):
        with pytest.raises(InvalidShardCountError, match="shard count must be positive"):
            Registry(bad)


def test_ids_differing_in_byte_7_spread_over_shards() -> None:
    registry = Registry()
    shards = {registry.shard_index(bytes(7) + bytes([i]) + bytes(24)) for i in range(256)}
    assert len(shards) >= 4
    assert registry.shard_index(bytes(7) + b"\x11" + bytes(24)) == 0x11 % 16


def test_register_get_and_deregister() -> None:
    registry = Registry()
    assert registry.get(ident(1)) is None
    registry.register(record(1))
    got = registry.get(ident(1))
    assert got == record(1)
    registry.register(record(1, load=3))  # upsert
    assert registry.get(ident(1)).load == 3  # type: ignore[union-attr]
    registry.deregister(ident(1))
    registry.deregister(ident(1))  # absent: no-op
    assert registry.get(ident(1)) is None
    assert len(registry) == 0


def test_readers_and_writers_copy() -> None:
    registry = Registry()
    mine = record(1)
    registry.register(mine)
    mine.capabilities.models.append("mutated")
    mine.net_coords.local_candidates.clear()
    out = registry.get(ident(1))
    assert out is not None
    assert out.capabilities.models == ["claude-opus-4-7"]
    out.capabilities.models.clear()
    out.net_coords.local_candidates.append("x")
    assert registry.snapshot()[0].capabilities.models == ["claude-opus-4-7"]
    assert registry.match(Filter())[0].net_coords.local_candidates == ["10.0.0.1:1"]
    caps = Capabilities(models=["a"])
    registry.advertise(ident(1), caps, True, 0.3)
    caps.models.append("b")
    assert registry.get(ident(1)).capabilities.models == ["a"]  # type: ignore[union-attr]


def test_unknown_seeder_errors() -> None:
    registry = Registry()
    for call in (
        lambda: registry.heartbeat(ident(9), NOW),
        lambda: registry.advertise(ident(9), Capabilities(), True, 0.5),
        lambda: registry.update_reputation(ident(9), 0.5),
        lambda: registry.inc_load(ident(9)),
        lambda: registry.dec_load(ident(9)),
        lambda: registry.update_external_addr(ident(9), "1.2.3.4:5"),
    ):
        with pytest.raises(UnknownSeederError, match="registry: unknown seeder"):
            call()


def test_advertise_checks_headroom_first_and_does_not_mutate_on_error() -> None:
    registry = Registry()
    for bad in (-0.01, 1.01, math.nan):
        with pytest.raises(InvalidHeadroomError, match=r"headroom must be within \[0.0, 1.0\]"):
            registry.advertise(ident(9), Capabilities(), True, bad)  # unknown id, but headroom checked first
    registry.register(record(1, headroom_estimate=0.4, available=False))
    with pytest.raises(InvalidHeadroomError):
        registry.advertise(ident(1), Capabilities(models=["x"]), True, 2.0)
    unchanged = registry.get(ident(1))
    assert unchanged is not None
    assert (unchanged.headroom_estimate, unchanged.available, unchanged.capabilities.models) == (
        0.4,
        False,
        ["claude-opus-4-7"],
    )
    for edge in (0.0, 1.0):
        registry.advertise(ident(1), Capabilities(models=["x"], attestation=b"att"), True, edge)
    after = registry.get(ident(1))
    assert after is not None
    assert (after.headroom_estimate, after.available, after.capabilities.attestation) == (1.0, True, b"att")


def test_heartbeat_reputation_and_external_addr() -> None:
    registry = Registry()
    registry.register(record(1))
    registry.heartbeat(ident(1), NOW + 5)
    registry.update_reputation(ident(1), -3.5)
    registry.update_external_addr(ident(1), "203.0.113.9:1")
    got = registry.get(ident(1))
    assert got is not None
    assert got.last_heartbeat == NOW + 5
    assert got.reputation_score == -3.5
    assert got.net_coords == NetCoords("203.0.113.9:1", ["10.0.0.1:1"])


def test_load_accounting_and_underflow() -> None:
    registry = Registry()
    registry.register(record(1))
    assert registry.inc_load(ident(1)) == 1
    assert registry.inc_load(ident(1)) == 2
    assert registry.dec_load(ident(1)) == 1
    assert registry.dec_load(ident(1)) == 0
    with pytest.raises(LoadUnderflowError, match="load underflow"):
        registry.dec_load(ident(1))
    assert registry.get(ident(1)).load == 0  # type: ignore[union-attr]


def test_match_rules() -> None:
    registry = Registry()
    registry.register(record(1))
    registry.register(record(2, available=False))
    registry.register(record(3, capabilities=Capabilities(models=["other"], tiers=[PrivacyTier.STANDARD])))
    registry.register(
        record(4, capabilities=Capabilities(models=["claude-opus-4-7"], tiers=[PrivacyTier.TEE]))
    )
    registry.register(record(5, headroom_estimate=0.1))
    registry.register(record(6, load=5))
    registry.register(record(7, load=4))
    registry.register(record(8, headroom_estimate=math.nan))
    broker = Filter(
        require_available=True,
        model="claude-opus-4-7",
        tier=PrivacyTier.STANDARD,
        min_headroom=0.2,
        max_load=5,
    )
    assert sorted(r.identity_id[0] for r in registry.match(broker)) == [1, 7, 8]
    assert len(registry.match(Filter())) == 8
    registry.register(record(9, headroom_estimate=-0.5))
    assert 9 not in {r.identity_id[0] for r in registry.match(Filter())}


def test_best_copies_the_lowest_ranked_record_across_shards() -> None:
    registry = Registry()
    for byte in (1, 2, 3, 200, 201):
        registry.register(record(byte, load=byte % 7))
    assert {registry.shard_index(ident(byte)) for byte in (1, 2, 3, 200, 201)} != {0}  # spread over shards

    def rank(seeder: SeederRecord) -> tuple[int, bytes] | None:
        return None if seeder.identity_id == ident(3) else (seeder.load, seeder.identity_id)

    best = registry.best(rank)
    assert best is not None and best.identity_id == ident(1)  # loads: 1, 2, (3 left out), 4, 5
    best.load = 99
    best.capabilities.models.append("mutated")
    assert registry.get(ident(1)).load == 1  # type: ignore[union-attr]  # a copy, not the live record
    assert "mutated" not in registry.get(ident(1)).capabilities.models  # type: ignore[union-attr]
    assert registry.best(lambda seeder: None) is None
    assert Registry().best(lambda seeder: (0,)) is None


def test_sweep_is_inclusive_and_always_removes_zero_heartbeats() -> None:
    registry = Registry()
    registry.register(record(1, last_heartbeat=NOW - 600))
    registry.register(record(2, last_heartbeat=NOW - 599))
    registry.register(record(3, last_heartbeat=GO_ZERO_TIME))
    assert registry.sweep(NOW - 600) == 2
    assert [r.identity_id for r in registry.snapshot()] == [ident(2)]


def test_observers_see_heartbeats_and_advertisements() -> None:
    registry = Registry()
    beats: list[tuple[bytes, float]] = []
    adverts: list[tuple[bytes, float]] = []
    registry.add_heartbeat_observer(lambda seeder, now: beats.append((seeder, now)))
    registry.add_advertise_observer(lambda seeder, headroom: adverts.append((seeder, headroom)))
    registry.register(record(1))
    registry.register(record(2, last_heartbeat=GO_ZERO_TIME))
    registry.heartbeat(ident(1), NOW + 1)
    registry.advertise(ident(1), Capabilities(), True, 0.6)
    with pytest.raises(UnknownSeederError):
        registry.heartbeat(ident(5), NOW)
    assert beats == [(ident(1), NOW), (ident(1), NOW + 1)]
    assert adverts == [(ident(1), 0.6)]
