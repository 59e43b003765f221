"""Prometheus metrics of the ledger: tip seq, appends by kind and result, append latency, group-commit
batch size (appends and countersignatures per transaction), Merkle roots written."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_KIND_LABELS = ("usage", "transfer_out", "transfer_in", "starter_grant")
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class LedgerMetrics:
    """Registers the ledger's collectors on `registry` (one LedgerMetrics per registry)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.tip_seq = Gauge(
            "ledger_tip_seq", "Seq of the last committed ledger entry (0 = empty chain).", registry=registry
        )
        self.appends = Counter(
            "ledger_appends",
            "Ledger append requests by entry kind and result (committed or rejected).",
            ["kind", "result"],
            registry=registry,
        )
        self.append_latency = Histogram(
            "ledger_append_latency_seconds",
            "Time from an append request to its commit or rejection, including the wait for a group commit.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            "ledger_group_commit_batch_size",
            "Writes (entry appends and consumer countersignatures) committed together in one SQLite"
            " transaction: one fsync each.",
            buckets=_BATCH_BUCKETS,
            registry=registry,
        )
        self.merkle_roots = Counter(
            "ledger_merkle_roots",
            "Hourly Merkle roots computed and stored by the rollup ticker.",
            registry=registry,
        )
        self._committed = {kind: self.appends.labels(kind=kind, result="committed") for kind in _KIND_LABELS}
        self._rejected = {kind: self.appends.labels(kind=kind, result="rejected") for kind in _KIND_LABELS}

    def observe_append(self, kind: str, committed: bool, seconds: float) -> None:
        (self._committed if committed else self._rejected)[kind].inc()
        self.append_latency.observe(seconds)
