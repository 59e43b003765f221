"""Child process of the SIGKILL test: appends starter grants from 8 concurrent Trio tasks forever and prints
`ACK <seq> <hash-hex>` for every append the ledger acknowledged (after its commit)."""

from __future__ import annotations

import sys

import trio

from tests.ledger.helpers import identity_id, tracker_identity
from tracker.ledger import open_ledger


async def main(path: str) -> None:
    async with open_ledger(path, tracker_identity()) as ledger:

        async def append_forever(worker: int) -> None:
            while True:
                committed = await ledger.issue_starter_grant(identity_id(f"worker-{worker}"), 1)
                sys.stdout.write(f"ACK {committed.seq} {committed.hash.hex()}\n")
                sys.stdout.flush()

        async with trio.open_nursery() as nursery:
            for worker in range(8):
                nursery.start_soon(append_forever, worker)


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
