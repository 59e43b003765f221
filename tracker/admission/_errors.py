"""Every admission error, under one root `AdmissionError`.

Callers outside admission catch `AdmissionError` (or one of the public leaves re-exported by the package
face); each docstring says who raises the error. Several leaves also derive from the builtin their callers
historically caught (`ValueError`, `OSError`, `RuntimeError`), so `except ValueError` keeps working.
This module imports nothing: core, persistence and the service all depend on it.
"""

from __future__ import annotations

__all__ = [
    "AdmissionAheadOfLedgerError",
    "AdmissionConfigError",
    "AdmissionError",
    "AttestationSigningError",
    "AttestationValidationError",
    "BlocklistEntryError",
    "NoLocalHistoryError",
    "NotReplayedError",
    "QueueFullError",
    "RateLimitedError",
    "SnapshotDeferredError",
    "SnapshotError",
    "SnapshotFormatError",
    "SnapshotReadError",
    "SnapshotWriteError",
    "TLogClosedError",
    "TLogCorruptError",
    "TLogError",
    "TLogNotATLogError",
    "TLogPayloadError",
    "TLogTruncatedError",
    "TLogWriteError",
]


class AdmissionError(Exception):
    """Root of every admission error."""


# --- core -----------------------------------------------------------------------------------------------


class AdmissionConfigError(AdmissionError, ValueError):
    """The admission configuration cannot be used. Raised by `AdmissionCore(...)` (core/_gatekeeper.py)."""


class BlocklistEntryError(AdmissionError, ValueError):
    """A configured blocklist entry is not the hex of a 32-byte peer id. Raised by `parse_blocklist`
    (core/_peers.py); the core turns it into AdmissionConfigError."""


class NoLocalHistoryError(AdmissionError):
    """Attestation issuance for an identity this tracker has no state for. Raised by
    `AdmissionCore.issue_attestation`."""

    def __init__(self) -> None:
        super().__init__("admission: no local consumer history")


class RateLimitedError(AdmissionError):
    """The per-consumer attestation issuance quota of the sliding hour is used up. Raised by
    `AdmissionCore.issue_attestation`."""

    def __init__(self) -> None:
        super().__init__("admission: per-consumer attestation issuance rate limit exceeded")


class QueueFullError(AdmissionError):
    """The queue is at its capacity. Raised by `PriorityQueue.push` (core/_queue.py)."""


class AttestationValidationError(AdmissionError, ValueError):
    """A credit attestation (or FetchHeadroom message) breaks a structural rule of §1.2. Raised by the
    validators in core/_attestation.py and by `AdmissionCore.issue_attestation`."""


class AttestationSigningError(AdmissionError, ValueError):
    """Signing was asked with a missing body or a private key that is not 64 bytes (seed ‖ public key).
    Raised by `sign_credit_attestation` (core/_attestation.py)."""


# --- persistence: tlog ------------------------------------------------------------------------------------


class TLogError(AdmissionError):
    """Base of every tlog format error. Raised by the frame and payload decoders (persistence/_tlog_format.py)
    and the readers built on them."""


class TLogTruncatedError(TLogError):
    """The bytes end inside a frame (the normal tail after a crash)."""

    def __init__(self, message: str = "admission/tlog: record truncated") -> None:
        super().__init__(message)


class TLogCorruptError(TLogError):
    """A complete frame whose CRC-32C does not match its bytes."""

    def __init__(self, message: str = "admission/tlog: CRC32C mismatch") -> None:
        super().__init__(message)


class TLogPayloadError(TLogError):
    """A payload shorter than its kind's minimum or with a bad length prefix."""


class TLogNotATLogError(TLogError):
    """A file where a tlog is expected holds not one valid frame (a database, a text file): start-up refuses
    it and leaves it unchanged. Raised by `replay_from_disk` (persistence/_replay.py)."""


class TLogWriteError(AdmissionError, OSError):
    """An append or flush of the tlog failed (disk full, I/O error, too much unwritten data buffered, too many
    local records for one ledger position). Raised by the tlog writer (persistence/_tlog_writer.py) and by
    the service's operator operations when their OPERATOR_OVERRIDE record cannot be appended."""


class TLogClosedError(TLogWriteError):
    """The tlog writer is closed (after shutdown began). Raised by the tlog writer."""


# --- persistence: snapshots ---------------------------------------------------------------------------------


class SnapshotError(AdmissionError):
    """Base of snapshot errors (format and I/O). Raised by `AdmissionService.snapshot_now` and the snapshot
    modules of persistence/."""


class SnapshotFormatError(SnapshotError):
    """The bytes are not a valid snapshot (short, bad magic/version/CRC, counts inconsistent with size).
    Raised by `decode_snapshot` (persistence/_snapshot_format.py)."""


class SnapshotReadError(SnapshotError):
    """A snapshot file could not be read (I/O error). Raised by persistence/_snapshot_store.py."""


class SnapshotWriteError(SnapshotError):
    """A snapshot could not be written (I/O error); no partial file is left under the final name. Raised by
    persistence/_snapshot_store.py."""


# --- service ------------------------------------------------------------------------------------------------


class SnapshotDeferredError(SnapshotError):
    """A snapshot was requested while memory is missing ledger entries (catch-up pending); the ticker retries
    later. Raised by `AdmissionService.snapshot_now`."""


class AdmissionAheadOfLedgerError(AdmissionError):
    """The admission files have seen ledger entries the ledger does not have (the ledger was replaced, lost or
    restored from an older backup). Raised by `AdmissionService.startup_replay`; `run` exits 1."""


class NotReplayedError(AdmissionError, RuntimeError):
    """An event or snapshot arrived before `AdmissionService.startup_replay` finished. Raised by the
    service."""
