"""The fixture scenarios of spec §2 (our own copies of the Go tracker's testdata files)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tracker.config import (
    FieldError,
    ParseError,
    ValidationError,
    default_pricing_models,
    load,
    parse,
)

from ._helpers import FIXTURES

VAR_LIB_EXISTS = os.path.isdir("/var/lib/token-bay")


def test_minimal_parses_without_defaults() -> None:
    config = parse((FIXTURES / "minimal.yaml").read_text(), "minimal.yaml")
    assert config.data_dir == "/var/lib/token-bay"
    assert config.log_level == ""
    assert config.admission.queue_cap == 0
    assert config.server.listen_addr == "0.0.0.0:7777"
    assert config.ledger.storage_path == "/var/lib/token-bay/ledger.sqlite"


def test_minimal_loads_or_reports_only_the_tlog_parent() -> None:
    if VAR_LIB_EXISTS:
        config = load(FIXTURES / "minimal.yaml")
        assert config.admission.queue_cap == 512
        return
    with pytest.raises(ValidationError) as raised:
        load(FIXTURES / "minimal.yaml")
    assert raised.value.errors == [
        FieldError("admission.tlog_path", "parent directory does not exist: /var/lib/token-bay")
    ]


def test_minimal_loads_with_defaults_when_data_dir_exists(tmp_path: Path) -> None:
    text = (FIXTURES / "minimal.yaml").read_text().replace("/var/lib/token-bay", str(tmp_path))
    path = tmp_path / "minimal.yaml"
    path.write_text(text)
    config = load(path)
    assert config.log_level == "info"
    assert config.admission.queue_cap == 512
    assert config.admission.tlog_path == f"{tmp_path}/admission.tlog"
    assert config.admission.snapshot_path_prefix == f"{tmp_path}/admission.snapshot"
    assert config.reputation.storage_path == f"{tmp_path}/reputation.sqlite"
    assert config.pricing.models == default_pricing_models()


def test_full_parses_every_field() -> None:
    config = parse((FIXTURES / "full.yaml").read_text(), "full.yaml")
    assert config.data_dir == "/var/lib/token-bay"
    assert config.log_level == "info"
    assert config.admission.queue_cap == 512
    assert config.admission.score_weights.settlement_reliability == 0.30
    assert config.federation.listen_addr == ":7443"
    assert config.federation.peers is not None and len(config.federation.peers) == 1
    assert config.federation.peers[0].tracker_id == "a" * 64
    assert config.federation.peers[0].region == "us-east"
    assert config.admission.attestation_peer_blocklist == []
    assert config.pricing.models == default_pricing_models()


def test_full_is_byte_complete_every_field_equals_the_default() -> None:
    from tracker.config import Config, apply_defaults

    config = parse((FIXTURES / "full.yaml").read_text())
    expected = Config(data_dir="/var/lib/token-bay")
    expected.server = config.server  # the required block is checked above; the rest must be defaults
    expected.ledger.storage_path = config.ledger.storage_path
    expected.federation.listen_addr = ":7443"
    expected.federation.peers = config.federation.peers
    expected.admission.attestation_peer_blocklist = []
    apply_defaults(expected)
    assert config == expected


def test_full_loads_when_its_data_dir_exists(tmp_path: Path) -> None:
    text = (FIXTURES / "full.yaml").read_text().replace("/var/lib/token-bay", str(tmp_path))
    path = tmp_path / "full.yaml"
    path.write_text(text)
    assert load(path).federation.peers is not None


def test_unknown_field_is_a_parse_error_naming_key_and_line(tmp_path: Path) -> None:
    copy = tmp_path / "unknown_field.yaml"
    shutil.copy(FIXTURES / "unknown_field.yaml", copy)
    with pytest.raises(ParseError) as raised:
        load(str(copy))
    assert raised.value.path == str(copy)
    assert str(raised.value) == (
        f"config: parse error in {copy}: yaml: unmarshal errors:\n"
        "  line 10: field score_weight not found in type config.BrokerConfig"
    )


@pytest.mark.parametrize(
    ("fixture", "field", "message"),
    [
        ("invalid_log_level.yaml", "log_level", "must be one of: debug, info, warn, error"),
        (
            "invalid_listener_collision.yaml",
            "admin.listen_addr",
            "collides with server.listen_addr (both 0.0.0.0:7777)",
        ),
        ("invalid_signal_windows.yaml", "reputation.signal_windows", "must have short_s < medium_s < long_s"),
        (
            "invalid_score_weights_sum.yaml",
            "admission.score_weights",
            "weights must sum to 1.0 ± 0.001 (got 1.1)",
        ),
        (
            "invalid_pressure_inversion.yaml",
            "admission.pressure_admit_threshold",
            "must be < pressure_reject_threshold",
        ),
        (
            "invalid_attestation_ttl.yaml",
            "admission.attestation_max_ttl_seconds",
            "must be >= attestation_ttl_seconds",
        ),
    ],
)
def test_invalid_fixture_reports_exactly_one_error(fixture: str, field: str, message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        load(FIXTURES / fixture)
    assert raised.value.errors == [FieldError(field, message)]


def test_temp_dir_config_loads_with_derived_tlog(tmp_path: Path) -> None:
    from ._helpers import REQUIRED_YAML

    path = tmp_path / "tracker.yaml"
    path.write_text(REQUIRED_YAML.format(data_dir=tmp_path))
    assert load(path).admission.tlog_path == f"{tmp_path}/admission.tlog"


def test_missing_file_is_an_os_error_not_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.yaml")


def test_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load(tmp_path)


def test_oversized_file_is_a_parse_error_not_a_hang(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"#" * (1 << 20) + b"\n")
    with pytest.raises(ParseError) as raised:
        load(path)
    assert "larger than 1048576 bytes" in str(raised.value)
