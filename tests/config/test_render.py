"""`render_yaml` / `config show` round trip and the `config defaults` template."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from tracker.config import (
    Config,
    FederationPeer,
    ModelPriceConfig,
    ValidationError,
    apply_defaults,
    config_for_data_dir,
    default_config,
    load,
    parse,
    render_defaults_template,
    render_yaml,
    validate,
)

from ._helpers import FIXTURES


def _leaf_paths(value: object, prefix: str = "") -> set[str]:
    if dataclasses.is_dataclass(value):
        paths: set[str] = set()
        for schema_field in dataclasses.fields(value):
            name = f"{prefix}.{schema_field.name}" if prefix else schema_field.name
            paths |= _leaf_paths(getattr(value, schema_field.name), name) or {name}
        return paths
    return set()


def test_show_output_parses_back_to_the_same_config_and_validates(tmp_path: Path) -> None:
    config = config_for_data_dir(tmp_path)
    config.federation.peers = [FederationPeer("a" * 64, "b" * 64, "peer:1", "eu")]
    config.admission.attestation_peer_blocklist = ["x", "y"]
    config.pricing.models = {"odd: name": ModelPriceConfig(1, 2)}
    text = render_yaml(config)
    path = tmp_path / "shown.yaml"
    path.write_text(text)
    assert load(path) == config


def test_tricky_strings_survive_the_round_trip(tmp_path: Path) -> None:
    config = config_for_data_dir(tmp_path)
    for value in [
        "yes",
        "1:30",
        "null",
        "~",
        "",
        "# hash",
        'q"uote\\',
        "tab\there",
        "line\nbreak",
        "é ‖ \u2028",
        "\x7f\x85",
        "0x10",
        "true",
    ]:
        config.log_level = value
        assert parse(render_yaml(config)).log_level == value


def test_floats_round_trip_exactly(tmp_path: Path) -> None:
    config = config_for_data_dir(tmp_path)
    for value in [0.1, 1e-7, 1e16, 0.30000000000000004, float("inf"), 2.0]:
        config.broker.headroom_threshold = value
        assert parse(render_yaml(config)).broker.headroom_threshold == value


def test_show_of_the_full_fixture_round_trips(tmp_path: Path) -> None:
    text = (FIXTURES / "full.yaml").read_text().replace("/var/lib/token-bay", str(tmp_path))
    source = tmp_path / "full.yaml"
    source.write_text(text)
    config = load(source)
    shown = tmp_path / "shown.yaml"
    shown.write_text(render_yaml(config))
    assert load(shown) == config


def test_render_is_plain_yaml_for_other_readers(tmp_path: Path) -> None:
    data = yaml.safe_load(render_yaml(config_for_data_dir(tmp_path)))
    assert data["admission"]["queue_cap"] == 512
    assert data["data_dir"] == str(tmp_path)


def test_defaults_template_lists_every_field_and_marks_required() -> None:
    template = render_defaults_template()
    config = parse(template)
    for leaf in _leaf_paths(default_config()):
        assert f"{leaf.rsplit('.', 1)[-1]}:" in template, leaf
    for required in [
        "data_dir",
        "listen_addr",
        "identity_key_path",
        "tls_cert_path",
        "tls_key_path",
        "storage_path",
    ]:
        assert any(
            line.lstrip().startswith(f"{required}:") and "REQUIRED" in line for line in template.splitlines()
        ), required
    expected = default_config()
    expected.federation.peers = []
    expected.admission.attestation_peer_blocklist = []
    assert config == expected


def test_defaults_template_validates_once_required_fields_are_filled(tmp_path: Path) -> None:
    replacements = {
        'data_dir: ""': f'data_dir: "{tmp_path}"',
        'listen_addr: ""  # REQUIRED': 'listen_addr: "0.0.0.0:7777"  # REQUIRED',
        'identity_key_path: ""': 'identity_key_path: "/k"',
        'tls_cert_path: ""': 'tls_cert_path: "/c"',
        'tls_key_path: ""': 'tls_key_path: "/k2"',
        'storage_path: ""  # REQUIRED': 'storage_path: "/l"  # REQUIRED',
    }
    template = render_defaults_template()
    for old, new in replacements.items():
        assert template.count(old) == 1, old
        template = template.replace(old, new)
    path = tmp_path / "filled.yaml"
    path.write_text(template)
    config = load(path)
    assert config.admission.tlog_path == f"{tmp_path}/admission.tlog"
    unfilled = tmp_path / "unfilled.yaml"
    unfilled.write_text(render_defaults_template())
    with pytest.raises(ValidationError):
        load(unfilled)


def test_zero_config_renders_and_reparses() -> None:
    config = apply_defaults(Config())
    assert parse(render_yaml(config)) == config
    with pytest.raises(ValidationError):
        validate(config)
