"""`BalanceView`: every identity's credits in memory together with the chain tip they are valid at, kept up to
date from committed entries in commit order. It lets the Trio façade sign a balance snapshot without a read
from SQLite; pure and synchronous (the façade drives it from the Trio thread)."""

from __future__ import annotations

from tracker.ledger._records import CommittedEntry, Tip
from tracker.ledger._wire import ZERO_HASH


class BalanceView:
    """Credits per identity as of `tip`. Built from the balance projection at open, then advanced by `apply`
    with each committed entry in commit order, so a (credits, tip) pair read from it between two `apply`
    calls always belongs together."""

    __slots__ = ("_credits", "tip_hash", "tip_seq")

    def __init__(self, credits: dict[bytes, int], tip: Tip) -> None:
        self._credits = credits
        self.tip_seq = tip.seq
        self.tip_hash = tip.hash if tip.seq else ZERO_HASH

    def __len__(self) -> int:
        return len(self._credits)

    def credits(self, identity_id: bytes) -> int:
        """The identity's credits at the view's tip (0 when no entry touched it)."""
        return self._credits.get(identity_id, 0)

    def apply(self, committed: CommittedEntry) -> None:
        """Advance the view by the next committed entry (one handed back by an append: it carries the balances
        its transaction wrote). Raises ValueError, changing nothing, when `committed` does not extend the
        view's tip."""
        if committed.seq != self.tip_seq + 1 or committed.entry.body.prev_hash != self.tip_hash:
            raise ValueError(
                f"balance view: entry seq {committed.seq} does not extend the view's tip seq {self.tip_seq}"
            )
        credits = self._credits
        for identity_id, balance in committed.balances_after:
            credits[identity_id] = balance
        self.tip_seq = committed.seq
        self.tip_hash = committed.hash
