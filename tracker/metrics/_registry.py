"""Building the tracker's CollectorRegistry (process, GC and platform collectors) and scrape-time gauges."""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import tracker

BUILD_INFO_NAME = "trio_tracker_build"  # exposed as trio_tracker_build_info{...} 1


def build_metrics_registry(version: str = tracker.__version__) -> CollectorRegistry:
    """A fresh registry (never the process-global one, so tests can build many) with the runtime collectors:
    `process_*` (CPU, memory, open fds, start time), `python_gc_*` and `python_info`, plus
    `trio_tracker_build_info{version,python,implementation} 1`.

    Also turns off prometheus_client's `*_created` series (a timestamp sample beside every counter,
    histogram and labelled child) for the whole process: they double the exposition and no dashboard reads
    them.
    """
    disable_created_metrics()
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    PlatformCollector(registry=registry)
    Info(BUILD_INFO_NAME, "Version of this trio-tracker and the Python running it.", registry=registry).info(
        {
            "version": version,
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
        }
    )
    return registry


class ScrapeTimeGauge(Collector):
    """A gauge whose value is read from `read_value()` when Prometheus scrapes, for state another subsystem
    owns (e.g. the number of seeders in the registry). Registers itself on `registry`."""

    def __init__(
        self,
        registry: CollectorRegistry,
        name: str,
        documentation: str,
        read_value: Callable[[], float],
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._read_value = read_value
        registry.register(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self._name, self._documentation)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(self._name, self._documentation, value=float(self._read_value()))
