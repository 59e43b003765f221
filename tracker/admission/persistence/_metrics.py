"""Every Prometheus family of admission persistence: the tlog and snapshot names of the §11 catalogue (replay
gap, corruption, snapshot load and emit failures) and our extra ones (tlog bytes, fsyncs and their latency,
rotations, append failures, skipped ledger entries, snapshot time, duration and size, replay duration)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["LEDGER_SKIP_REASONS", "PersistenceMetrics"]

# Label values of admission_ledger_entries_skipped{reason}: every series exists (at 0) from the start.
LEDGER_SKIP_REASONS = ("duplicate", "behind")

_FSYNC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
_SNAPSHOT_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PersistenceMetrics:
    """Metric families for the tlog writer and the snapshot store, registered on `registry` (or on nothing
    when `registry` is None, so unit tests and offline tools can still read the values)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.tlog_replay_gap_entries = Gauge(
            "admission_tlog_replay_gap_entries",
            "Ledger entries applied during cross-check that were missing from tlog.",
            registry=registry,
        )
        self.tlog_corruption_records = Counter(
            "admission_tlog_corruption_records_total",
            "Damaged tlog files found by start-up replay (a CRC failure mid-file, or a torn frame in a "
            "rotated file); each was moved aside and its good prefix kept.",
            registry=registry,
        )
        self.snapshot_load_failures = Counter(
            "admission_snapshot_load_failures_total",
            "Cumulative failed snapshot loads (any reason).",
            registry=registry,
        )
        self.snapshot_emit_failures = Counter(
            "admission_snapshot_emit_failures_total",
            "Cumulative failed snapshot emit attempts.",
            registry=registry,
        )
        self.tlog_bytes_written = Counter(
            "admission_tlog_bytes_written",
            "Bytes written to the admission tlog (frames, after batching).",
            registry=registry,
        )
        self.tlog_records_appended = Counter(
            "admission_tlog_records_appended",
            "Records appended to the admission tlog.",
            registry=registry,
        )
        self.tlog_fsyncs = Counter(
            "admission_tlog_fsyncs",
            "fsync calls on the admission tlog (batched window and synchronous dispute appends).",
            registry=registry,
        )
        self.tlog_fsync_duration = Histogram(
            "admission_tlog_fsync_duration_seconds",
            "Latency of admission tlog write+fsync batches.",
            buckets=_FSYNC_BUCKETS,
            registry=registry,
        )
        self.tlog_rotations = Counter(
            "admission_tlog_rotations",
            "Admission tlog file rotations.",
            registry=registry,
        )
        self.tlog_append_failures = Counter(
            "admission_tlog_append_failures",
            "Failed tlog appends, writes and fsyncs: events not applied (persist-then-apply), operator "
            "overrides answered 5xx, a failing fsync ticker, a failed final flush.",
            registry=registry,
        )
        self.tlog_local_records_lost = Counter(
            "admission_tlog_local_records_lost",
            "Local tlog records (disputes, operator overrides) lost in damaged stretches of the tlog, as far "
            "as the seq numbering shows (ledger-derived records are restored from the ledger).",
            registry=registry,
        )
        self.ledger_entries_skipped = Counter(
            "admission_ledger_entries_skipped",
            "Committed ledger entries not applied live: admission was behind (the catch-up fetches them "
            "again) or had already applied them.",
            ["reason"],
            registry=registry,
        )
        for reason in LEDGER_SKIP_REASONS:
            self.ledger_entries_skipped.labels(reason=reason)
        self.snapshot_last_success = Gauge(
            "admission_snapshot_last_success_timestamp_seconds",
            "Unix time of the last snapshot written successfully (0 = none since start).",
            registry=registry,
        )
        self.snapshot_duration = Histogram(
            "admission_snapshot_duration_seconds",
            "Time to capture, encode, write and fsync one admission snapshot.",
            buckets=_SNAPSHOT_BUCKETS,
            registry=registry,
        )
        self.snapshot_bytes = Gauge(
            "admission_snapshot_bytes",
            "Size of the last admission snapshot written.",
            registry=registry,
        )
        self.replay_duration = Gauge(
            "admission_replay_duration_seconds",
            "Wall time of the last start-up replay, all of it: snapshot load, tlog replay and repair, ledger "
            "cross-check, the first tlog fsync and the snapshot taken after a repair.",
            registry=registry,
        )
