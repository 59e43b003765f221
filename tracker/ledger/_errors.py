"""Typed errors of the ledger; messages follow the Go tracker's texts where tests match on them."""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every error the ledger raises on purpose."""


class EntryValidationError(LedgerError, ValueError):
    """An entry body or an append record breaks a structural rule (length, range, kind, flags, model)."""


class SignatureError(LedgerError):
    """A counterparty signature (consumer or seeder) does not verify over the canonical body."""


class StaleTip(LedgerError):
    """The caller-built body's prev_hash / seq is not (tip hash, tip seq + 1); rebuild, re-sign and retry."""

    BASE_MESSAGE = "ledger: entry prev_hash / seq does not match current tip"


class InsufficientBalance(LedgerError):
    """The entry would take a balance below the floor (0)."""

    BASE_MESSAGE = "ledger: balance would go below permitted floor"

    def __init__(self, identity_id: bytes, current: int, delta: int) -> None:
        super().__init__(f"{self.BASE_MESSAGE}: identity={identity_id.hex()} current={current} delta={delta}")
        self.identity_id = identity_id
        self.current = current
        self.delta = delta


class TransferRefExists(LedgerError):
    """A transfer (out or in) with this ref is already on the chain."""


class TimestampOutOfWindow(LedgerError):
    """A caller-built entry's timestamp is more than 5 minutes away from the tracker clock."""


class AlreadyExists(LedgerError):
    """Storage: an entry with this seq or hash already exists."""


class UsageReportExists(LedgerError):
    """This seeder's usage report (by its report id) is already on the chain, at `seq`."""

    def __init__(self, seq: int) -> None:
        super().__init__(f"ledger: usage report already settled at seq {seq}")
        self.seq = seq


class DuplicateMerkleRoot(LedgerError):
    """Storage: a Merkle root for this hour is already stored (roots are immutable)."""


class LedgerStorageError(LedgerError):
    """The SQLite database could not be opened, read or written (I/O, corruption, not a ledger file)."""


class LedgerClosed(LedgerError):
    """The ledger was closed before (or while) the operation ran."""


class ChainIntegrityError(LedgerError):
    """The audit found damage; `seq` is the first bad seq and `reason` says what is wrong with it."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"ledger: {reason}")
        self.seq = seq
        self.reason = reason
