"""Prometheus metrics: the one CollectorRegistry of a running tracker and the ASGI app serving `GET /metrics`.

Each subsystem defines its own metric families against the registry passed to it (admission catalogue, ledger,
tlog, snapshot); this package builds the registry with the process and GC collectors, adds scrape-time gauges
for state owned elsewhere, and exposes it in the Prometheus text format.
"""

from tracker.metrics._asgi import METRICS_PATH, create_metrics_app
from tracker.metrics._registry import ScrapeTimeGauge, build_metrics_registry

__all__ = ["METRICS_PATH", "ScrapeTimeGauge", "build_metrics_registry", "create_metrics_app"]
