"""The credit ledger: a signed, hash-chained log of credit movements in SQLite with a balance projection.

Layout:

    _ledger.py     `Ledger`, the synchronous core: appends (one writer), reads, start-up projection replay
    _service.py    the Trio façade: `open_ledger(path, identity)` → `AsyncLedger` (group commit in a worker
                   thread, subscribers on the Trio thread); the `run_merkle_rollup` ticker
    _store.py      SQLite (WAL) schema access: the only module that runs SQL
    _prepare.py    checking and signing an append against the current tip and balances
    _builders.py   entry bodies per kind (Go entry.Build*)
    _validate.py   structural validation of bodies and signatures
    _wire.py       canonical bytes, hashes, Ed25519 verify, `EntryKind`
    _records.py    the public records: requests, `CommittedEntry`, `Tip`
    _audit.py      offline chain and projection verification (`trio-tracker ledger verify`)
    _merkle.py     hourly Merkle roots
    _schema.py     the SQLite schema
    _metrics.py    `LedgerMetrics`
    _errors.py     `LedgerError` and its leaves

Rules: only `_service.py` imports Trio; other packages read committed entries as `CommittedEntry` /
`EntryKind` from this face and never touch the store.
"""

from tracker._proto.balance_pb2 import BalanceSnapshotBody, SignedBalanceSnapshot
from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.ledger._audit import AuditReport, balance_deltas, verify_ledger
from tracker.ledger._builders import (
    build_starter_grant_entry,
    build_transfer_in_entry,
    build_transfer_out_entry,
    build_usage_entry,
)
from tracker.ledger._errors import (
    AlreadyExists,
    ChainIntegrityError,
    DuplicateMerkleRoot,
    EntryValidationError,
    InsufficientBalance,
    LedgerClosed,
    LedgerError,
    LedgerStorageError,
    SignatureError,
    StaleTip,
    TimestampOutOfWindow,
    TransferRefExists,
    UsageReportExists,
)
from tracker.ledger._identities import IdentityStore, PeerIdentity
from tracker.ledger._ledger import Ledger
from tracker.ledger._merkle import merkle_root, merkle_root_preimage
from tracker.ledger._metrics import LedgerMetrics
from tracker.ledger._ownership import LedgerNotOursError, check_ledger_is_ours, schema_problems
from tracker.ledger._peer_audit import PeerSignatureReport, describe_entry
from tracker.ledger._prepare import TIMESTAMP_WINDOW_SECONDS
from tracker.ledger._records import (
    AppendRequest,
    BrokeredUsageRecord,
    CommittedEntry,
    StarterGrantRequest,
    Tip,
    TransferInRecord,
    TransferOutRecord,
    UsageRecord,
)
from tracker.ledger._service import AsyncLedger, open_ledger, run_merkle_rollup
from tracker.ledger._settlement import Countersignature, CountersignatureConflict, SettlementStore
from tracker.ledger._store import BalanceRow, LedgerStore
from tracker.ledger._validate import validate_entry_body, verify_all
from tracker.ledger._wire import (
    BALANCE_SNAPSHOT_TTL_SECONDS,
    ZERO_HASH,
    EntryKind,
    canonical_bytes,
    encode_entry,
    entry_hash,
    verify_balance_snapshot,
    verify_signature,
)

__all__ = [
    "BALANCE_SNAPSHOT_TTL_SECONDS",
    "TIMESTAMP_WINDOW_SECONDS",
    "ZERO_HASH",
    "AlreadyExists",
    "AppendRequest",
    "AsyncLedger",
    "AuditReport",
    "BalanceRow",
    "BalanceSnapshotBody",
    "BrokeredUsageRecord",
    "ChainIntegrityError",
    "CommittedEntry",
    "Countersignature",
    "CountersignatureConflict",
    "DuplicateMerkleRoot",
    "Entry",
    "EntryBody",
    "EntryKind",
    "EntryValidationError",
    "IdentityStore",
    "InsufficientBalance",
    "Ledger",
    "LedgerClosed",
    "LedgerError",
    "LedgerMetrics",
    "LedgerNotOursError",
    "LedgerStorageError",
    "LedgerStore",
    "PeerIdentity",
    "PeerSignatureReport",
    "SettlementStore",
    "SignatureError",
    "SignedBalanceSnapshot",
    "StaleTip",
    "StarterGrantRequest",
    "TimestampOutOfWindow",
    "Tip",
    "TransferInRecord",
    "TransferOutRecord",
    "TransferRefExists",
    "UsageRecord",
    "UsageReportExists",
    "balance_deltas",
    "build_starter_grant_entry",
    "build_transfer_in_entry",
    "build_transfer_out_entry",
    "build_usage_entry",
    "canonical_bytes",
    "check_ledger_is_ours",
    "describe_entry",
    "encode_entry",
    "entry_hash",
    "merkle_root",
    "merkle_root_preimage",
    "open_ledger",
    "run_merkle_rollup",
    "schema_problems",
    "validate_entry_body",
    "verify_all",
    "verify_balance_snapshot",
    "verify_ledger",
    "verify_signature",
]
