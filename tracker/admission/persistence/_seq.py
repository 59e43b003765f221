"""The tlog/snapshot sequence scheme: every seq computation of admission lives here.

tlog and snapshot bytes are Go's; only the *values* of seq are ours:

* The record derived from committed ledger entry L carries seq `L << 20` (`tlog_seq_for_ledger`).
* A local record (dispute, operator override, an event that did not come from the ledger) takes the next
  seq after the highest one used: `(L << 20) + n`, L = the ledger position at that moment, 0 < n < 2**20
  (`next_local_seq`; more than 2**20 - 1 local records at one ledger position are refused).
* So seqs increase strictly in file order and every seq tells the ledger position it was written at
  (`ledger_seq_of`). A snapshot is stamped and named with the highest seq it contains.
* A record is ledger-derived iff its low 20 bits are zero (`is_ledger_derived`); replay applies ledger-derived
  records only while they are contiguous (`is_next_ledger_record`).

The replay hot loops (persistence/_replay.py) inline `seq & LOCAL_SEQ_MASK` and `seq >> LEDGER_SEQ_SHIFT`
with these constants instead of calling the helpers (a function call per record costs ~10% of replay).
"""

from __future__ import annotations

from tracker.admission._errors import TLogWriteError

__all__ = [
    "LEDGER_SEQ_SHIFT",
    "LEDGER_SEQ_STEP",
    "LOCAL_SEQ_MASK",
    "is_ledger_derived",
    "is_next_ledger_record",
    "ledger_seq_of",
    "next_local_seq",
    "tlog_seq_for_ledger",
]

LEDGER_SEQ_SHIFT = 20
"""tlog seq of the record derived from ledger entry L = L << 20; local records take the next free seq."""
LEDGER_SEQ_STEP = 1 << LEDGER_SEQ_SHIFT
"""The seq distance between the records of two consecutive ledger entries."""
LOCAL_SEQ_MASK = LEDGER_SEQ_STEP - 1
"""The low bits of a seq that count local records after a ledger position."""


def tlog_seq_for_ledger(ledger_seq: int) -> int:
    """The seq of the record derived from ledger entry `ledger_seq`."""
    return ledger_seq << LEDGER_SEQ_SHIFT


def ledger_seq_of(tlog_seq: int) -> int:
    """The ledger position a tlog/snapshot seq reflects."""
    return tlog_seq >> LEDGER_SEQ_SHIFT


def is_ledger_derived(tlog_seq: int) -> bool:
    """True for the seq of a record derived from a committed ledger entry (no local bits)."""
    return tlog_seq & LOCAL_SEQ_MASK == 0


def is_next_ledger_record(tlog_seq: int, ledger_position: int) -> bool:
    """True when `tlog_seq` is the record of ledger entry `ledger_position + 1`."""
    return tlog_seq & LOCAL_SEQ_MASK == 0 and tlog_seq >> LEDGER_SEQ_SHIFT == ledger_position + 1


def next_local_seq(last_seq: int) -> int:
    """The seq of the next local record after `last_seq`. Raises TLogWriteError when the local counter of the
    current ledger position is exhausted (the next ledger entry frees it)."""
    seq = last_seq + 1
    if seq & LOCAL_SEQ_MASK == 0:
        raise TLogWriteError(
            f"admission/tlog: more than {LOCAL_SEQ_MASK} local records since ledger seq "
            f"{last_seq >> LEDGER_SEQ_SHIFT}; waiting for the next ledger entry"
        )
    return seq
