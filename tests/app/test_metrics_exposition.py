"""The /metrics exposition of a tracker with every subsystem open (in process): it parses with
prometheus_client's text parser, every family has a HELP and a TYPE, no `*_created` series, labelled counters
(the RPC's and the broker's too) have their series at 0 before any increment, `trio_tracker_build_info` is
there, and the replay duration covers the ledger cross-check.

(`promtool check metrics` is not used: the only packaged promtool is Debian's `prometheus`, a 96 MB install
that also starts a Prometheus server. The checks below are the ones it would make on this exposition.)
"""

from __future__ import annotations

import logging
import platform
import re
import time
from collections.abc import Sequence
from pathlib import Path

import trio
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import tracker
from tracker.admission import AdmissionService
from tracker.admission.core._metrics import (
    ATTESTATION_FAILURE_STAGES,
    CLOCK_JUMP_DIRECTIONS,
    CROSSING_DIRECTIONS,
    DECISION_RESULTS,
    REJECTION_REASONS,
)
from tracker.admission.persistence._metrics import LEDGER_SKIP_REASONS, PersistenceMetrics
from tracker.app import ServiceContext, ShutdownController
from tracker.app._services import open_tracker_services
from tracker.broker import BrokerMetrics
from tracker.broker._metrics import OFFER_OUTCOMES, REQUEST_OUTCOMES, SETTLE_OUTCOMES, USAGE_OUTCOMES
from tracker.config import config_for_data_dir
from tracker.identity import identity_from_seed
from tracker.metrics import build_metrics_registry
from tracker.registry import Registry
from tracker.rpc._metrics import HANDSHAKE_RESULTS, RpcMetrics

IDENTITY = identity_from_seed(bytes(range(32)))
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")

ZERO_SERIES = {
    "admission_decisions_total": ("result", DECISION_RESULTS),
    "admission_attestation_validation_failures_total": ("stage", ATTESTATION_FAILURE_STAGES),
    "admission_clock_jump_detected_total": ("direction", CLOCK_JUMP_DIRECTIONS),
    "admission_rejections_total": ("reason", REJECTION_REASONS),
    "admission_pressure_threshold_crossing_total": ("direction", CROSSING_DIRECTIONS),
    "admission_ledger_entries_skipped_total": ("reason", LEDGER_SKIP_REASONS),
}


async def _exposition(tmp_path: Path) -> str:
    registry = build_metrics_registry()
    logger = logging.getLogger("tests.metrics")
    context = ServiceContext(
        config=config_for_data_dir(tmp_path),
        identity=IDENTITY,
        metrics_registry=registry,
        controller=ShutdownController(logger),
        admin_token=None,
        clock=time.time,
        logger=logger,
    )
    async with open_tracker_services(context):
        return generate_latest(registry).decode()


async def test_exposition_parses_and_every_family_is_described(tmp_path: Path) -> None:
    text = await _exposition(tmp_path)
    families = list(text_string_to_metric_families(text))
    names = [family.name for family in families]
    assert len(names) == len(set(names)) and len(names) > 40
    for family in families:
        assert NAME.match(family.name), family.name
        assert family.documentation.strip(), family.name
        assert "lands later" not in family.documentation, family.name
        assert family.samples, family.name
        if family.type == "counter":
            assert all(sample.name == f"{family.name}_total" for sample in family.samples), family.name
    lines = text.splitlines()
    helped = [line.split()[2] for line in lines if line.startswith("# HELP ")]
    typed = [line.split()[2] for line in lines if line.startswith("# TYPE ")]
    assert helped == typed and len(helped) == len(families)
    assert not [line for line in lines if "_created" in line]


async def test_labelled_counters_have_every_series_at_zero_from_the_start(tmp_path: Path) -> None:
    text = await _exposition(tmp_path)
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    for name, (label, values) in ZERO_SERIES.items():
        for value in values:
            assert samples.get((name, ((label, value),))) == 0.0, (name, value)
    # The ledger's appends{kind,result} were already initialised; they stay so.
    assert samples[("ledger_appends_total", (("kind", "usage"), ("result", "rejected")))] == 0.0


async def test_build_info_names_the_version_and_python(tmp_path: Path) -> None:
    text = await _exposition(tmp_path)
    (family,) = [f for f in text_string_to_metric_families(text) if f.name == "trio_tracker_build_info"]
    assert family.type == "gauge"  # an info metric, in the Prometheus text format
    (sample,) = family.samples
    assert sample.name == "trio_tracker_build_info" and sample.value == 1.0
    assert sample.labels == {
        "version": tracker.__version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


class SlowLedger:
    """A ledger source whose reads take a while: the cross-check part of start-up replay."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s

    async def entries_since(self, since_seq: int, limit: int = 0) -> Sequence[object]:
        await trio.sleep(self.delay_s)
        return []


async def test_replay_duration_includes_the_ledger_cross_check(tmp_path: Path) -> None:
    config = config_for_data_dir(tmp_path)
    metrics = PersistenceMetrics(CollectorRegistry())
    admission = AdmissionService.create(config.admission, Registry(), IDENTITY, persistence_metrics=metrics)
    report = await admission.startup_replay(SlowLedger(0.3))  # type: ignore[arg-type]
    try:
        measured = metrics.replay_duration._value.get()
        assert report.duration_s < 0.3  # the disk pass alone (an empty data directory)
        assert measured >= 0.3
    finally:
        await admission.aclose(final_snapshot=False)


def test_rpc_counters_have_every_series_at_zero_from_the_start() -> None:
    registry = build_metrics_registry()
    RpcMetrics(registry)  # the RPC listener builds these on the tracker's registry when it starts
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(generate_latest(registry).decode())
        for sample in family.samples
    }
    for result in HANDSHAKE_RESULTS:
        assert samples[("rpc_handshakes_total", (("result", result),))] == 0.0
    assert samples[("rpc_requests_total", (("method", "settle"), ("status", "internal")))] == 0.0
    assert samples[("rpc_pushes_total", (("kind", "offer"), ("outcome", "no_peer")))] == 0.0


BROKER_ZERO_SERIES = {
    "broker_requests_total": REQUEST_OUTCOMES,
    "broker_offers_total": OFFER_OUTCOMES,
    "broker_settlements_total": (*USAGE_OUTCOMES, *SETTLE_OUTCOMES),
}


def test_broker_counters_have_every_series_at_zero_from_the_start() -> None:
    registry = build_metrics_registry()
    BrokerMetrics(registry)  # built on the tracker's registry when the RPC listener (and broker) starts
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(registry).decode())}
    samples = {
        (sample.name, sample.labels["outcome"]): sample.value
        for family in families.values()
        for sample in family.samples
        if "outcome" in sample.labels
    }
    for name, outcomes in BROKER_ZERO_SERIES.items():
        for outcome in outcomes:
            assert samples[(name, outcome)] == 0.0, (name, outcome)
            # The HELP text names every outcome the counter can carry.
            assert outcome in families[name.removesuffix("_total")].documentation, (name, outcome)


def test_every_broker_outcome_the_service_counts_is_a_known_label_value() -> None:
    source = (Path(tracker.__file__).parent / "broker" / "_service.py").read_text(encoding="utf-8")
    counted = {
        "broker_requests_total": re.findall(r"requests\.labels\(\"(\w+)\"\)", source),
        "broker_offers_total": re.findall(r"offers\.labels\(\"(\w+)\"\)", source),
        "broker_settlements_total": re.findall(r"(?:settlements\.labels|_fail)\(\"(\w+)\"", source),
    }
    for name, outcomes in counted.items():
        assert outcomes, name  # guard against a scan that matches nothing
        assert set(outcomes) <= set(BROKER_ZERO_SERIES[name]), (
            name,
            set(outcomes) - set(BROKER_ZERO_SERIES[name]),
        )
