"""Child process of the SIGKILL tests: 8 concurrent Trio tasks append starter grants forever and print
`ACK <seq> <hash-hex>` for every append the ledger acknowledged (after its commit). With `countersign`, each
task also records a countersignature for every entry it appended and prints `SIG <seq> <signature-hex>` once
that is acknowledged (the records of the tasks share the appends' group commits)."""

from __future__ import annotations

import os
import sys

import trio

from tests.ledger.helpers import identity_id, tracker_identity
from tracker.ledger import open_ledger


async def main(path: str, countersign: bool) -> None:
    async with open_ledger(path, tracker_identity()) as ledger:

        async def append_forever(worker: int) -> None:
            while True:
                committed = await ledger.issue_starter_grant(identity_id(f"worker-{worker}"), 1)
                sys.stdout.write(f"ACK {committed.seq} {committed.hash.hex()}\n")
                sys.stdout.flush()
                if countersign:
                    signature = os.urandom(64)
                    await ledger.record_countersignature(committed.seq, signature, committed.seq)
                    sys.stdout.write(f"SIG {committed.seq} {signature.hex()}\n")
                    sys.stdout.flush()

        async with trio.open_nursery() as nursery:
            for worker in range(8):
                nursery.start_soon(append_forever, worker)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2:] == ["countersign"])
