"""RPC metrics: counts by method and status (known numbers by name, anything else as unknown/unspecified)
and the latency histogram, read back from the Prometheus registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from tracker.rpc import RpcMetrics


def _count(registry: CollectorRegistry, method: str, status: str) -> float:
    value = registry.get_sample_value("rpc_requests_total", {"method": method, "status": status})
    return 0.0 if value is None else value


def test_rpcs_are_counted_by_method_and_status() -> None:
    registry = CollectorRegistry()
    metrics = RpcMetrics(registry)
    for _ in range(3):
        metrics.rpc(3, 1, 0.0002)
    metrics.rpc(3, 2, 0.002)
    metrics.rpc(99, 2, 0.002)
    metrics.rpc(123_456, 2, 0.002)
    metrics.rpc(1, 200, 0.002)
    assert _count(registry, "balance", "ok") == 3
    assert _count(registry, "balance", "invalid") == 1
    assert _count(registry, "unknown", "invalid") == 2
    assert _count(registry, "enroll", "unspecified") == 1
    assert registry.get_sample_value("rpc_request_latency_seconds_count") == 7
    assert registry.get_sample_value("rpc_request_latency_seconds_bucket", {"le": "0.0005"}) == 3
