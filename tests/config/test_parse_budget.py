"""Hostile configs end in a ParseError or ValidationError, never another exception: huge numbers in every
numeric field, documents past the node budget, aliases that re-use one large collection many times."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest

from tracker.config import ConfigError, ParseError, ValidationError, load, parse, render_yaml
from tracker.config._yaml12 import MAX_NODES

from ._helpers import REQUIRED_YAML, valid_config, write

_HUGE_NUMBERS = (
    "9" * 400,
    "-" + "9" * 400,
    "9" * 400 + ".5",
    "0x" + "f" * 400,
    "0o" + "7" * 400,
    "9" * 5000,  # past Python's int-from-text digit limit
    "1e400",
    "-1e400",
    "1e308",
    "18446744073709551616",
)


def _numeric_field_lines(text: str) -> list[int]:
    return [index for index, line in enumerate(text.split("\n")) if re.match(r"^\s+\w+: [-0-9.]+$", line)]


@pytest.fixture
def full_config_text(tmp_path: Path) -> str:
    return render_yaml(valid_config(tmp_path))


def test_a_400_digit_integer_in_a_float_field_is_a_type_error_not_an_overflow() -> None:
    with pytest.raises(ParseError) as raised:
        parse("broker:\n  headroom_threshold: " + "9" * 400 + "\n")
    assert raised.value.problems == ["line 2: cannot unmarshal !!int `9999999...` into float64"]
    with pytest.raises(ParseError) as raised:
        parse("broker:\n  headroom_threshold: 0x" + "f" * 400 + "\n")
    assert raised.value.problems == ["line 2: cannot unmarshal !!int `0xfffff...` into float64"]


def test_a_400_digit_float_is_a_validation_error(tmp_path: Path) -> None:
    text = REQUIRED_YAML.format(data_dir=tmp_path) + "broker:\n  headroom_threshold: " + "9" * 400 + ".5\n"
    path = write(tmp_path, "c.yaml", text)
    with pytest.raises(ValidationError) as raised:
        load(path)
    assert [str(error) for error in raised.value.errors] == [
        "broker.headroom_threshold: must be in [0.0, 1.0]"
    ]


def test_every_numeric_field_survives_huge_numbers(full_config_text: str) -> None:
    lines = full_config_text.split("\n")
    targets = _numeric_field_lines(full_config_text)
    assert len(targets) > 60
    for index in targets:
        indent, name = re.match(r"^(\s+)(\w+):", lines[index]).groups()  # type: ignore[union-attr]
        for number in _HUGE_NUMBERS:
            changed = list(lines)
            changed[index] = f"{indent}{name}: {number}"
            with contextlib.suppress(ConfigError):  # anything else (OverflowError, …) fails the test
                parse("\n".join(changed))


@pytest.mark.parametrize(
    "text",
    [
        "{" + ", ".join(f"k{i}: 1" for i in range(MAX_NODES)) + "}\n",
        "[" + ", ".join("1" for _ in range(MAX_NODES + 1)) + "]\n",
        "".join(f"k{i}: {i}\n" for i in range(MAX_NODES // 2 + 1)),
        "admission:\n  attestation_peer_blocklist:\n" + "    - p\n" * MAX_NODES,
    ],
    ids=["flow-mapping", "flow-sequence", "block-mapping", "block-sequence"],
)
def test_a_document_past_the_node_budget_is_a_parse_error(text: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse(text)
    assert re.fullmatch(
        rf"config: parse error: yaml: line \d+: document has more than {MAX_NODES} nodes", str(raised.value)
    )


def test_a_document_within_the_node_budget_parses() -> None:
    peers = [f"p{i}" for i in range(MAX_NODES // 2)]
    config = parse("admission:\n  attestation_peer_blocklist: [" + ", ".join(peers) + "]\n")
    assert config.admission.attestation_peer_blocklist == peers


def test_aliases_that_multiply_the_walk_are_refused() -> None:
    keys = ", ".join(f"k{i}: 1" for i in range(5000))
    models = ", ".join(f"m{i}: *a" for i in range(5000))
    with pytest.raises(ParseError) as raised:
        parse(f"x: &a {{{keys}}}\npricing: {{models: {{{models}}}}}\n")
    assert str(raised.value) == "config: parse error: yaml: document contains excessive aliasing"


def test_a_few_aliases_still_work() -> None:
    config = parse(
        "pricing:\n  models:\n    a: &p {in_credits_per_token: 2, out_credits_per_token: 3}\n    b: *p\n"
    )
    assert config.pricing.models["b"].out_credits_per_token == 3
