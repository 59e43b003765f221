"""The admission file helpers the backup uses (listing, scanning and checking tlog and snapshot files, the seq
→ ledger position rule), gathered in one place: the only module of this package that reads admission's
persistence code, through the admission face."""

from __future__ import annotations

from tracker.admission import (
    SnapshotError,
    TLogScan,
    enumerate_snapshots,
    enumerate_tlog_files,
    ledger_seq_of,
    scan_tlog_file,
    snapshot_layout,
)

__all__ = [
    "SnapshotError",
    "TLogScan",
    "enumerate_snapshots",
    "enumerate_tlog_files",
    "ledger_seq_of",
    "scan_tlog_file",
    "snapshot_layout",
]
