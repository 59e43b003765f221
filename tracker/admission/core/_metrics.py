"""Admission Prometheus metrics (admission.md §11), registered on a caller-supplied CollectorRegistry.

The core updates the decision, queue, supply, attestation, rejection, degraded and clock-jump metrics; the
tlog and snapshot families of the catalogue live with the rest of persistence in `PersistenceMetrics`.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Label values of the labelled counters; each series is created at 0 so it exists before its first increment.
DECISION_RESULTS = ("admit", "queue", "reject")
ATTESTATION_FAILURE_STAGES = (
    "missing_body",
    "malformed",
    "unknown_issuer",
    "blocklisted",
    "identity_mismatch",
    "expired",
    "signature",
)
CLOCK_JUMP_DIRECTIONS = ("forward", "backward")
REJECTION_REASONS = ("region_overloaded", "queue_timeout")
CROSSING_DIRECTIONS = ("up", "down")

DECISION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ATTESTATION_AGE_BUCKETS = (1.0, 60.0, 600.0, 3600.0, 21600.0, 86400.0)


class AdmissionMetrics:
    """Every metric of the §11 catalogue, with the Go names and help strings."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.decisions = Counter(
            "admission_decisions_total", "Decide outcomes by result label.", ["result"], registry=registry
        )
        self.queue_depth = Gauge("admission_queue_depth", "Current admission queue size.", registry=registry)
        self.pressure = Gauge(
            "admission_pressure", "Current pressure ratio (demand/supply).", registry=registry
        )
        self.supply_total_headroom = Gauge(
            "admission_supply_total_headroom",
            "Sum of contributing-seeder headroom estimates.",
            registry=registry,
        )
        self.seeders_contributing = Gauge(
            "admission_seeders_contributing",
            "Number of seeders contributing to the latest supply snapshot.",
            registry=registry,
        )
        self.demand_rate_ewma = Gauge(
            "admission_demand_rate_ewma",
            "Exponentially-weighted moving average of broker_request rate.",
            registry=registry,
        )
        self.decision_duration = Histogram(
            "admission_decision_duration_seconds",
            "Decide latency distribution.",
            buckets=DECISION_BUCKETS,
            registry=registry,
        )
        self.attestations_issued = Counter(
            "admission_attestations_issued_total", "Cumulative attestations issued.", registry=registry
        )
        self.attestation_validation_failures = Counter(
            "admission_attestation_validation_failures_total",
            "Imported attestation rejections by stage.",
            ["stage"],
            registry=registry,
        )
        self.attestation_age = Histogram(
            "admission_attestation_age_seconds",
            "Time-since-issued at validation.",
            buckets=ATTESTATION_AGE_BUCKETS,
            registry=registry,
        )
        self.trial_tier_decisions = Counter(
            "admission_trial_tier_decisions_total",
            "Decisions that fell back to TrialTierScore.",
            registry=registry,
        )
        self.clock_jump_detected = Counter(
            "admission_clock_jump_detected_total",
            "Detected wall-clock jumps by direction.",
            ["direction"],
            registry=registry,
        )
        self.fetchheadroom_timeouts = Counter(
            "admission_fetchheadroom_timeouts_total",
            "FetchHeadroom RPC timeouts (stays 0 until this tracker calls FetchHeadroom on seeders).",
            registry=registry,
        )
        self.rejections = Counter(
            "admission_rejections_total", "Reject decisions by reason.", ["reason"], registry=registry
        )
        self.pressure_threshold_crossing = Counter(
            "admission_pressure_threshold_crossing_total",
            "Pressure threshold crossings by direction.",
            ["direction"],
            registry=registry,
        )
        self.degraded_mode_active = Gauge(
            "admission_degraded_mode_active",
            "1 when admission is running degraded (no usable snapshot, or tlog damage found at start-up). "
            "0 otherwise.",
            registry=registry,
        )
        self.queue_depth_live = Gauge(
            "admission_queue_depth_live",
            "Live queue depth at scrape time (mirror of admission_queue_depth).",
            registry=registry,
        )
        for counter, label, values in (
            (self.decisions, "result", DECISION_RESULTS),
            (self.attestation_validation_failures, "stage", ATTESTATION_FAILURE_STAGES),
            (self.clock_jump_detected, "direction", CLOCK_JUMP_DIRECTIONS),
            (self.rejections, "reason", REJECTION_REASONS),
            (self.pressure_threshold_crossing, "direction", CROSSING_DIRECTIONS),
        ):
            for value in values:
                counter.labels(**{label: value})
        # Children of the hot-path label vectors, resolved once.
        self.decisions_admit = self.decisions.labels(result="admit")
        self.decisions_queue = self.decisions.labels(result="queue")
        self.decisions_reject = self.decisions.labels(result="reject")

    def bind_live_values(self, queue_length: Callable[[], int], degraded: Callable[[], bool]) -> None:
        """Make the two scrape-time gauges read the live queue length and degraded flag."""
        self.queue_depth_live.set_function(lambda: float(queue_length()))
        self.degraded_mode_active.set_function(lambda: 1.0 if degraded() else 0.0)
