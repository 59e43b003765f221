"""Admission: credit score, supply pressure, Decide, priority queue, attestations (admission.md)."""

from tracker.admission._errors import (
    AdmissionConfigError,
    AdmissionError,
    AttestationSigningError,
    AttestationValidationError,
    NoLocalHistoryError,
    QueueFullError,
    RateLimitedError,
)
from tracker.admission.core._attestation import (
    canonical_body_bytes,
    sign_credit_attestation,
    validate_credit_attestation_body,
    validate_fetch_headroom_request,
    validate_fetch_headroom_response,
    verify_credit_attestation,
)
from tracker.admission.core._decision import (
    DecisionResult,
    Outcome,
    Queued,
    QueueTimeout,
    Rejected,
    RejectReason,
    ScoreSource,
)
from tracker.admission.core._events import (
    FLAG_CONSUMER_SIG_MISSING,
    LedgerEvent,
    LedgerEventKind,
    apply_ledger_event,
    event_from_committed_entry,
)
from tracker.admission.core._gatekeeper import (
    DEFAULT_QUEUE_TIMEOUT_S,
    AdmissionCore,
    check_config,
    compute_retry_after_s,
    min_serve_priority_for,
)
from tracker.admission.core._metrics import AdmissionMetrics
from tracker.admission.core._peers import AllowAllPeerSet, PeerSet, StaticPeerSet, parse_peer_id
from tracker.admission.core._queue import (
    EtaBand,
    PositionBand,
    PriorityQueue,
    QueueEntry,
    eta_band,
    position_band,
)
from tracker.admission.core._score import Signals, compute_local_score, compute_signals, go_round, sigmoid
from tracker.admission.core._state import (
    DAY_BUCKET_COUNT,
    EMPTY_DAY_BUCKET,
    MINUTE_BUCKET_COUNT,
    ZERO_TIME,
    BucketArray,
    ConsumerCreditState,
    DayBucket,
    MinuteBucket,
    SeederHeartbeatState,
    SignalSums,
    day_bucket_index,
    minute_bucket_index,
    rotate_if_stale,
    strip_to_day,
)
from tracker.admission.core._supply import EMPTY_SUPPLY, DemandTracker, SupplySnapshot
from tracker.admission.core._views import (
    AdmissionStatus,
    ConsumerView,
    QueueItemView,
    go_rfc3339,
    seeder_state_to_go_json,
)

__all__ = [
    "DAY_BUCKET_COUNT",
    "DEFAULT_QUEUE_TIMEOUT_S",
    "EMPTY_DAY_BUCKET",
    "EMPTY_SUPPLY",
    "FLAG_CONSUMER_SIG_MISSING",
    "MINUTE_BUCKET_COUNT",
    "ZERO_TIME",
    "AdmissionConfigError",
    "AdmissionCore",
    "AdmissionError",
    "AdmissionMetrics",
    "AdmissionStatus",
    "AllowAllPeerSet",
    "AttestationSigningError",
    "AttestationValidationError",
    "BucketArray",
    "ConsumerCreditState",
    "ConsumerView",
    "DayBucket",
    "DecisionResult",
    "DemandTracker",
    "EtaBand",
    "LedgerEvent",
    "LedgerEventKind",
    "MinuteBucket",
    "NoLocalHistoryError",
    "Outcome",
    "PeerSet",
    "PositionBand",
    "PriorityQueue",
    "QueueEntry",
    "QueueFullError",
    "QueueItemView",
    "QueueTimeout",
    "Queued",
    "RateLimitedError",
    "RejectReason",
    "Rejected",
    "ScoreSource",
    "SeederHeartbeatState",
    "SignalSums",
    "Signals",
    "StaticPeerSet",
    "SupplySnapshot",
    "apply_ledger_event",
    "canonical_body_bytes",
    "check_config",
    "compute_local_score",
    "compute_retry_after_s",
    "compute_signals",
    "day_bucket_index",
    "eta_band",
    "event_from_committed_entry",
    "go_rfc3339",
    "go_round",
    "min_serve_priority_for",
    "minute_bucket_index",
    "parse_peer_id",
    "position_band",
    "rotate_if_stale",
    "seeder_state_to_go_json",
    "sigmoid",
    "sign_credit_attestation",
    "strip_to_day",
    "validate_credit_attestation_body",
    "validate_fetch_headroom_request",
    "validate_fetch_headroom_response",
    "verify_credit_attestation",
]

# --- persistence: tlog, snapshots, start-up replay (H4) ---
from tracker.admission._errors import (
    NotReplayedError,
    SnapshotDeferredError,
    SnapshotError,
    SnapshotFormatError,
    TLogError,
    TLogWriteError,
)
from tracker.admission._service import PersistentAdmission
from tracker.admission.persistence._metrics import PersistenceMetrics
from tracker.admission.persistence._replay import (
    LEDGER_SEQ_SHIFT,
    ReplayReport,
    ledger_seq_of,
    tlog_seq_for_ledger,
)
from tracker.admission.persistence._snapshot_format import SnapshotData
from tracker.admission.persistence._tlog_format import TLogKind

__all__ += [
    "LEDGER_SEQ_SHIFT",
    "NotReplayedError",
    "PersistenceMetrics",
    "PersistentAdmission",
    "ReplayReport",
    "SnapshotData",
    "SnapshotDeferredError",
    "SnapshotError",
    "SnapshotFormatError",
    "TLogError",
    "TLogKind",
    "TLogWriteError",
    "ledger_seq_of",
    "tlog_seq_for_ledger",
]
