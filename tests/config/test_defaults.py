"""`apply_defaults`: zero means unset, weight blocks as a unit, derived paths, pricing replacement,
idempotence."""

from __future__ import annotations

import copy

import pytest

from tracker.config import (
    Config,
    ModelPriceConfig,
    apply_defaults,
    config_for_data_dir,
    default_config,
    default_pricing_models,
    parse,
    validation_errors,
)
from tracker.config._schema import zero_value


def test_empty_config_gets_exactly_the_default_config() -> None:
    assert apply_defaults(zero_value(Config)) == default_config()


def test_default_config_leaves_required_and_derived_fields_unset() -> None:
    config = default_config()
    assert config.data_dir == ""
    assert config.server.listen_addr == config.server.identity_key_path == ""
    assert config.ledger.storage_path == ""
    assert config.reputation.storage_path == config.admission.tlog_path == ""
    assert config.admission.snapshot_path_prefix == ""
    assert config.federation.listen_addr == ""
    assert config.federation.peers is None
    assert config.admission.attestation_peer_blocklist is None


def test_data_dir_derives_three_paths_by_concatenation() -> None:
    config = apply_defaults(parse("data_dir: /var/lib/token-bay\n"))
    assert config.admission.tlog_path == "/var/lib/token-bay/admission.tlog"
    assert config.admission.snapshot_path_prefix == "/var/lib/token-bay/admission.snapshot"
    assert config.reputation.storage_path == "/var/lib/token-bay/reputation.sqlite"
    trailing = apply_defaults(parse("data_dir: /data/\n"))
    assert trailing.admission.tlog_path == "/data//admission.tlog"


def test_explicit_values_are_preserved() -> None:
    config = apply_defaults(
        parse(
            "log_level: debug\nbroker:\n  max_offer_attempts: 7\n  score_weights:\n"
            "    reputation: 0.5\n    headroom: 0.2\n    rtt: 0.2\n    load: 0.1\n"
            "admission:\n  tlog_path: /custom/t.log\ndata_dir: /d\n"
        )
    )
    assert config.log_level == "debug"
    assert config.broker.max_offer_attempts == 7
    assert (config.broker.score_weights.reputation, config.broker.score_weights.headroom) == (0.5, 0.2)
    assert config.admission.tlog_path == "/custom/t.log"
    assert config.admission.snapshot_path_prefix == "/d/admission.snapshot"


def test_zero_means_unset_but_negative_is_kept() -> None:
    config = apply_defaults(
        parse(
            "admission:\n  fsync_batch_window_ms: 0\n  trial_settlements_required: 0\n"
            "settlement:\n  stale_tip_retries: 0\n  stream_idle_s: -4\n"
            "server:\n  shutdown_grace_s: 0\nbroker:\n  headroom_threshold: 0\n"
        )
    )
    assert config.admission.fsync_batch_window_ms == 5
    assert config.admission.trial_settlements_required == 50
    assert config.settlement.stale_tip_retries == 3
    assert config.settlement.stream_idle_s == -4
    assert config.server.shutdown_grace_s == 30
    assert config.broker.headroom_threshold == 0.2


def test_partial_weight_blocks_stay_partial_so_the_sum_rule_fires(tmp_path) -> None:
    config = config_for_data_dir(tmp_path)
    text = "broker:\n  score_weights:\n    reputation: 0.4\nadmission:\n  score_weights:\n    tenure: 0.2\n"
    partial = apply_defaults(parse(text))
    assert partial.broker.score_weights.headroom == 0.0
    assert partial.admission.score_weights.settlement_reliability == 0.0
    config.broker = partial.broker
    config.admission.score_weights = partial.admission.score_weights
    fields = [error.field for error in validation_errors(config)]
    assert fields == ["broker.score_weights", "admission.score_weights"]


def test_health_weights_default_only_when_both_zero() -> None:
    both = apply_defaults(parse("federation:\n  health:\n    uptime_window_s: 5\n"))
    assert (both.federation.health.uptime_weight, both.federation.health.rev_gossip_weight) == (0.7, 0.3)
    assert both.federation.health.uptime_window_s == 5
    one = apply_defaults(parse("federation:\n  health:\n    uptime_weight: 0.5\n"))
    assert (one.federation.health.uptime_weight, one.federation.health.rev_gossip_weight) == (0.5, 0.0)


def test_pricing_table_replaced_wholesale_or_defaulted() -> None:
    custom = apply_defaults(
        parse("pricing:\n  models:\n    mine: {in_credits_per_token: 2, out_credits_per_token: 4}\n")
    )
    assert custom.pricing.models == {"mine": ModelPriceConfig(2, 4)}
    assert apply_defaults(parse("pricing:\n  models: {}\n")).pricing.models == default_pricing_models()
    assert apply_defaults(parse("log_level: info\n")).pricing.models == default_pricing_models()


def test_lists_stay_none_when_absent() -> None:
    config = apply_defaults(parse("data_dir: /x\n"))
    assert config.federation.peers is None
    assert config.admission.attestation_peer_blocklist is None
    assert config.federation.listen_addr == ""


@pytest.mark.parametrize(
    "text",
    [
        "log_level: ''\n",
        "data_dir: /var/lib/token-bay\n",
        "broker:\n  score_weights:\n    rtt: 0.3\nfederation:\n  health:\n    rev_gossip_weight: 0.2\n",
        "admission:\n  queue_cap: -1\n  tlog_path: /t\n",
    ],
)
def test_apply_defaults_is_idempotent(text: str) -> None:
    once = apply_defaults(parse(text))
    twice = apply_defaults(copy.deepcopy(once))
    assert twice == once


def test_apply_defaults_is_idempotent_on_defaults() -> None:
    assert apply_defaults(default_config()) == default_config()
    assert apply_defaults(apply_defaults(default_config())) == default_config()


def test_config_for_data_dir_is_valid_and_rooted(tmp_path) -> None:
    config = config_for_data_dir(tmp_path)
    assert validation_errors(config) == []
    assert config.data_dir == str(tmp_path)
    for path in (
        config.server.identity_key_path,
        config.ledger.storage_path,
        config.admission.tlog_path,
        config.reputation.storage_path,
    ):
        assert path.startswith(str(tmp_path) + "/")
    assert config.admin.listen_addr == "127.0.0.1:0"
    assert config.metrics.listen_addr == "127.0.0.1:0"
