"""The registry under many concurrent Trio tasks (and worker threads): no lost updates, consistent loads."""

from __future__ import annotations

import contextlib
import random

import trio

from tracker.registry import (
    Capabilities,
    Filter,
    LoadUnderflowError,
    Registry,
    SeederRecord,
    UnknownSeederError,
)

NOW = 1777118400.0


def ident(i: int) -> bytes:
    return i.to_bytes(8, "big") + bytes(24)


async def test_mixed_operations_from_many_trio_tasks() -> None:
    registry = Registry()
    ids = [ident(i) for i in range(64)]
    for identity in ids:
        registry.register(
            SeederRecord(identity_id=identity, available=True, headroom_estimate=0.5, last_heartbeat=NOW)
        )
    expected_load = dict.fromkeys(ids, 0)

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        for step in range(200):
            identity = rng.choice(ids)
            action = rng.randrange(6)
            if action == 0:
                registry.inc_load(identity)
                expected_load[identity] += 1
            elif action == 1:
                try:
                    registry.dec_load(identity)
                    expected_load[identity] -= 1
                except LoadUnderflowError:
                    assert expected_load[identity] == 0
            elif action == 2:
                registry.heartbeat(identity, NOW + step)
            elif action == 3:
                registry.advertise(identity, Capabilities(models=[f"m{seed}"]), True, rng.random())
            elif action == 4:
                assert len(registry.snapshot()) == 64
            else:
                registry.match(Filter(require_available=True, min_headroom=0.1))
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        for seed in range(16):
            nursery.start_soon(worker, seed)
    assert {r.identity_id: r.load for r in registry.snapshot()} == expected_load


async def test_worker_threads_do_not_lose_load_updates() -> None:
    registry = Registry()
    ids = [ident(i) for i in range(8)]
    for identity in ids:
        registry.register(SeederRecord(identity_id=identity, last_heartbeat=NOW))

    def hammer() -> None:
        for _ in range(2000):
            for identity in ids:
                registry.inc_load(identity)

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(trio.to_thread.run_sync, hammer)
    assert all(r.load == 8000 for r in registry.snapshot())


async def test_sweep_racing_heartbeats_never_corrupts_the_shards() -> None:
    registry = Registry()
    for i in range(200):
        registry.register(SeederRecord(identity_id=ident(i), last_heartbeat=NOW - (i % 2) * 1000))

    async def beat() -> None:
        for i in range(0, 200, 2):
            with contextlib.suppress(UnknownSeederError):
                registry.heartbeat(ident(i), NOW + 1)
            await trio.sleep(0)

    async def sweep() -> None:
        for _ in range(10):
            registry.sweep(NOW - 500)
            await trio.sleep(0)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(beat)
        nursery.start_soon(sweep)
    assert len(registry) == 100
    assert all(r.identity_id[7] % 2 == 0 for r in registry.snapshot())
