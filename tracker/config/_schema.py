"""The configuration schema: one dataclass per YAML mapping; attribute names are the YAML keys.

Field defaults are the operator-facing defaults (so `AdmissionConfig()` is a usable, defaulted section);
required fields and the three `${data_dir}`-derived paths default to "" (unset). The parser starts from
`zero_value(cls)` instead, so a freshly parsed config holds exactly what the file said (Go semantics).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

# Marks an unsigned 64-bit integer field (pricing rates): negative values are a parse error.
Uint64 = Annotated[int, "uint64"]

DEFAULT_PRICING_MODELS: dict[str, tuple[int, int]] = {
    "claude-opus-4-7": (15, 75),
    "claude-sonnet-4-6": (3, 15),
    "claude-haiku-4-5-20251001": (1, 5),
}


@dataclass
class ServerConfig:
    listen_addr: str = ""
    identity_key_path: str = ""
    tls_cert_path: str = ""
    tls_key_path: str = ""
    max_frame_size: int = 1048576
    idle_timeout_s: int = 60
    max_incoming_streams: int = 1024
    shutdown_grace_s: int = 30


@dataclass
class AdminConfig:
    listen_addr: str = "127.0.0.1:9090"


@dataclass
class LedgerConfig:
    storage_path: str = ""
    merkle_root_interval_minutes: int = 60


@dataclass
class BrokerScoreWeights:
    reputation: float = 0.4
    headroom: float = 0.3
    rtt: float = 0.2
    load: float = 0.1


@dataclass
class BrokerConfig:
    headroom_threshold: float = 0.2
    load_threshold: int = 5
    score_weights: BrokerScoreWeights = field(default_factory=BrokerScoreWeights)
    offer_timeout_ms: int = 1500
    max_offer_attempts: int = 4
    broker_request_rate_per_sec: float = 2.0
    queue_drain_interval_ms: int = 1000
    inflight_terminal_ttl_s: int = 600


@dataclass
class SettlementConfig:
    tunnel_setup_ms: int = 10000
    stream_idle_s: int = 60
    settlement_timeout_s: int = 900
    reservation_ttl_s: int = 1200
    stale_tip_retries: int = 3


@dataclass
class FederationPeer:
    tracker_id: str = ""
    pubkey: str = ""
    addr: str = ""
    region: str = ""


@dataclass
class BootstrapConfig:
    max_peers: int = 50
    ttl_seconds: int = 600


@dataclass
class PeerHealthConfig:
    uptime_window_s: int = 7200
    rev_gossip_window_s: int = 600
    rev_gossip_buffer_size: int = 16
    uptime_weight: float = 0.7
    rev_gossip_weight: float = 0.3


@dataclass
class FederationConfig:
    peer_count_min: int = 8
    peer_count_max: int = 16
    gossip_dedupe_ttl_s: int = 3600
    transfer_retry_window_hours: int = 24
    enroll_rate_per_min_per_ip: int = 1
    handshake_timeout_s: int = 5
    gossip_rate_qps: int = 100
    send_queue_depth: int = 256
    publish_cadence_s: int = 3600
    listen_addr: str = ""
    idle_timeout_s: int = 60
    redial_base_s: int = 1
    redial_max_s: int = 30
    peers: list[FederationPeer] | None = None
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    health: PeerHealthConfig = field(default_factory=PeerHealthConfig)


@dataclass
class SignalWindows:
    short_s: int = 3600
    medium_s: int = 86400
    long_s: int = 604800


@dataclass
class ReputationConfig:
    evaluation_interval_s: int = 60
    signal_windows: SignalWindows = field(default_factory=SignalWindows)
    z_score_threshold: float = 2.5
    default_score: float = 0.5
    freeze_list_cache_ttl_s: int = 600
    min_population_for_z_score: int = 100
    storage_path: str = ""


@dataclass
class AdmissionScoreWeights:
    settlement_reliability: float = 0.30
    inverse_dispute_rate: float = 0.10
    tenure: float = 0.20
    net_credit_flow: float = 0.30
    balance_cushion: float = 0.10


@dataclass
class AdmissionConfig:
    pressure_admit_threshold: float = 0.85
    pressure_reject_threshold: float = 1.5
    queue_cap: int = 512
    trial_tier_score: float = 0.4
    aging_alpha_per_minute: float = 0.05
    queue_timeout_s: int = 300
    score_weights: AdmissionScoreWeights = field(default_factory=AdmissionScoreWeights)
    net_flow_normalization_constant: int = 10000
    tenure_cap_days: int = 30
    starter_grant_credits: int = 1000
    rolling_window_days: int = 30
    trial_settlements_required: int = 50
    trial_duration_hours: int = 72
    attestation_ttl_seconds: int = 86400
    attestation_max_ttl_seconds: int = 604800
    attestation_issuance_per_consumer_per_hour: int = 6
    max_attestation_score_imported: float = 0.95
    tlog_path: str = ""
    snapshot_path_prefix: str = ""
    snapshot_interval_s: int = 600
    snapshots_retained: int = 3
    fsync_batch_window_ms: int = 5
    heartbeat_window_minutes: int = 10
    heartbeat_freshness_decay_max_s: int = 300
    attestation_peer_blocklist: list[str] | None = None


@dataclass
class StunTurnConfig:
    stun_listen_addr: str = ":3478"
    turn_listen_addr: str = ":3479"
    turn_relay_max_kbps: int = 1024
    session_ttl_seconds: int = 30


@dataclass
class MetricsConfig:
    listen_addr: str = ":9100"


@dataclass
class ModelPriceConfig:
    in_credits_per_token: Uint64 = 0
    out_credits_per_token: Uint64 = 0


def default_pricing_models() -> dict[str, ModelPriceConfig]:
    return {
        name: ModelPriceConfig(in_credits_per_token=rate_in, out_credits_per_token=rate_out)
        for name, (rate_in, rate_out) in DEFAULT_PRICING_MODELS.items()
    }


@dataclass
class PricingConfig:
    models: dict[str, ModelPriceConfig] = field(default_factory=default_pricing_models)


@dataclass
class Config:
    """The whole tracker configuration. `Config()` is the Go `DefaultConfig()`: every default set,
    required fields, derived paths, federation.listen_addr/peers and the blocklist left unset."""

    data_dir: str = ""
    log_level: str = "info"
    server: ServerConfig = field(default_factory=ServerConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    ledger: LedgerConfig = field(default_factory=LedgerConfig)
    broker: BrokerConfig = field(default_factory=BrokerConfig)
    settlement: SettlementConfig = field(default_factory=SettlementConfig)
    federation: FederationConfig = field(default_factory=FederationConfig)
    reputation: ReputationConfig = field(default_factory=ReputationConfig)
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    stun_turn: StunTurnConfig = field(default_factory=StunTurnConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    pricing: PricingConfig = field(default_factory=PricingConfig)


# The top-level keys that hold a mapping ("sections"), in schema order.
SECTION_NAMES: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Config) if f.name not in ("data_dir", "log_level")
)

_T = TypeVar("_T")


def default_config() -> Config:
    """Go `DefaultConfig()`: all defaults populated, required and derived fields empty."""
    return Config()


def zero_value(cls: type[_T]) -> _T:
    """An instance of a schema dataclass with every field at its Go zero value (0, 0.0, "", None, {})."""
    values: dict[str, Any] = {}
    for schema_field in dataclasses.fields(cls):  # type: ignore[arg-type]
        default = (
            schema_field.default
            if schema_field.default is not dataclasses.MISSING
            else schema_field.default_factory()  # type: ignore[misc]
        )
        if dataclasses.is_dataclass(default):
            values[schema_field.name] = zero_value(type(default))
        elif isinstance(default, bool):
            values[schema_field.name] = False
        elif isinstance(default, int):
            values[schema_field.name] = 0
        elif isinstance(default, float):
            values[schema_field.name] = 0.0
        elif isinstance(default, str):
            values[schema_field.name] = ""
        elif isinstance(default, dict):
            values[schema_field.name] = {}
        else:
            values[schema_field.name] = None
    return cls(**values)
