"""Property: any sequence of appends (accepted or rejected) leaves a sound chain whose balance projection
equals a replay of the chain, with gap-free seqs."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ledger.conftest import FakeClock
from tests.ledger.helpers import (
    PARTIES,
    ledger_operation,
    tracker_identity,
    transfer_in_record,
    transfer_out_record,
    usage_record,
)
from tracker.ledger import Ledger, LedgerError, LedgerStore, verify_ledger

operation = ledger_operation


def _apply(ledger: Ledger, op: tuple, counter: int) -> None:
    kind = op[0]
    if kind == "grant":
        ledger.issue_starter_grant(PARTIES[op[1]].identity_id, op[2])
    elif kind == "usage":
        ledger.append_usage(
            usage_record(
                ledger, PARTIES[op[1]], PARTIES[op[2]], op[3], request_id=counter.to_bytes(16, "big")
            )
        )
    elif kind == "out":
        ledger.append_transfer_out(transfer_out_record(ledger, PARTIES[op[1]], op[2], bytes([op[3]]) * 32))
    else:
        ledger.append_transfer_in(
            transfer_in_record(ledger, PARTIES[op[1]].identity_id, op[2], bytes([op[3] + 9]) * 32)
        )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=25))
def test_any_append_sequence_keeps_chain_and_projection_consistent(operations: list[tuple]) -> None:
    identity = tracker_identity()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ledger.sqlite"
        accepted = 0
        with Ledger.open(path, identity, clock=FakeClock()) as ledger:
            for counter, op in enumerate(operations):
                try:
                    _apply(ledger, op, counter)
                except LedgerError:
                    continue
                accepted += 1
            tip = ledger.tip()
            assert (tip.seq if tip else 0) == accepted
            for member in PARTIES:
                row = ledger.balance(member.identity_id)
                assert row is None or row.credits >= 0
        store = LedgerStore.open(path, read_only=True)
        try:
            report = verify_ledger(store, identity.public_key)
        finally:
            store.close()
        assert report.damage is None, report.damage
        assert report.entries_checked == accepted
