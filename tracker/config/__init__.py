"""The tracker configuration: schema, YAML parsing, defaults, validation, rendering.

`load(path)` = parse → apply_defaults → validate. Errors: `ParseError` and `ValidationError` (both
`ConfigError`); a file that cannot be read raises the plain `OSError`.
"""

from tracker.config._defaults import apply_defaults
from tracker.config._errors import ConfigError, FieldError, ParseError, ValidationError
from tracker.config._load import config_for_data_dir, load, load_with_stats
from tracker.config._parse import ParseStats, parse, parse_with_stats
from tracker.config._render import render_defaults_template, render_yaml
from tracker.config._schema import (
    SECTION_NAMES,
    AdminConfig,
    AdmissionConfig,
    AdmissionScoreWeights,
    BootstrapConfig,
    BrokerConfig,
    BrokerScoreWeights,
    Config,
    FederationConfig,
    FederationPeer,
    LedgerConfig,
    MetricsConfig,
    ModelPriceConfig,
    PeerHealthConfig,
    PricingConfig,
    ReputationConfig,
    ServerConfig,
    SettlementConfig,
    SignalWindows,
    StunTurnConfig,
    default_config,
    default_pricing_models,
)
from tracker.config._validate import validate, validation_errors

__all__ = [
    "SECTION_NAMES",
    "AdminConfig",
    "AdmissionConfig",
    "AdmissionScoreWeights",
    "BootstrapConfig",
    "BrokerConfig",
    "BrokerScoreWeights",
    "Config",
    "ConfigError",
    "FederationConfig",
    "FederationPeer",
    "FieldError",
    "LedgerConfig",
    "MetricsConfig",
    "ModelPriceConfig",
    "ParseError",
    "ParseStats",
    "PeerHealthConfig",
    "PricingConfig",
    "ReputationConfig",
    "ServerConfig",
    "SettlementConfig",
    "SignalWindows",
    "StunTurnConfig",
    "ValidationError",
    "apply_defaults",
    "config_for_data_dir",
    "default_config",
    "default_pricing_models",
    "load",
    "load_with_stats",
    "parse",
    "parse_with_stats",
    "render_defaults_template",
    "render_yaml",
    "validate",
    "validation_errors",
]
