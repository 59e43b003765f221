"""A running `trio-tracker run` on a data dir made by `init`: admin routes with and without the token,
/metrics, /openapi.json, the ready and warning log lines, POST /maintenance."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests_e2e.test_run_support import (
    ADMIN_TOKEN,
    TrackerProcess,
    auth_headers,
    make_data_dir,
    start_tracker,
    use_ephemeral_ports,
)

GUARDED_GETS = ["/stats", "/admission/status", "/admission/queue", "/admission/peers/blocklist"]


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    config_path = make_data_dir(tmp_path_factory.mktemp("serving") / "data")  # init's own free ports
    process = start_tracker(config_path)
    try:
        process.wait_ready()
        yield process
    finally:
        process.kill()


def test_ready_line_reports_listeners_and_tracker_id(tracker: TrackerProcess) -> None:
    ready = tracker.ready
    assert ready is not None
    assert ready["level"] == "info" and isinstance(ready["time"], int)
    assert str(ready["admin_addr"]).startswith("127.0.0.1:")
    assert str(ready["metrics_addr"]).startswith("127.0.0.1:")
    assert len(str(ready["tracker_id"])) == 64


def test_health_and_openapi_need_no_token(tracker: TrackerProcess) -> None:
    health = httpx.get(f"{tracker.admin_url}/health", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    openapi = httpx.get(f"{tracker.admin_url}/openapi.json", timeout=10)
    assert openapi.status_code == 200
    paths = openapi.json()["paths"]
    for path in (
        "/health",
        "/stats",
        "/maintenance",
        "/admission/status",
        "/admission/recompute/{consumer_id}",
    ):
        assert any(documented.startswith(path.split("{")[0]) for documented in paths), path


@pytest.mark.parametrize("path", GUARDED_GETS)
def test_guarded_routes_401_without_or_with_wrong_token(tracker: TrackerProcess, path: str) -> None:
    missing = httpx.get(f"{tracker.admin_url}{path}", timeout=10)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="tracker-admin"'
    wrong = httpx.get(f"{tracker.admin_url}{path}", headers=auth_headers("not-the-token"), timeout=10)
    assert wrong.status_code == 401


@pytest.mark.parametrize("path", GUARDED_GETS)
def test_guarded_routes_200_with_token(tracker: TrackerProcess, path: str) -> None:
    response = httpx.get(f"{tracker.admin_url}{path}", headers=auth_headers(ADMIN_TOKEN), timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")


def test_stats_and_status_shapes(tracker: TrackerProcess) -> None:
    stats = httpx.get(f"{tracker.admin_url}/stats", headers=auth_headers(), timeout=10).json()
    assert stats == {
        "broker_reqs_per_sec": None,
        "connections": 0,
        "ledger": {"tip_hash": None, "tip_seq": None},
        "merkle_root_minutes": 60,
    }
    status = httpx.get(f"{tracker.admin_url}/admission/status", headers=auth_headers(), timeout=10).json()
    assert status["queue_depth"] == 0
    assert status["thresholds"] == {"admit": 0.85, "reject": 1.5}


def _metric_value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics")


def test_metrics_exposes_every_subsystem(tracker: TrackerProcess) -> None:
    response = httpx.get(f"{tracker.metrics_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for family in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_gc_objects_collected_total",
        "admission_queue_depth_live",
        "admission_degraded_mode_active",
        "admission_pressure",
        "admission_tlog_fsyncs_total",
        "admission_tlog_bytes_written_total",
        "admission_tlog_fsync_duration_seconds_bucket",
        "admission_snapshot_last_success_timestamp_seconds",
        "admission_snapshot_duration_seconds_bucket",
        "ledger_tip_seq",
        "ledger_append_latency_seconds_bucket",
        "ledger_group_commit_batch_size_bucket",
        "registry_seeders",
    ):
        assert f"\n{family}" in text, family
    assert "# HELP admission_decisions_total Decide outcomes by result label." in text
    assert "_created" not in text
    assert "\ntrio_tracker_build_info{" in text
    assert 'admission_rejections_total{reason="queue_timeout"} 0.0' in text
    assert _metric_value(text, "admission_degraded_mode_active") == 0.0
    assert _metric_value(text, "ledger_tip_seq") == 0.0
    assert _metric_value(text, "registry_seeders") == 0.0
    assert httpx.get(f"{tracker.metrics_url}/other", timeout=10).status_code == 404


def test_metrics_listener_is_not_the_admin_app(tracker: TrackerProcess) -> None:
    assert httpx.get(f"{tracker.admin_url}/metrics", timeout=10).status_code == 404


def test_post_maintenance_shuts_down_cleanly(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    process = start_tracker(config_path)
    try:
        process.wait_ready()
        unauthorised = httpx.post(f"{process.admin_url}/maintenance", timeout=10)
        assert unauthorised.status_code == 401
        response = httpx.post(f"{process.admin_url}/maintenance", headers=auth_headers(), timeout=10)
        assert response.status_code == 202
        assert response.json() == {"draining": True}
        assert process.wait(15) == 0
    finally:
        process.kill()
    messages = [record.get("message") for record in process.log_records()]
    assert "tracker: stopped" in messages
    assert list((tmp_path / "data").glob("admission.snapshot.*")), "no final snapshot"


def test_unset_token_warns_and_rejects_everything_guarded(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    process = start_tracker(config_path, admin_token=None)
    try:
        process.wait_ready()
        assert httpx.get(f"{process.admin_url}/health", timeout=10).status_code == 200
        for token in ("anything", ADMIN_TOKEN):
            response = httpx.get(
                f"{process.admin_url}/admission/status", headers=auth_headers(token), timeout=10
            )
            assert response.status_code == 401
        assert process.stop() == 0
    finally:
        process.kill()
    warnings = [record for record in process.log_records() if record.get("level") == "warn"]
    assert any(
        record.get("message") == "admin: token unset, all admin requests will be rejected"
        and record.get("env") == "TOKEN_BAY_ADMIN_TOKEN"
        for record in warnings
    ), process.stderr
