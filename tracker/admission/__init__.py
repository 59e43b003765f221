"""Admission: the gatekeeper of brokered requests (admission.md) — credit score, supply pressure, Decide, the
priority queue, attestations — with its crash-safe state (CRC-framed transaction log + snapshots).

Layout (rules in DESIGN.md; a test enforces the import rules):

    __init__.py     this face: the names other packages use, nothing else
    _service.py     `AdmissionService`, the front door and the only Trio module (with _tlog_trio.py):
                    start-up replay, live ledger feed, catch-up, snapshots, tickers, operator operations,
                    aclose()
    _errors.py      `AdmissionError` and every error under it
    core/           pure and synchronous: no trio, no file I/O, no numpy, nothing from persistence/
    persistence/    blocking file I/O and byte formats, no trio: seq scheme, tlog format/writer/reader,
                    snapshots, replay, offline inspection
      bulk/         the numpy replay engine, imported only when there is something to replay

Other packages import from this face only: the app builds the service (`AdmissionService.create`), the admin
API calls one service method per route, the CLI inspects files through `inspect_files`, the backup lists,
scans and checks the files it copies (`enumerate_tlog_files`, `scan_tlog_file`, `enumerate_snapshots`,
`snapshot_layout`, `ledger_seq_of`), and `run --allow-new-ledger` sets the old state aside
(`admission_state_files`, `set_aside_admission_state`). Nothing outside admission holds the core.
"""

from tracker.admission._errors import AdmissionConfigError, AdmissionError, SnapshotError, TLogWriteError
from tracker.admission._service import AdmissionService, LedgerSource
from tracker.admission.core._decision import (
    DecisionResult,
    Outcome,
    Queued,
    QueueTimeout,
    Rejected,
    RejectReason,
    ScoreSource,
)
from tracker.admission.core._metrics import AdmissionMetrics
from tracker.admission.core._queue import QueueEntry
from tracker.admission.core._score import Signals
from tracker.admission.core._state import SeederHeartbeatState
from tracker.admission.core._views import AdmissionStatus, ConsumerView, QueueItemView
from tracker.admission.persistence._inspect import PersistenceInspection, inspect_files
from tracker.admission.persistence._metrics import PersistenceMetrics
from tracker.admission.persistence._seq import ledger_seq_of
from tracker.admission.persistence._set_aside import admission_state_files, set_aside_admission_state
from tracker.admission.persistence._snapshot_format import snapshot_layout
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_reader import TLogScan, enumerate_tlog_files, scan_tlog_file

__all__ = [
    "AdmissionConfigError",
    "AdmissionError",
    "AdmissionMetrics",
    "AdmissionService",
    "AdmissionStatus",
    "ConsumerView",
    "DecisionResult",
    "LedgerSource",
    "Outcome",
    "PersistenceInspection",
    "PersistenceMetrics",
    "QueueEntry",
    "QueueItemView",
    "QueueTimeout",
    "Queued",
    "RejectReason",
    "Rejected",
    "ScoreSource",
    "SeederHeartbeatState",
    "Signals",
    "SnapshotError",
    "TLogScan",
    "TLogWriteError",
    "admission_state_files",
    "enumerate_snapshots",
    "enumerate_tlog_files",
    "inspect_files",
    "ledger_seq_of",
    "scan_tlog_file",
    "set_aside_admission_state",
    "snapshot_layout",
]
