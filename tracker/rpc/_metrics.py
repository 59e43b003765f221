"""Prometheus metrics of the plugin RPC: live connections, handshakes by result, RPCs by method and status,
RPC latency, heartbeats, pushes by kind and outcome. Built against the tracker's registry; `RpcMetrics(None)`
uses a private registry (tests, tools)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from tracker.rpc._wire import PUSH_TAG_OFFER, PUSH_TAG_SETTLEMENT, RpcMethod, RpcStatus

# Label values whose series exist (at 0) from the start, so rates and alerts work before the first event.
HANDSHAKE_RESULTS = ("ok", "refused", "failed", "timeout")
PUSH_KINDS = ("offer", "settlement")
PUSH_OUTCOMES = ("replied", "no_peer", "timeout", "failed")

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

_KNOWN_METHODS = frozenset(int(method) for method in RpcMethod)
_KNOWN_STATUSES = frozenset(int(status) for status in RpcStatus)


def _method_label(method: int) -> str:
    try:
        return RpcMethod(method).name.lower()
    except ValueError:
        return "unknown"


def _status_label(status: int) -> str:
    try:
        return RpcStatus(status).name.lower()
    except ValueError:
        return "unspecified"


class RpcMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        self.connections = Gauge(
            "rpc_connections",
            "Peers connected to the plugin RPC listener (identity checked).",
            registry=registry,
        )
        self.handshakes = Counter(
            "rpc_handshakes",
            "QUIC handshakes by result: ok, refused (identity checks), failed (TLS), timeout.",
            ["result"],
            registry=registry,
        )
        self.rpcs = Counter(
            "rpc_requests",
            "Unary RPCs answered, by method and status.",
            ["method", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "rpc_request_latency_seconds",
            "Time from a request frame to its response frame being queued.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.heartbeats = Counter("rpc_heartbeats", "Heartbeat pings answered.", registry=registry)
        self.pushes = Counter(
            "rpc_pushes",
            "Server pushes by kind (offer, settlement) and outcome (replied, no_peer, timeout, failed).",
            ["kind", "outcome"],
            registry=registry,
        )
        self._rpc_counters: dict[tuple[int, int], Counter] = {}
        for result in HANDSHAKE_RESULTS:
            self.handshakes.labels(result=result)
        for kind in PUSH_KINDS:
            for outcome in PUSH_OUTCOMES:
                self.pushes.labels(kind=kind, outcome=outcome)
        for method in RpcMethod:
            if method != RpcMethod.UNSPECIFIED:
                for status in RpcStatus:
                    if status != RpcStatus.UNSPECIFIED:
                        self.rpcs.labels(method=_method_label(method), status=_status_label(status))

    def handshake(self, result: str) -> None:
        self.handshakes.labels(result=result).inc()

    def rpc(self, method: int, status: int, seconds: float) -> None:
        # Once per RPC: the labelled child is looked up by the raw numbers (labels() builds and hashes a
        # label tuple and RpcMethod(...) an enum on every call). Only known pairs are cached, so the cache is
        # bounded whatever numbers a peer sends.
        counter = self._rpc_counters.get((method, status))
        if counter is None:
            counter = self.rpcs.labels(method=_method_label(method), status=_status_label(status))
            if method in _KNOWN_METHODS and status in _KNOWN_STATUSES:
                self._rpc_counters[method, status] = counter
        counter.inc()
        self.latency.observe(seconds)

    def push(self, tag: int, outcome: str) -> None:
        kind = {PUSH_TAG_OFFER: "offer", PUSH_TAG_SETTLEMENT: "settlement"}.get(tag, "other")
        self.pushes.labels(kind=kind, outcome=outcome).inc()
