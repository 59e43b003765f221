"""A stand-in ledger for admin route tests needing ledger failures or values the real one cannot give."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker._proto import balance_pb2


@dataclass(frozen=True)
class FakeTip:
    seq: int
    hash: bytes


@dataclass
class FakeLedger:
    """tip() / signed_balance() with preset answers or preset failures."""

    tip_value: FakeTip | None = None
    balances: dict[bytes, int] = field(default_factory=dict)
    fail_with: Exception | None = None
    now: int = 1778328000

    async def tip(self) -> FakeTip | None:
        if self.fail_with is not None:
            raise self.fail_with
        return self.tip_value

    async def signed_balance(self, identity_id: bytes) -> balance_pb2.SignedBalanceSnapshot | None:
        if self.fail_with is not None:
            raise self.fail_with
        if identity_id not in self.balances:
            return None
        tip = self.tip_value or FakeTip(0, bytes(32))
        body = balance_pb2.BalanceSnapshotBody(
            identity_id=identity_id,
            credits=self.balances[identity_id],
            chain_tip_hash=tip.hash,
            chain_tip_seq=tip.seq,
            issued_at=self.now,
            expires_at=self.now + 600,
        )
        return balance_pb2.SignedBalanceSnapshot(body=body, tracker_sig=b"\x01" * 64)

    async def entries_since(self, since_seq: int, limit: int) -> list[object]:
        return []
