"""`validate`: every rule of the Go tracker, in its emission order and wording, accumulating all failures.

Order of groups: required → log_level → listeners → server → ledger → broker → settlement → federation →
reputation → admission → stun_turn → pricing, then our own rule: distinct state files (`_distinct_paths`).
Float range checks are written so that NaN fails them. Deliberate differences from Go: listeners on port 0
(OS-chosen) never collide with each other; state files sharing one file are refused.
"""

from __future__ import annotations

import os

from tracker.config._distinct_paths import check_distinct_state_paths
from tracker.config._errors import FieldError, ValidationError
from tracker.config._go_text import HostPortError, format_go_float, go_dir, split_host_port
from tracker.config._schema import Config

LOG_LEVELS = ("debug", "info", "warn", "error")
_WEIGHT_SUM_TOLERANCE = 0.001


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))


def _in_unit_interval(value: float) -> bool:
    return 0.0 <= value <= 1.0


def _weights_sum_message(total: float) -> str | None:
    if abs(total - 1.0) < _WEIGHT_SUM_TOLERANCE:
        return None
    return f"weights must sum to 1.0 ± 0.001 (got {format_go_float(total)})"


def _check_required(cfg: Config, out: _Collector) -> None:
    if cfg.data_dir == "":
        out.add("data_dir", "must be non-empty")
    elif not cfg.data_dir.startswith("/"):
        out.add("data_dir", "must be an absolute path")
    for field, value in (
        ("server.listen_addr", cfg.server.listen_addr),
        ("server.identity_key_path", cfg.server.identity_key_path),
        ("server.tls_cert_path", cfg.server.tls_cert_path),
        ("server.tls_key_path", cfg.server.tls_key_path),
        ("ledger.storage_path", cfg.ledger.storage_path),
    ):
        if value == "":
            out.add(field, "must be non-empty")


def _check_log_level(cfg: Config, out: _Collector) -> None:
    if cfg.log_level != "" and cfg.log_level not in LOG_LEVELS:
        out.add("log_level", "must be one of: " + ", ".join(LOG_LEVELS))


def _check_listeners(cfg: Config, out: _Collector) -> None:
    seen: dict[str, str] = {}  # address → the field that claimed it first
    for field, address in (
        ("server.listen_addr", cfg.server.listen_addr),
        ("admin.listen_addr", cfg.admin.listen_addr),
        ("metrics.listen_addr", cfg.metrics.listen_addr),
        ("stun_turn.stun_listen_addr", cfg.stun_turn.stun_listen_addr),
        ("stun_turn.turn_listen_addr", cfg.stun_turn.turn_listen_addr),
    ):
        if address == "":
            continue
        try:
            _, port = split_host_port(address)
        except HostPortError as error:
            out.add(field, f"must be a valid host:port — {error}")
            continue
        if port == "0":
            continue  # the OS picks a distinct free port for each such listener: never a collision
        if address in seen:
            out.add(field, f"collides with {seen[address]} (both {address})")
            continue
        seen[address] = field


def _check_server(cfg: Config, out: _Collector) -> None:
    server = cfg.server
    if server.max_frame_size < 1024:
        out.add("server.max_frame_size", f"must be >= 1024, got {server.max_frame_size}")
    if server.idle_timeout_s <= 0:
        out.add("server.idle_timeout_s", f"must be > 0, got {server.idle_timeout_s}")
    if server.max_incoming_streams < 16:
        out.add("server.max_incoming_streams", f"must be >= 16, got {server.max_incoming_streams}")
    if server.shutdown_grace_s < 0:
        out.add("server.shutdown_grace_s", f"must be >= 0, got {server.shutdown_grace_s}")


def _check_ledger(cfg: Config, out: _Collector) -> None:
    if cfg.ledger.merkle_root_interval_minutes <= 0:
        out.add("ledger.merkle_root_interval_minutes", "must be > 0")


def _check_broker(cfg: Config, out: _Collector) -> None:
    broker = cfg.broker
    if not _in_unit_interval(broker.headroom_threshold):
        out.add("broker.headroom_threshold", "must be in [0.0, 1.0]")
    if broker.load_threshold < 1:
        out.add("broker.load_threshold", "must be >= 1")
    weights = broker.score_weights
    for name in ("reputation", "headroom", "rtt", "load"):
        if getattr(weights, name) < 0:
            out.add(f"broker.score_weights.{name}", "must be >= 0")
    message = _weights_sum_message(weights.reputation + weights.headroom + weights.rtt + weights.load)
    if message:
        out.add("broker.score_weights", message)
    if broker.offer_timeout_ms <= 0:
        out.add("broker.offer_timeout_ms", "must be > 0")
    if broker.max_offer_attempts < 1:
        out.add("broker.max_offer_attempts", "must be >= 1")
    if not broker.broker_request_rate_per_sec > 0:
        out.add("broker.broker_request_rate_per_sec", "must be > 0")
    if not 100 <= broker.queue_drain_interval_ms <= 60000:
        out.add("broker.queue_drain_interval_ms", "must be in [100, 60000]")
    if broker.inflight_terminal_ttl_s < 60:
        out.add("broker.inflight_terminal_ttl_s", "must be >= 60")


def _check_settlement(cfg: Config, out: _Collector) -> None:
    settlement = cfg.settlement
    for name in ("tunnel_setup_ms", "stream_idle_s", "settlement_timeout_s", "reservation_ttl_s"):
        if getattr(settlement, name) <= 0:
            out.add(f"settlement.{name}", "must be > 0")
    timeout_s = settlement.settlement_timeout_s
    if settlement.tunnel_setup_ms > 0 and timeout_s > 0 and settlement.tunnel_setup_ms >= timeout_s * 1000:
        out.add("settlement.tunnel_setup_ms", "must be < settlement_timeout_s × 1000")
    if settlement.reservation_ttl_s > 0 and timeout_s > 0 and settlement.reservation_ttl_s < timeout_s:
        out.add(
            "settlement.reservation_ttl_s", "must be >= settlement_timeout_s (TTL must outlast settlement)"
        )
    if not 0 <= settlement.stale_tip_retries <= 10:
        out.add("settlement.stale_tip_retries", "must be in [0, 10]")


def _check_federation(cfg: Config, out: _Collector) -> None:
    federation = cfg.federation
    if federation.peer_count_min < 1:
        out.add("federation.peer_count_min", "must be >= 1")
    if federation.peer_count_max < federation.peer_count_min:
        out.add("federation.peer_count_max", "must be >= peer_count_min")
    if federation.gossip_dedupe_ttl_s <= 0:
        out.add("federation.gossip_dedupe_ttl_s", "must be > 0")
    if federation.transfer_retry_window_hours <= 0:
        out.add("federation.transfer_retry_window_hours", "must be > 0")
    if federation.enroll_rate_per_min_per_ip < 1:
        out.add("federation.enroll_rate_per_min_per_ip", "must be >= 1")
    for name, low, high in (
        ("handshake_timeout_s", 1, 60),
        ("gossip_rate_qps", 1, 10000),
    ):
        value = getattr(federation, name)
        if not low <= value <= high:
            out.add(f"federation.{name}", f"must be {low}..{high}, got {value}")
    if not 1 <= federation.send_queue_depth <= 1 << 20:
        out.add("federation.send_queue_depth", "out of range")
    for name, low, high in (
        ("publish_cadence_s", 60, 86400),
        ("idle_timeout_s", 1, 600),
        ("redial_base_s", 1, 60),
    ):
        value = getattr(federation, name)
        if not low <= value <= high:
            out.add(f"federation.{name}", f"must be {low}..{high}, got {value}")
    if federation.redial_max_s < federation.redial_base_s or federation.redial_max_s > 600:
        out.add(
            "federation.redial_max_s", f"must be >= redial_base_s and <= 600, got {federation.redial_max_s}"
        )
    bootstrap = federation.bootstrap
    if not 1 <= bootstrap.max_peers <= 256:
        out.add("federation.bootstrap.max_peers", f"must be 1..256, got {bootstrap.max_peers}")
    if not 60 <= bootstrap.ttl_seconds <= 3600:
        out.add("federation.bootstrap.ttl_seconds", f"must be 60..3600, got {bootstrap.ttl_seconds}")
    health = federation.health
    if health.uptime_window_s <= 0:
        out.add("federation.health.uptime_window_s", f"must be > 0, got {health.uptime_window_s}")
    if health.rev_gossip_window_s <= 0:
        out.add("federation.health.rev_gossip_window_s", f"must be > 0, got {health.rev_gossip_window_s}")
    if not 1 <= health.rev_gossip_buffer_size <= 256:
        out.add(
            "federation.health.rev_gossip_buffer_size", f"must be 1..256, got {health.rev_gossip_buffer_size}"
        )
    if not _in_unit_interval(health.uptime_weight):
        out.add("federation.health.uptime_weight", "must be in [0,1]")
    if not _in_unit_interval(health.rev_gossip_weight):
        out.add("federation.health.rev_gossip_weight", "must be in [0,1]")
    if not abs(health.uptime_weight + health.rev_gossip_weight - 1.0) <= 1e-9:
        out.add("federation.health", "uptime_weight + rev_gossip_weight must sum to 1.0")
    if federation.listen_addr != "":
        try:
            split_host_port(federation.listen_addr)
        except HostPortError as error:
            out.add("federation.listen_addr", f"invalid host:port ({error})")
    seen_tracker_ids: set[str] = set()
    for index, peer in enumerate(federation.peers or ()):
        prefix = f"federation.peers[{index}]"
        if len(peer.tracker_id) != 64:
            out.add(f"{prefix}.tracker_id", "must be 64 hex chars")
        if len(peer.pubkey) != 64:
            out.add(f"{prefix}.pubkey", "must be 64 hex chars")
        if peer.addr == "":
            out.add(f"{prefix}.addr", "empty")
        if peer.tracker_id in seen_tracker_ids:
            out.add(f"{prefix}.tracker_id", "duplicate")
        seen_tracker_ids.add(peer.tracker_id)


def _check_reputation(cfg: Config, out: _Collector) -> None:
    reputation = cfg.reputation
    if reputation.evaluation_interval_s <= 0:
        out.add("reputation.evaluation_interval_s", "must be > 0")
    windows = reputation.signal_windows
    if not windows.short_s < windows.medium_s < windows.long_s:
        out.add("reputation.signal_windows", "must have short_s < medium_s < long_s")
    if not reputation.z_score_threshold > 0:
        out.add("reputation.z_score_threshold", "must be > 0")
    if not _in_unit_interval(reputation.default_score):
        out.add("reputation.default_score", "must be in [0.0, 1.0]")
    if reputation.freeze_list_cache_ttl_s <= 0:
        out.add("reputation.freeze_list_cache_ttl_s", "must be > 0")
    if reputation.min_population_for_z_score <= 0:
        out.add("reputation.min_population_for_z_score", "must be > 0")
    if reputation.storage_path == "":
        out.add("reputation.storage_path", "must be set (typically derived from data_dir)")


def _check_admission(cfg: Config, out: _Collector) -> None:
    admission = cfg.admission
    admit, reject = admission.pressure_admit_threshold, admission.pressure_reject_threshold
    if not admit > 0:
        out.add("admission.pressure_admit_threshold", "must be > 0")
    if not reject > 0:
        out.add("admission.pressure_reject_threshold", "must be > 0")
    if admit > 0 and reject > 0 and admit >= reject:
        out.add("admission.pressure_admit_threshold", "must be < pressure_reject_threshold")
    if admission.queue_cap < 1:
        out.add("admission.queue_cap", "must be >= 1")
    if not _in_unit_interval(admission.trial_tier_score):
        out.add("admission.trial_tier_score", "must be in [0.0, 1.0]")
    if not admission.aging_alpha_per_minute >= 0:
        out.add("admission.aging_alpha_per_minute", "must be >= 0")
    if admission.queue_timeout_s <= 0:
        out.add("admission.queue_timeout_s", "must be > 0")
    weights = admission.score_weights
    names = ("settlement_reliability", "inverse_dispute_rate", "tenure", "net_credit_flow", "balance_cushion")
    for name in names:
        if getattr(weights, name) < 0:
            out.add(f"admission.score_weights.{name}", "must be >= 0")
    total = 0.0
    for name in names:
        total += getattr(weights, name)
    message = _weights_sum_message(total)
    if message:
        out.add("admission.score_weights", message)
    if admission.net_flow_normalization_constant <= 0:
        out.add("admission.net_flow_normalization_constant", "must be > 0")
    for name in ("tenure_cap_days", "starter_grant_credits", "rolling_window_days"):
        if getattr(admission, name) < 1:
            out.add(f"admission.{name}", "must be >= 1")
    for name in ("trial_settlements_required", "trial_duration_hours"):
        if getattr(admission, name) < 0:
            out.add(f"admission.{name}", "must be >= 0")
    if admission.attestation_ttl_seconds <= 0:
        out.add("admission.attestation_ttl_seconds", "must be > 0")
    if admission.attestation_max_ttl_seconds < admission.attestation_ttl_seconds:
        out.add("admission.attestation_max_ttl_seconds", "must be >= attestation_ttl_seconds")
    if admission.attestation_issuance_per_consumer_per_hour < 1:
        out.add("admission.attestation_issuance_per_consumer_per_hour", "must be >= 1")
    if not _in_unit_interval(admission.max_attestation_score_imported):
        out.add("admission.max_attestation_score_imported", "must be in [0.0, 1.0]")
    if admission.tlog_path == "":
        out.add("admission.tlog_path", "must be non-empty")
    else:
        parent = go_dir(admission.tlog_path)
        try:
            os.stat(parent)
        except (OSError, ValueError):
            out.add("admission.tlog_path", f"parent directory does not exist: {parent}")
    if admission.snapshot_path_prefix == "":
        out.add("admission.snapshot_path_prefix", "must be non-empty")
    if admission.snapshot_interval_s <= 0:
        out.add("admission.snapshot_interval_s", "must be > 0")
    if admission.snapshots_retained < 1:
        out.add("admission.snapshots_retained", "must be >= 1")
    if admission.fsync_batch_window_ms < 0:
        out.add("admission.fsync_batch_window_ms", "must be >= 0")
    if admission.heartbeat_window_minutes < 1:
        out.add("admission.heartbeat_window_minutes", "must be >= 1")
    if admission.heartbeat_freshness_decay_max_s <= 0:
        out.add("admission.heartbeat_freshness_decay_max_s", "must be > 0")
    for index, entry in enumerate(admission.attestation_peer_blocklist or ()):
        if entry == "":
            out.add(f"admission.attestation_peer_blocklist[{index}]", "must be non-empty")


def _check_stun_turn(cfg: Config, out: _Collector) -> None:
    if cfg.stun_turn.turn_relay_max_kbps <= 0:
        out.add("stun_turn.turn_relay_max_kbps", "must be > 0")
    if cfg.stun_turn.session_ttl_seconds <= 0:
        out.add("stun_turn.session_ttl_seconds", "must be > 0")


def _check_pricing(cfg: Config, out: _Collector) -> None:
    models = cfg.pricing.models
    if not models:
        out.add("pricing.models", "must contain at least one model")
        return
    for name, price in models.items():
        if name == "":
            out.add("pricing.models", "model name empty")
        if price.in_credits_per_token == 0:
            out.add(f"pricing.models.{name}.in_credits_per_token", "must be > 0")
        if price.out_credits_per_token == 0:
            out.add(f"pricing.models.{name}.out_credits_per_token", "must be > 0")


def _check_distinct_state_paths(cfg: Config, out: _Collector) -> None:
    check_distinct_state_paths(
        [
            ("ledger.storage_path", cfg.ledger.storage_path, "sqlite"),
            ("admission.tlog_path", cfg.admission.tlog_path, "numbered"),
            ("admission.snapshot_path_prefix", cfg.admission.snapshot_path_prefix, "numbered"),
            ("server.identity_key_path", cfg.server.identity_key_path, "file"),
            ("reputation.storage_path", cfg.reputation.storage_path, "sqlite"),
        ],
        out.add,
    )


_CHECKS = (
    _check_required,
    _check_log_level,
    _check_listeners,
    _check_server,
    _check_ledger,
    _check_broker,
    _check_settlement,
    _check_federation,
    _check_reputation,
    _check_admission,
    _check_stun_turn,
    _check_pricing,
    _check_distinct_state_paths,
)


def validation_errors(cfg: Config) -> list[FieldError]:
    """Every broken rule, in rule order (empty when the config is valid)."""
    out = _Collector()
    for check in _CHECKS:
        check(cfg, out)
    return out.errors


def validate(cfg: Config) -> None:
    """Raise ValidationError listing every broken rule in order; return None when `cfg` is valid.
    Filesystem access: a stat of admission.tlog_path's parent directory, and resolving the state-file paths
    (symlinks, hard links) for the distinct-files rule."""
    errors = validation_errors(cfg)
    if errors:
        raise ValidationError(errors)
