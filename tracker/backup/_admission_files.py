"""The admission file helpers the backup uses (listing, scanning and checking tlog and snapshot files, the seq
→ ledger position rule), gathered in one place: the only module of this package that reads admission's
persistence code."""

from __future__ import annotations

from tracker.admission._replay import ledger_seq_of
from tracker.admission._snapshot_format import SnapshotFormatError, snapshot_layout
from tracker.admission._snapshot_store import enumerate_snapshots
from tracker.admission._tlog_reader import TLogScan, enumerate_tlog_files, scan_tlog_bytes

__all__ = [
    "SnapshotFormatError",
    "TLogScan",
    "enumerate_snapshots",
    "enumerate_tlog_files",
    "ledger_seq_of",
    "scan_tlog_bytes",
    "snapshot_layout",
]
