"""`parse`: YAML 1.2 scalars, strictness (unknown/duplicate keys, types), error collection and text."""

from __future__ import annotations

import io
import math
from pathlib import Path

import pytest

from tracker.config import ParseError, load, parse

from ._helpers import REQUIRED_YAML


def _problems(text: str) -> list[str]:
    with pytest.raises(ParseError) as raised:
        parse(text)
    return raised.value.problems


def test_yes_no_on_off_are_strings_not_booleans() -> None:
    config = parse("log_level: yes\nfederation:\n  listen_addr: on\nadmin:\n  listen_addr: no\n")
    assert config.log_level == "yes"
    assert config.federation.listen_addr == "on"
    assert config.admin.listen_addr == "no"


def test_yes_into_a_number_is_a_string_type_error() -> None:
    assert _problems("admission:\n  queue_cap: yes\n") == ["line 2: cannot unmarshal !!str `yes` into int"]


def test_sexagesimal_is_a_plain_string() -> None:
    config = parse("admin:\n  listen_addr: 1:30\n")
    assert config.admin.listen_addr == "1:30"
    assert _problems("admission:\n  queue_timeout_s: 1:30\n") == [
        "line 2: cannot unmarshal !!str `1:30` into int"
    ]


def test_string_field_keeps_the_literal_text_of_any_scalar() -> None:
    config = parse("log_level: 1\ndata_dir: 0x10\nmetrics:\n  listen_addr: true\n")
    assert config.log_level == "1"
    assert config.data_dir == "0x10"
    assert config.metrics.listen_addr == "true"


def test_integer_forms_and_float_truncation() -> None:
    config = parse(
        "admission:\n  queue_cap: 1.9\n  tenure_cap_days: 0x1F\n  rolling_window_days: 0o17\n"
        "  snapshots_retained: -2.7\n  queue_timeout_s: +45\n"
    )
    assert config.admission.queue_cap == 1
    assert config.admission.tenure_cap_days == 31
    assert config.admission.rolling_window_days == 15
    assert config.admission.snapshots_retained == -2
    assert config.admission.queue_timeout_s == 45


def test_float_fields_accept_ints_and_special_values() -> None:
    config = parse(
        "broker:\n  headroom_threshold: 1\n  broker_request_rate_per_sec: .inf\nadmission:\n"
        "  trial_tier_score: .nan\n  aging_alpha_per_minute: 1e-3\n"
    )
    assert config.broker.headroom_threshold == 1.0
    assert isinstance(config.broker.headroom_threshold, float)
    assert config.broker.broker_request_rate_per_sec == math.inf
    assert math.isnan(config.admission.trial_tier_score)
    assert config.admission.aging_alpha_per_minute == 0.001


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('admission:\n  queue_cap: "60"\n', "line 2: cannot unmarshal !!str `60` into int"),
        ("admission:\n  queue_cap: abc\n", "line 2: cannot unmarshal !!str `abc` into int"),
        ("admission:\n  queue_cap: true\n", "line 2: cannot unmarshal !!bool `true` into int"),
        ("admission:\n  queue_timeout_s: 5s\n", "line 2: cannot unmarshal !!str `5s` into int"),
        (
            "admission:\n  queue_cap: 99999999999999999999\n",
            "line 2: cannot unmarshal !!int `9999999...` into int",
        ),
        ("admission:\n  queue_cap: .inf\n", "line 2: cannot unmarshal !!float `.inf` into int"),
        ("broker:\n  headroom_threshold: high\n", "line 2: cannot unmarshal !!str `high` into float64"),
        ("log_level: [a, b]\n", "line 1: cannot unmarshal !!seq into string"),
        ("log_level: {a: b}\n", "line 1: cannot unmarshal !!map into string"),
        ("server: 5\n", "line 1: cannot unmarshal !!int `5` into config.ServerConfig"),
        ("server: [1]\n", "line 1: cannot unmarshal !!seq into config.ServerConfig"),
        (
            "admission:\n  attestation_peer_blocklist: peer\n",
            "line 2: cannot unmarshal !!str `peer` into []string",
        ),
        (
            "federation:\n  peers: {a: 1}\n",
            "line 2: cannot unmarshal !!map into []config.FederationPeer",
        ),
        (
            "pricing:\n  models:\n    m:\n      in_credits_per_token: -1\n      out_credits_per_token: 1\n",
            "line 4: cannot unmarshal !!int `-1` into uint64",
        ),
        (
            "pricing:\n  models: [1]\n",
            "line 2: cannot unmarshal !!seq into map[string]config.ModelPriceConfig",
        ),
        ("hello\n", "line 1: cannot unmarshal !!str `hello` into config.Config"),
    ],
)
def test_type_mismatches(text: str, problem: str) -> None:
    assert _problems(text) == [problem]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("bogus: 1\n", "line 1: field bogus not found in type config.Config"),
        ("Data_Dir: /x\n", "line 1: field Data_Dir not found in type config.Config"),
        ("server:\n  listen: x\n", "line 2: field listen not found in type config.ServerConfig"),
        (
            "broker:\n  score_weights:\n    latency: 0.1\n",
            "line 3: field latency not found in type config.BrokerScoreWeights",
        ),
        (
            "federation:\n  peers:\n    - tracker_id: x\n      port: 1\n",
            "line 4: field port not found in type config.FederationPeer",
        ),
        (
            "federation:\n  bootstrap:\n    ttl: 1\n",
            "line 3: field ttl not found in type config.BootstrapConfig",
        ),
        (
            "federation:\n  health:\n    weight: 1\n",
            "line 3: field weight not found in type config.PeerHealthConfig",
        ),
        (
            "reputation:\n  signal_windows:\n    tiny_s: 1\n",
            "line 3: field tiny_s not found in type config.SignalWindows",
        ),
        (
            "admission:\n  score_weights:\n    luck: 1\n",
            "line 3: field luck not found in type config.AdmissionScoreWeights",
        ),
        (
            "pricing:\n  models:\n    m:\n      in: 1\n",
            "line 4: field in not found in type config.ModelPriceConfig",
        ),
        ("pricing:\n  currency: eur\n", "line 2: field currency not found in type config.PricingConfig"),
    ],
)
def test_unknown_keys_at_every_level(text: str, problem: str) -> None:
    assert _problems(text) == [problem]


def test_duplicate_keys_are_rejected_with_both_lines() -> None:
    assert _problems("log_level: info\ndata_dir: /a\nlog_level: debug\n") == [
        'line 3: mapping key "log_level" already defined at line 1'
    ]
    assert _problems("admission:\n  queue_cap: 1\n  queue_cap: 2\n") == [
        'line 3: mapping key "queue_cap" already defined at line 2'
    ]
    assert _problems("pricing:\n  models:\n    m: {}\n    m: {}\n") == [
        'line 4: mapping key "m" already defined at line 3'
    ]


def test_every_problem_is_collected_in_document_order() -> None:
    text = "bogus: 1\nadmission:\n  queue_cap: x\n  nope: 2\nserver:\n  max_frame_size: [1]\n"
    with pytest.raises(ParseError) as raised:
        parse(text, "t.yaml")
    assert raised.value.problems == [
        "line 1: field bogus not found in type config.Config",
        "line 3: cannot unmarshal !!str `x` into int",
        "line 4: field nope not found in type config.AdmissionConfig",
        "line 6: cannot unmarshal !!seq into int",
    ]
    assert str(raised.value) == (
        "config: parse error in t.yaml: yaml: unmarshal errors:\n"
        "  line 1: field bogus not found in type config.Config\n"
        "  line 3: cannot unmarshal !!str `x` into int\n"
        "  line 4: field nope not found in type config.AdmissionConfig\n"
        "  line 6: cannot unmarshal !!seq into int"
    )


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_document_is_eof(text: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse(text, "empty.yaml")
    assert str(raised.value) == "config: parse error in empty.yaml: EOF"
    with pytest.raises(ParseError) as raised:
        parse(text)
    assert str(raised.value) == "config: parse error: EOF"


def test_syntax_error_names_the_line() -> None:
    with pytest.raises(ParseError) as raised:
        parse("data_dir: /x\nserver:\n  listen_addr: [unclosed\n", "bad.yaml")
    assert str(raised.value).startswith("config: parse error in bad.yaml: yaml: line ")


def test_only_the_first_document_is_read() -> None:
    config = parse("log_level: debug\n---\nbogus: 1\n")
    assert config.log_level == "debug"


def test_null_values_are_zero_values() -> None:
    config = parse("log_level: ~\nadmission:\n  queue_cap: null\n  attestation_peer_blocklist:\nserver:\n")
    assert config.log_level == ""
    assert config.admission.queue_cap == 0
    assert config.admission.attestation_peer_blocklist is None
    assert config.server.max_frame_size == 0


def test_empty_list_stays_empty_and_absent_list_stays_none() -> None:
    config = parse("admission:\n  attestation_peer_blocklist: []\n")
    assert config.admission.attestation_peer_blocklist == []
    assert config.federation.peers is None


def test_pricing_models_in_document_order() -> None:
    config = parse(
        "pricing:\n  models:\n    b: {in_credits_per_token: 2, out_credits_per_token: 3}\n"
        "    a: {in_credits_per_token: 18446744073709551615, out_credits_per_token: 1}\n"
    )
    assert list(config.pricing.models) == ["b", "a"]
    assert config.pricing.models["a"].in_credits_per_token == 2**64 - 1


def test_anchors_and_aliases_work() -> None:
    config = parse("admin:\n  listen_addr: &a 127.0.0.1:1\nmetrics:\n  listen_addr: *a\n")
    assert config.metrics.listen_addr == "127.0.0.1:1"


def test_parse_accepts_streams_and_bytes() -> None:
    assert parse(io.StringIO("log_level: warn\n")).log_level == "warn"
    assert parse(io.BytesIO(b"log_level: warn\n")).log_level == "warn"
    assert parse(b"log_level: error\n").log_level == "error"


def test_invalid_utf8_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse(b"log_level: \xff\xfe\xfa\n")


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    with pytest.raises(ParseError) as raised:
        parse("a: 1\nb: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert (
        str(raised.value) == "config: parse error: yaml: line 2: collections nested more than 100 levels deep"
    )
    with pytest.raises(ParseError) as raised:
        parse("- " * 5000 + "x\n")
    assert str(raised.value) == "config: parse error: yaml: document is nested too deeply"


def test_utf16_and_bom_inputs_are_decoded() -> None:
    assert parse("log_level: warn\n".encode("utf-16")).log_level == "warn"
    assert parse(b"\xef\xbb\xbflog_level: debug\n").log_level == "debug"


def test_load_reports_parse_error_with_the_path_as_given(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(REQUIRED_YAML.format(data_dir=tmp_path) + "extra: 1\n")
    with pytest.raises(ParseError) as raised:
        load(str(path))
    assert raised.value.path == str(path)
    assert "line 9: field extra not found in type config.Config" in str(raised.value)
