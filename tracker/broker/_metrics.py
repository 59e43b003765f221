"""Prometheus metrics of the broker and settlement. `BrokerMetrics(None)` uses a private registry."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Label values whose series exist (at 0) from the start, so rates and alerts work before the first event.
REQUEST_OUTCOMES = (
    "assigned",
    "no_eligible_seeder",
    "all_seeders_rejected",
    "insufficient_credits",
    "queue_timeout",
    "region_overloaded",
    "rejected_invalid",
)
OFFER_OUTCOMES = ("accept", "reject", "timeout", "unreachable", "bad_key")
USAGE_OUTCOMES = (
    "committed",
    "duplicate",
    "invalid_state",
    "not_found",
    "seeder_mismatch",
    "model_mismatch",
    "cost_overspend",
    "seeder_sig_invalid",
    "insufficient_balance",
    "error",
)
SETTLE_OUTCOMES = (
    "settle_recorded",
    "settle_repeat",
    "settle_duplicate",
    "settle_not_found",
    "settle_mismatch",
    "settle_bad_signature",
)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_WAIT_BUCKETS = (0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class BrokerMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "broker_requests",
            f"Broker requests by outcome: {', '.join(REQUEST_OUTCOMES)}.",
            ["outcome"],
            registry=registry,
        )
        self.offers = Counter(
            "broker_offers",
            f"Offers pushed to seeders by outcome: {', '.join(OFFER_OUTCOMES)}.",
            ["outcome"],
            registry=registry,
        )
        self.offer_latency = Histogram(
            "broker_offer_latency_seconds",
            "Time from an offer push to the seeder's decision.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.queue_wait = Histogram(
            "broker_queue_wait_seconds",
            "Time a queued broker request waited until delivered, timed out or abandoned.",
            buckets=_WAIT_BUCKETS,
            registry=registry,
        )
        self.reservations = Gauge(
            "broker_reservations_outstanding", "Credit reservations held now.", registry=registry
        )
        self.reserved_credits = Gauge(
            "broker_reserved_credits", "Credits held by outstanding reservations.", registry=registry
        )
        self.settlements = Counter(
            "broker_settlements",
            f"Usage reports and settles by outcome: {', '.join(USAGE_OUTCOMES)}; "
            f"{', '.join(SETTLE_OUTCOMES)}.",
            ["outcome"],
            registry=registry,
        )
        self.countersignatures = Counter(
            "broker_countersignatures_recorded",
            "Consumer countersignatures recorded durably.",
            registry=registry,
        )
        self.fifo_matches = Counter(
            "broker_usage_reports_matched_by_model",
            "Usage reports whose request_id was not a reservation token, matched to the seeder's oldest "
            "assigned request for the model.",
            registry=registry,
        )
        self.commit_latency = Histogram(
            "broker_usage_commit_latency_seconds",
            "Time from a usage report's arrival to its USAGE entry's ledger commit.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.pushes_failed = Counter(
            "broker_settlement_pushes_unacked",
            "Settlement pushes the consumer did not acknowledge (it can still SETTLE later).",
            registry=registry,
        )
        for outcome in REQUEST_OUTCOMES:
            self.requests.labels(outcome=outcome)
        for outcome in OFFER_OUTCOMES:
            self.offers.labels(outcome=outcome)
        for outcome in (*USAGE_OUTCOMES, *SETTLE_OUTCOMES):
            self.settlements.labels(outcome=outcome)

    def track_reservations(self, count: Callable[[], int], credits: Callable[[], int]) -> None:
        self.reservations.set_function(lambda: float(count()))
        self.reserved_credits.set_function(lambda: float(credits()))
