"""Adapter between the admission admin routes and the admission subsystem (PersistentAdmission + its core).

Every read and mutation the routes need is one method here, returning JSON-ready values; subsystem
exceptions are translated into the two failures the routes report (tlog write, snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import trio

from tracker.admin._protocols import AdmissionView, LedgerView
from tracker.admission import (
    LedgerEvent,
    SnapshotError,
    TLogWriteError,
    event_from_committed_entry,
    seeder_state_to_go_json,
)
from tracker.admission.core._events import event_touches  # not exported (yet) by tracker.admission

RECOMPUTE_PAGE_SIZE = 1000


class TlogWriteError(Exception):
    """The OPERATOR_OVERRIDE record could not be written to the admission tlog."""


class SnapshotFailedError(Exception):
    """An operator-requested snapshot could not be written."""


def _events_touching(consumer_id: bytes, page: Sequence[Any]) -> list[tuple[int, LedgerEvent]]:
    """(ledger seq, event) for every entry of `page` that changes `consumer_id`'s credit state."""
    touching = []
    for committed in page:
        event = event_from_committed_entry(committed)
        if event is not None and event_touches(event, consumer_id):
            touching.append((int(committed.seq), event))
    return touching


class AdmissionBridge:
    """Reads and mutations of the admission subsystem on behalf of the admin routes."""

    def __init__(self, admission: AdmissionView, ledger: LedgerView) -> None:
        self._admission = admission
        self._ledger = ledger

    @property
    def _core(self) -> Any:
        return self._admission.core

    # --- reads --------------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return self._core.status().to_go_json()

    def queue_entries(self, now: float) -> list[dict[str, Any]]:
        return [item.to_go_json() for item in self._core.queue_view(now)]

    def consumer_score(self, consumer_id: bytes, now: float) -> dict[str, Any] | None:
        view = self._core.consumer_view(consumer_id, now)
        return None if view is None else view.to_go_json()

    def seeder_state(self, seeder_id: bytes) -> dict[str, Any] | None:
        state = self._core.seeder_view(seeder_id)
        return None if state is None else seeder_state_to_go_json(state)

    def blocklist(self) -> list[str]:
        """Blocked peer ids, lowercase hex, sorted."""
        return sorted(self._core.blocklist())

    # --- mutations ----------------------------------------------------------------------------------------

    def drain(self, count: int) -> list[bytes]:
        """Pop up to `count` entries from the head of the queue; their consumer ids in pop order."""
        return [entry.consumer_id for entry in self._core.drain(count)]

    def eject(self, request_id_text: str) -> int:
        """Remove queue entries whose request id (hex, either case) equals the text; how many were removed."""
        return int(self._core.eject(request_id_text.lower()))

    def blocklist_add(self, peer_id: bytes) -> None:
        self._core.blocklist_add(peer_id)

    def blocklist_remove(self, peer_id: bytes) -> None:
        self._core.blocklist_remove(peer_id)

    async def snapshot_now(self) -> None:
        """Write a snapshot now (a no-op without a snapshot prefix). Raises SnapshotFailedError."""
        try:
            await self._admission.snapshot_now()
        except SnapshotError as error:
            raise SnapshotFailedError(str(error)) from error

    async def recompute(self, consumer_id: bytes) -> bool:
        """Rebuild the consumer's ledger-derived credit state from every committed ledger entry that admission
        has applied so far (dispute buckets, which the ledger does not carry, are kept). Returns False when
        neither the ledger nor admission knows the identity.

        Reading the ledger yields to the event loop; meanwhile new entries keep being applied live. The
        rebuild therefore uses exactly the entries up to the position admission has reflected at the moment
        of the swap (read synchronously, with no checkpoint in between): no entry is counted twice or lost.
        """
        touching: list[tuple[int, LedgerEvent]] = []
        read_through = 0
        while True:
            target = self._admission.ledger_seq
            exhausted = False
            while read_through < target:
                page = await self._ledger.entries_since(read_through, RECOMPUTE_PAGE_SIZE)
                if not page:
                    exhausted = True
                    break
                touching.extend(await trio.to_thread.run_sync(_events_touching, consumer_id, page))
                read_through = int(page[-1].seq)
            target = self._admission.ledger_seq
            if exhausted or read_through >= target:
                break
        events = [event for seq, event in touching if seq <= target]
        return self._core.recompute_consumer(consumer_id, events) is not None

    async def record_override(self, operator_id: str, action: str, params: bytes, ts: int) -> None:
        """Append the OPERATOR_OVERRIDE audit record (batched; fsynced by the tlog ticker).

        Raises TlogWriteError."""
        try:
            self._admission.record_operator_override(operator_id, action, params, ts)
        except TLogWriteError as error:
            raise TlogWriteError(str(error)) from error
