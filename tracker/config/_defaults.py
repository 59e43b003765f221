"""`apply_defaults`: zero means unset, weight blocks filled as a unit, `${data_dir}` derivations,
pricing table replaced wholesale. Explicit per-field code, as in the Go tracker."""

from __future__ import annotations

import dataclasses
from typing import Any

from tracker.config._schema import (
    AdmissionScoreWeights,
    BrokerScoreWeights,
    Config,
    default_pricing_models,
)

_DEFAULTS = Config()


def _fill_zero_fields(section: Any, defaults: Any, skip: tuple[str, ...] = ()) -> None:
    """Set every scalar field that holds its zero value (0, 0.0, "") to the default."""
    for schema_field in dataclasses.fields(section):
        name = schema_field.name
        if name in skip:
            continue
        value = getattr(section, name)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        if value == 0 or value == "":
            setattr(section, name, getattr(defaults, name))


def _all_zero(section: Any) -> bool:
    return all(getattr(section, f.name) == 0 for f in dataclasses.fields(section))


def apply_defaults(cfg: Config) -> Config:
    """Fill unset fields of `cfg` in place and return it. Idempotent. Never fills required fields
    (data_dir, the four server paths/addr, ledger.storage_path) nor federation.listen_addr/peers or the
    attestation blocklist."""
    defaults = _DEFAULTS
    if cfg.log_level == "":
        cfg.log_level = defaults.log_level

    _fill_zero_fields(
        cfg.server,
        defaults.server,
        skip=("listen_addr", "identity_key_path", "tls_cert_path", "tls_key_path"),
    )
    _fill_zero_fields(cfg.admin, defaults.admin)
    _fill_zero_fields(cfg.ledger, defaults.ledger, skip=("storage_path",))

    _fill_zero_fields(cfg.broker, defaults.broker)
    if _all_zero(cfg.broker.score_weights):
        cfg.broker.score_weights = BrokerScoreWeights()

    _fill_zero_fields(cfg.settlement, defaults.settlement)

    federation = cfg.federation
    _fill_zero_fields(federation, defaults.federation, skip=("listen_addr",))
    _fill_zero_fields(federation.bootstrap, defaults.federation.bootstrap)
    _fill_zero_fields(
        federation.health, defaults.federation.health, skip=("uptime_weight", "rev_gossip_weight")
    )
    if federation.health.uptime_weight == 0 and federation.health.rev_gossip_weight == 0:
        federation.health.uptime_weight = defaults.federation.health.uptime_weight
        federation.health.rev_gossip_weight = defaults.federation.health.rev_gossip_weight

    _fill_zero_fields(cfg.reputation, defaults.reputation, skip=("storage_path",))
    _fill_zero_fields(cfg.reputation.signal_windows, defaults.reputation.signal_windows)

    _fill_zero_fields(cfg.admission, defaults.admission, skip=("tlog_path", "snapshot_path_prefix"))
    if _all_zero(cfg.admission.score_weights):
        cfg.admission.score_weights = AdmissionScoreWeights()

    _fill_zero_fields(cfg.stun_turn, defaults.stun_turn)
    _fill_zero_fields(cfg.metrics, defaults.metrics)

    # Plain concatenation, no normalisation (a trailing slash in data_dir yields "//"), as in Go.
    if cfg.data_dir != "":
        if cfg.reputation.storage_path == "":
            cfg.reputation.storage_path = cfg.data_dir + "/reputation.sqlite"
        if cfg.admission.tlog_path == "":
            cfg.admission.tlog_path = cfg.data_dir + "/admission.tlog"
        if cfg.admission.snapshot_path_prefix == "":
            cfg.admission.snapshot_path_prefix = cfg.data_dir + "/admission.snapshot"

    if not cfg.pricing.models:
        cfg.pricing.models = default_pricing_models()
    return cfg
