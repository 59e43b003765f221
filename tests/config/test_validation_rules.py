"""One test per validation rule: start from a valid config, break one field, expect exactly that error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tracker.config import (
    Config,
    FederationPeer,
    FieldError,
    ModelPriceConfig,
    ValidationError,
    default_config,
    validate,
    validation_errors,
)

from ._helpers import valid_config

Mutation = Callable[[Config], None]


def _set(path: str, value: object) -> Mutation:
    def mutate(config: Config) -> None:
        *parents, name = path.split(".")
        target: object = config
        for parent in parents:
            target = getattr(target, parent)
        setattr(target, name, value)

    return mutate


def _both(*mutations: Mutation) -> Mutation:
    def mutate(config: Config) -> None:
        for mutation in mutations:
            mutation(config)

    return mutate


def _peer(tracker_id: str = "a" * 64, pubkey: str = "b" * 64, addr: str = "peer:7777") -> FederationPeer:
    return FederationPeer(tracker_id=tracker_id, pubkey=pubkey, addr=addr, region="r")


# (test id, mutation, expected field, expected message) — every rule of spec §1.5, in rule order.
RULES: list[tuple[str, Mutation, str, str]] = [
    # A. required
    ("data_dir-empty", _set("data_dir", ""), "data_dir", "must be non-empty"),
    ("data_dir-relative", _set("data_dir", "var/lib"), "data_dir", "must be an absolute path"),
    ("server-listen-empty", _set("server.listen_addr", ""), "server.listen_addr", "must be non-empty"),
    ("identity-empty", _set("server.identity_key_path", ""), "server.identity_key_path", "must be non-empty"),
    ("cert-empty", _set("server.tls_cert_path", ""), "server.tls_cert_path", "must be non-empty"),
    ("tls-key-empty", _set("server.tls_key_path", ""), "server.tls_key_path", "must be non-empty"),
    ("ledger-path-empty", _set("ledger.storage_path", ""), "ledger.storage_path", "must be non-empty"),
    # B. log_level
    ("log-level", _set("log_level", "chatty"), "log_level", "must be one of: debug, info, warn, error"),
    # C. listeners
    (
        "server-listen-bad",
        _set("server.listen_addr", "not-a-host-port"),
        "server.listen_addr",
        "must be a valid host:port — address not-a-host-port: missing port in address",
    ),
    (
        "admin-listen-bad",
        _set("admin.listen_addr", "a:b:c"),
        "admin.listen_addr",
        "must be a valid host:port — address a:b:c: too many colons in address",
    ),
    (
        "metrics-listen-bad",
        _set("metrics.listen_addr", "[::1"),
        "metrics.listen_addr",
        "must be a valid host:port — address [::1: missing ']' in address",
    ),
    (
        "stun-listen-bad",
        _set("stun_turn.stun_listen_addr", "[::1]:1:2"),
        "stun_turn.stun_listen_addr",
        "must be a valid host:port — address [::1]:1:2: too many colons in address",
    ),
    (
        "turn-listen-bad",
        _set("stun_turn.turn_listen_addr", "a[:1"),
        "stun_turn.turn_listen_addr",
        "must be a valid host:port — address a[:1: unexpected '[' in address",
    ),
    (
        "admin-collides",
        _set("admin.listen_addr", "0.0.0.0:7777"),
        "admin.listen_addr",
        "collides with server.listen_addr (both 0.0.0.0:7777)",
    ),
    (
        "metrics-collides",
        _set("metrics.listen_addr", "127.0.0.1:9090"),
        "metrics.listen_addr",
        "collides with admin.listen_addr (both 127.0.0.1:9090)",
    ),
    (
        "turn-collides",
        _set("stun_turn.turn_listen_addr", ":3478"),
        "stun_turn.turn_listen_addr",
        "collides with stun_turn.stun_listen_addr (both :3478)",
    ),
    # D. server knobs
    ("max-frame", _set("server.max_frame_size", 512), "server.max_frame_size", "must be >= 1024, got 512"),
    ("server-idle", _set("server.idle_timeout_s", -3), "server.idle_timeout_s", "must be > 0, got -3"),
    (
        "incoming-streams",
        _set("server.max_incoming_streams", 8),
        "server.max_incoming_streams",
        "must be >= 16, got 8",
    ),
    ("grace", _set("server.shutdown_grace_s", -1), "server.shutdown_grace_s", "must be >= 0, got -1"),
    # E. ledger
    (
        "merkle-interval",
        _set("ledger.merkle_root_interval_minutes", 0),
        "ledger.merkle_root_interval_minutes",
        "must be > 0",
    ),
    # F. broker
    (
        "headroom",
        _set("broker.headroom_threshold", 1.5),
        "broker.headroom_threshold",
        "must be in [0.0, 1.0]",
    ),
    (
        "headroom-nan",
        _set("broker.headroom_threshold", float("nan")),
        "broker.headroom_threshold",
        "must be in [0.0, 1.0]",
    ),
    ("load-threshold", _set("broker.load_threshold", 0), "broker.load_threshold", "must be >= 1"),
    (
        "broker-weight-negative",
        _both(
            _set("broker.score_weights.reputation", 0.6),
            _set("broker.score_weights.headroom", 0.5),
            _set("broker.score_weights.rtt", -0.2),
        ),
        "broker.score_weights.rtt",
        "must be >= 0",
    ),
    (
        "broker-weight-sum",
        _set("broker.score_weights.reputation", 0.5),
        "broker.score_weights",
        "weights must sum to 1.0 ± 0.001 (got 1.1)",
    ),
    ("offer-timeout", _set("broker.offer_timeout_ms", 0), "broker.offer_timeout_ms", "must be > 0"),
    ("offer-attempts", _set("broker.max_offer_attempts", 0), "broker.max_offer_attempts", "must be >= 1"),
    (
        "request-rate",
        _set("broker.broker_request_rate_per_sec", 0.0),
        "broker.broker_request_rate_per_sec",
        "must be > 0",
    ),
    (
        "queue-drain-low",
        _set("broker.queue_drain_interval_ms", 50),
        "broker.queue_drain_interval_ms",
        "must be in [100, 60000]",
    ),
    (
        "queue-drain-high",
        _set("broker.queue_drain_interval_ms", 60001),
        "broker.queue_drain_interval_ms",
        "must be in [100, 60000]",
    ),
    (
        "inflight-ttl",
        _set("broker.inflight_terminal_ttl_s", 59),
        "broker.inflight_terminal_ttl_s",
        "must be >= 60",
    ),
    # G. settlement
    ("stream-idle", _set("settlement.stream_idle_s", 0), "settlement.stream_idle_s", "must be > 0"),
    (
        "tunnel-vs-timeout",
        _set("settlement.tunnel_setup_ms", 1_000_000),
        "settlement.tunnel_setup_ms",
        "must be < settlement_timeout_s × 1000",
    ),
    (
        "reservation-vs-timeout",
        _set("settlement.reservation_ttl_s", 600),
        "settlement.reservation_ttl_s",
        "must be >= settlement_timeout_s (TTL must outlast settlement)",
    ),
    (
        "stale-tip-low",
        _set("settlement.stale_tip_retries", -1),
        "settlement.stale_tip_retries",
        "must be in [0, 10]",
    ),
    (
        "stale-tip-high",
        _set("settlement.stale_tip_retries", 11),
        "settlement.stale_tip_retries",
        "must be in [0, 10]",
    ),
    # H. federation
    ("peer-count-min", _set("federation.peer_count_min", 0), "federation.peer_count_min", "must be >= 1"),
    (
        "peer-count-max",
        _both(_set("federation.peer_count_min", 20), _set("federation.peer_count_max", 10)),
        "federation.peer_count_max",
        "must be >= peer_count_min",
    ),
    (
        "gossip-dedupe",
        _set("federation.gossip_dedupe_ttl_s", 0),
        "federation.gossip_dedupe_ttl_s",
        "must be > 0",
    ),
    (
        "transfer-retry",
        _set("federation.transfer_retry_window_hours", 0),
        "federation.transfer_retry_window_hours",
        "must be > 0",
    ),
    (
        "enroll-rate",
        _set("federation.enroll_rate_per_min_per_ip", 0),
        "federation.enroll_rate_per_min_per_ip",
        "must be >= 1",
    ),
    (
        "handshake",
        _set("federation.handshake_timeout_s", 61),
        "federation.handshake_timeout_s",
        "must be 1..60, got 61",
    ),
    (
        "gossip-rate",
        _set("federation.gossip_rate_qps", 10001),
        "federation.gossip_rate_qps",
        "must be 1..10000, got 10001",
    ),
    (
        "send-queue",
        _set("federation.send_queue_depth", (1 << 20) + 1),
        "federation.send_queue_depth",
        "out of range",
    ),
    (
        "publish-cadence",
        _set("federation.publish_cadence_s", 59),
        "federation.publish_cadence_s",
        "must be 60..86400, got 59",
    ),
    (
        "federation-idle",
        _set("federation.idle_timeout_s", 601),
        "federation.idle_timeout_s",
        "must be 1..600, got 601",
    ),
    ("redial-base", _set("federation.redial_base_s", 0), "federation.redial_base_s", "must be 1..60, got 0"),
    (
        "redial-max",
        _both(_set("federation.redial_base_s", 5), _set("federation.redial_max_s", 4)),
        "federation.redial_max_s",
        "must be >= redial_base_s and <= 600, got 4",
    ),
    (
        "bootstrap-peers",
        _set("federation.bootstrap.max_peers", 257),
        "federation.bootstrap.max_peers",
        "must be 1..256, got 257",
    ),
    (
        "bootstrap-ttl",
        _set("federation.bootstrap.ttl_seconds", 30),
        "federation.bootstrap.ttl_seconds",
        "must be 60..3600, got 30",
    ),
    (
        "uptime-window",
        _set("federation.health.uptime_window_s", 0),
        "federation.health.uptime_window_s",
        "must be > 0, got 0",
    ),
    (
        "rev-window",
        _set("federation.health.rev_gossip_window_s", -5),
        "federation.health.rev_gossip_window_s",
        "must be > 0, got -5",
    ),
    (
        "rev-buffer",
        _set("federation.health.rev_gossip_buffer_size", 257),
        "federation.health.rev_gossip_buffer_size",
        "must be 1..256, got 257",
    ),
    (
        "health-sum",
        _both(_set("federation.health.uptime_weight", 0.5), _set("federation.health.rev_gossip_weight", 0.4)),
        "federation.health",
        "uptime_weight + rev_gossip_weight must sum to 1.0",
    ),
    (
        "federation-listen",
        _set("federation.listen_addr", "not-a-hostport"),
        "federation.listen_addr",
        "invalid host:port (address not-a-hostport: missing port in address)",
    ),
    (
        "peer-tracker-id",
        _set("federation.peers", [_peer(tracker_id="deadbeef")]),
        "federation.peers[0].tracker_id",
        "must be 64 hex chars",
    ),
    (
        "peer-pubkey",
        _set("federation.peers", [_peer(pubkey="b" * 63)]),
        "federation.peers[0].pubkey",
        "must be 64 hex chars",
    ),
    ("peer-addr", _set("federation.peers", [_peer(addr="")]), "federation.peers[0].addr", "empty"),
    (
        "peer-duplicate",
        _set("federation.peers", [_peer(), _peer(pubkey="c" * 64)]),
        "federation.peers[1].tracker_id",
        "duplicate",
    ),
    # I. reputation
    (
        "evaluation-interval",
        _set("reputation.evaluation_interval_s", 0),
        "reputation.evaluation_interval_s",
        "must be > 0",
    ),
    (
        "signal-windows",
        _set("reputation.signal_windows.short_s", 100000),
        "reputation.signal_windows",
        "must have short_s < medium_s < long_s",
    ),
    ("z-score", _set("reputation.z_score_threshold", 0.0), "reputation.z_score_threshold", "must be > 0"),
    (
        "default-score",
        _set("reputation.default_score", 1.5),
        "reputation.default_score",
        "must be in [0.0, 1.0]",
    ),
    (
        "freeze-ttl",
        _set("reputation.freeze_list_cache_ttl_s", 0),
        "reputation.freeze_list_cache_ttl_s",
        "must be > 0",
    ),
    (
        "min-population",
        _set("reputation.min_population_for_z_score", 0),
        "reputation.min_population_for_z_score",
        "must be > 0",
    ),
    (
        "reputation-storage",
        _set("reputation.storage_path", ""),
        "reputation.storage_path",
        "must be set (typically derived from data_dir)",
    ),
    # J. admission
    (
        "admit-threshold",
        _set("admission.pressure_admit_threshold", -0.5),
        "admission.pressure_admit_threshold",
        "must be > 0",
    ),
    (
        "reject-threshold",
        _set("admission.pressure_reject_threshold", 0.0),
        "admission.pressure_reject_threshold",
        "must be > 0",
    ),
    (
        "pressure-inversion",
        _both(
            _set("admission.pressure_admit_threshold", 1.5), _set("admission.pressure_reject_threshold", 1.0)
        ),
        "admission.pressure_admit_threshold",
        "must be < pressure_reject_threshold",
    ),
    ("queue-cap", _set("admission.queue_cap", 0), "admission.queue_cap", "must be >= 1"),
    (
        "trial-tier",
        _set("admission.trial_tier_score", 1.5),
        "admission.trial_tier_score",
        "must be in [0.0, 1.0]",
    ),
    (
        "aging-alpha",
        _set("admission.aging_alpha_per_minute", -0.01),
        "admission.aging_alpha_per_minute",
        "must be >= 0",
    ),
    ("queue-timeout", _set("admission.queue_timeout_s", 0), "admission.queue_timeout_s", "must be > 0"),
    (
        "admission-weight-sum",
        _set("admission.score_weights.tenure", 0.3),
        "admission.score_weights",
        "weights must sum to 1.0 ± 0.001 (got 1.1)",
    ),
    (
        "admission-weight-sum-2",
        _set("admission.score_weights.net_credit_flow", 1.3),
        "admission.score_weights",
        "weights must sum to 1.0 ± 0.001 (got 2)",
    ),
    (
        "net-flow-constant",
        _set("admission.net_flow_normalization_constant", 0),
        "admission.net_flow_normalization_constant",
        "must be > 0",
    ),
    ("tenure-cap", _set("admission.tenure_cap_days", 0), "admission.tenure_cap_days", "must be >= 1"),
    (
        "starter-grant",
        _set("admission.starter_grant_credits", 0),
        "admission.starter_grant_credits",
        "must be >= 1",
    ),
    (
        "rolling-window",
        _set("admission.rolling_window_days", 0),
        "admission.rolling_window_days",
        "must be >= 1",
    ),
    (
        "trial-settlements",
        _set("admission.trial_settlements_required", -1),
        "admission.trial_settlements_required",
        "must be >= 0",
    ),
    (
        "trial-duration",
        _set("admission.trial_duration_hours", -1),
        "admission.trial_duration_hours",
        "must be >= 0",
    ),
    (
        "attestation-ttl",
        _both(_set("admission.attestation_ttl_seconds", 0), _set("admission.attestation_max_ttl_seconds", 5)),
        "admission.attestation_ttl_seconds",
        "must be > 0",
    ),
    (
        "attestation-max-ttl",
        _both(
            _set("admission.attestation_ttl_seconds", 100000),
            _set("admission.attestation_max_ttl_seconds", 50000),
        ),
        "admission.attestation_max_ttl_seconds",
        "must be >= attestation_ttl_seconds",
    ),
    (
        "issuance-rate",
        _set("admission.attestation_issuance_per_consumer_per_hour", 0),
        "admission.attestation_issuance_per_consumer_per_hour",
        "must be >= 1",
    ),
    (
        "max-imported-score",
        _set("admission.max_attestation_score_imported", 2.0),
        "admission.max_attestation_score_imported",
        "must be in [0.0, 1.0]",
    ),
    ("tlog-empty", _set("admission.tlog_path", ""), "admission.tlog_path", "must be non-empty"),
    (
        "snapshot-prefix",
        _set("admission.snapshot_path_prefix", ""),
        "admission.snapshot_path_prefix",
        "must be non-empty",
    ),
    (
        "snapshot-interval",
        _set("admission.snapshot_interval_s", 0),
        "admission.snapshot_interval_s",
        "must be > 0",
    ),
    (
        "snapshots-retained",
        _set("admission.snapshots_retained", 0),
        "admission.snapshots_retained",
        "must be >= 1",
    ),
    (
        "fsync-window",
        _set("admission.fsync_batch_window_ms", -1),
        "admission.fsync_batch_window_ms",
        "must be >= 0",
    ),
    (
        "heartbeat-window",
        _set("admission.heartbeat_window_minutes", 0),
        "admission.heartbeat_window_minutes",
        "must be >= 1",
    ),
    (
        "heartbeat-decay",
        _set("admission.heartbeat_freshness_decay_max_s", 0),
        "admission.heartbeat_freshness_decay_max_s",
        "must be > 0",
    ),
    (
        "blocklist-entry",
        _set("admission.attestation_peer_blocklist", ["peer-a", "", "peer-c"]),
        "admission.attestation_peer_blocklist[1]",
        "must be non-empty",
    ),
    # K. stun_turn
    ("relay-kbps", _set("stun_turn.turn_relay_max_kbps", 0), "stun_turn.turn_relay_max_kbps", "must be > 0"),
    ("session-ttl", _set("stun_turn.session_ttl_seconds", 0), "stun_turn.session_ttl_seconds", "must be > 0"),
    # L. pricing
    ("pricing-empty", _set("pricing.models", {}), "pricing.models", "must contain at least one model"),
    (
        "pricing-name-empty",
        _set("pricing.models", {"": ModelPriceConfig(1, 1)}),
        "pricing.models",
        "model name empty",
    ),
    (
        "pricing-in-rate",
        _set("pricing.models", {"claude-opus-4-7": ModelPriceConfig(0, 75)}),
        "pricing.models.claude-opus-4-7.in_credits_per_token",
        "must be > 0",
    ),
    (
        "pricing-out-rate",
        _set("pricing.models", {"m": ModelPriceConfig(1, 0)}),
        "pricing.models.m.out_credits_per_token",
        "must be > 0",
    ),
]


def test_the_valid_config_is_valid(tmp_path: Path) -> None:
    validate(valid_config(tmp_path))


@pytest.mark.parametrize(
    ("mutation", "field", "message"), [rule[1:] for rule in RULES], ids=[r[0] for r in RULES]
)
def test_each_rule_reports_exactly_its_error(
    tmp_path: Path, mutation: Mutation, field: str, message: str
) -> None:
    config = valid_config(tmp_path)
    mutation(config)
    with pytest.raises(ValidationError) as raised:
        validate(config)
    assert raised.value.errors == [FieldError(field, message)]


def test_settlement_zeroes_each_reported(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.settlement.tunnel_setup_ms = 0
    config.settlement.settlement_timeout_s = 0
    config.settlement.reservation_ttl_s = 0
    assert [str(error) for error in validation_errors(config)] == [
        "settlement.tunnel_setup_ms: must be > 0",
        "settlement.settlement_timeout_s: must be > 0",
        "settlement.reservation_ttl_s: must be > 0",
    ]


def test_tlog_parent_directory_must_exist(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admission.tlog_path = str(tmp_path / "missing" / "admission.tlog")
    assert validation_errors(config) == [
        FieldError("admission.tlog_path", f"parent directory does not exist: {tmp_path}/missing")
    ]


def test_tlog_parent_that_is_a_regular_file_passes(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    config = valid_config(tmp_path)
    config.admission.tlog_path = str(tmp_path / "plain" / "admission.tlog")
    assert validation_errors(config) == []


def test_broker_negative_weight_names_the_field(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.broker.score_weights.rtt = -0.2
    config.broker.score_weights.reputation = 0.6
    errors = validation_errors(config)
    assert FieldError("broker.score_weights.rtt", "must be >= 0") in errors


def test_admission_negative_weight_names_the_field(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admission.score_weights.tenure = -0.1
    config.admission.score_weights.settlement_reliability = 0.6
    assert validation_errors(config) == [FieldError("admission.score_weights.tenure", "must be >= 0")]


@pytest.mark.parametrize("address", [":7443", "", "[::1]:7443", "host:"])
def test_federation_listen_addr_accepted(tmp_path: Path, address: str) -> None:
    config = valid_config(tmp_path)
    config.federation.listen_addr = address
    assert validation_errors(config) == []


def test_health_weights_out_of_range_each_reported(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.federation.health.uptime_weight = -0.1
    config.federation.health.rev_gossip_weight = 1.1
    assert validation_errors(config) == [
        FieldError("federation.health.uptime_weight", "must be in [0,1]"),
        FieldError("federation.health.rev_gossip_weight", "must be in [0,1]"),
    ]


def test_two_well_formed_peers_pass(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.federation.peers = [_peer(), _peer(tracker_id="c" * 64, pubkey="d" * 64)]
    assert validation_errors(config) == []


def test_fsync_window_zero_is_valid_without_defaults(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admission.fsync_batch_window_ms = 0
    assert validation_errors(config) == []


def test_port_zero_listeners_never_collide(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admin.listen_addr = config.metrics.listen_addr = "127.0.0.1:0"
    config.stun_turn.stun_listen_addr = config.stun_turn.turn_listen_addr = ":0"
    assert validation_errors(config) == []


def test_listeners_compare_as_raw_strings(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admin.listen_addr = ":7777"  # same port as server 0.0.0.0:7777, different string
    assert validation_errors(config) == []


def test_default_config_without_defaults_reports_required_fields_in_order() -> None:
    assert [error.field for error in validation_errors(default_config())] == [
        "data_dir",
        "server.listen_addr",
        "server.identity_key_path",
        "server.tls_cert_path",
        "server.tls_key_path",
        "ledger.storage_path",
        "reputation.storage_path",
        "admission.tlog_path",
        "admission.snapshot_path_prefix",
    ]


def test_errors_accumulate_in_group_order(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.stun_turn.session_ttl_seconds = 0
    config.admission.queue_cap = 0
    config.reputation.default_score = 2.0
    config.log_level = "loud"
    config.data_dir = "relative"
    assert [error.field for error in validation_errors(config)] == [
        "data_dir",
        "log_level",
        "reputation.default_score",
        "admission.queue_cap",
        "stun_turn.session_ttl_seconds",
    ]


def test_validation_error_text() -> None:
    error = ValidationError([FieldError("a", "x"), FieldError("b.c", "y")])
    assert str(error) == "  - a: x\n  - b.c: y"
    assert str(ValidationError([])) == "config: validation failed (no specific errors recorded)"
