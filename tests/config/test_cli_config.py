"""`trio-tracker config validate|show|defaults` run in-process through `tracker.cli.main` (fast), including
the property test: arbitrary YAML-ish input never produces a traceback and exits 0, 1, 2 or 3."""

from __future__ import annotations

import contextlib
import errno
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.cli import main
from tracker.cli._config_loading import _os_error_text
from tracker.config import SECTION_NAMES, load, parse

from ._helpers import FIXTURES, REQUIRED_YAML


def run_main(*argv: str) -> tuple[int, str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            code = main(list(argv))
        except SystemExit as exit_request:  # argparse usage errors and --help
            code = int(exit_request.code or 0)
    return code, stdout.getvalue(), stderr.getvalue()


def test_validate_ok_line_counts_sections_and_fields(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    path.write_text(REQUIRED_YAML.format(data_dir=tmp_path) + "log_level: warn\nadmission:\n  queue_cap: 9\n")
    code, out, err = run_main("config", "validate", "--config", str(path))
    assert (code, err) == (0, "")
    # sections: server, ledger, admission; fields: data_dir, 4 server, storage_path, log_level, queue_cap
    assert out == f"OK: {path} (3 sections, 8 fields)\n"


def test_validate_counts_every_field_of_the_full_fixture(tmp_path: Path) -> None:
    text = (FIXTURES / "full.yaml").read_text().replace("/var/lib/token-bay", str(tmp_path))
    path = tmp_path / "full.yaml"
    path.write_text(text)
    code, out, _ = run_main("config", "validate", "--config", str(path))
    assert code == 0
    leaf_lines = [
        line
        for line in text.splitlines()
        if ":" in line and not line.strip().startswith("#") and not line.rstrip().endswith(":")
    ]
    assert out == f"OK: {path} ({len(SECTION_NAMES)} sections, {len(leaf_lines)} fields)\n"


def test_validate_missing_flag() -> None:
    assert run_main("config", "validate") == (1, "", "error: --config is required\n")
    assert run_main("config", "validate", "--config", "") == (1, "", "error: --config is required\n")


def test_validate_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    assert run_main("config", "validate", "--config", str(missing)) == (
        1,
        "",
        f"open {missing}: no such file or directory\n",
    )


def test_validate_directory(tmp_path: Path) -> None:
    assert run_main("config", "validate", "--config", str(tmp_path)) == (
        1,
        "",
        f"open {tmp_path}: is a directory\n",
    )


def test_permission_denied_text() -> None:
    error = PermissionError(errno.EACCES, "Permission denied")
    assert _os_error_text("/x/forbidden.yaml", error) == "open /x/forbidden.yaml: permission denied"


def test_validate_parse_error_exit_2() -> None:
    path = str(FIXTURES / "unknown_field.yaml")
    code, out, err = run_main("config", "validate", "--config", path)
    assert (code, out) == (2, "")
    assert err == (
        f"parse error: config: parse error in {path}: yaml: unmarshal errors:\n"
        "  line 10: field score_weight not found in type config.BrokerConfig\n"
    )


def test_validate_validation_error_exit_3() -> None:
    code, out, err = run_main(
        "config", "validate", "--config", str(FIXTURES / "invalid_score_weights_sum.yaml")
    )
    assert (code, out) == (3, "")
    assert (
        err == "validation failed:\n  - admission.score_weights: weights must sum to 1.0 ± 0.001 (got 1.1)\n"
    )


def test_missing_data_dir_cascades_in_order(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("\n".join(REQUIRED_YAML.format(data_dir=tmp_path).splitlines()[1:]) + "\n")
    code, _, err = run_main("config", "validate", "--config", str(path))
    assert code == 3
    assert err == (
        "validation failed:\n"
        "  - data_dir: must be non-empty\n"
        "  - reputation.storage_path: must be set (typically derived from data_dir)\n"
        "  - admission.tlog_path: must be non-empty\n"
        "  - admission.snapshot_path_prefix: must be non-empty\n"
    )


def test_show_prints_resolved_yaml_that_validates(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(REQUIRED_YAML.format(data_dir=tmp_path))
    code, out, err = run_main("config", "show", "--config", str(path))
    assert (code, err) == (0, "")
    assert "queue_cap: 512" in out
    shown = tmp_path / "shown.yaml"
    shown.write_text(out)
    assert load(shown) == load(path)
    assert run_main("config", "validate", "--config", str(shown))[0] == 0


def test_show_reports_like_validate() -> None:
    code, out, err = run_main("config", "show", "--config", str(FIXTURES / "invalid_log_level.yaml"))
    assert (code, out) == (3, "")
    assert err == "validation failed:\n  - log_level: must be one of: debug, info, warn, error\n"
    assert run_main("config", "show")[0] == 1


def test_defaults_prints_the_template() -> None:
    code, out, err = run_main("config", "defaults")
    assert (code, err) == (0, "")
    assert "REQUIRED" in out
    assert parse(out).admission.queue_cap == 512


@pytest.mark.parametrize(
    "argv",
    [
        ["config", "--help"],
        ["config", "validate", "--help"],
        ["config", "show", "--help"],
        ["config", "defaults", "--help"],
        ["init", "--help"],
    ],
)
def test_help_lists_options_and_exit_codes(argv: list[str]) -> None:
    code, out, _ = run_main(*argv)
    assert code == 0
    assert "exit codes:" in out
    assert "--help" in out


def test_unknown_flag_is_a_usage_error_exit_1() -> None:
    code, _, err = run_main("config", "validate", "--bogus")
    assert code == 1
    assert err.startswith("error: ")


_SCHEMA_KEYS = [
    "data_dir",
    "log_level",
    *SECTION_NAMES,
    "listen_addr",
    "queue_cap",
    "score_weights",
    "reputation",
    "tenure",
    "peers",
    "models",
    "tracker_id",
    "in_credits_per_token",
    "health",
    "uptime_weight",
    "attestation_peer_blocklist",
    "bogus",
    "<<",
    "",
]
_SCALARS = [
    "yes",
    "no",
    "on",
    "1:30",
    "0x1F",
    "0o17",
    "1.5",
    "-1",
    ".nan",
    ".inf",
    "~",
    "null",
    "true",
    "1e400",
    "99999999999999999999",
    '"60"',
    "'x'",
    "[1, 2]",
    "{a: b}",
    "[",
    "}",
    "&a x",
    "*a",
    "*b",
    "!!int x",
    "!!str 5",
    "|\n  text",
    ">",
    "- a",
    "",
    "/tmp",
    "0.0.0.0:7777",
    '"\\x00"',
    "--- ",
    "...",
    "%YAML 1.2",
]


@st.composite
def yaml_ish(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        indent = " " * draw(st.sampled_from([0, 0, 2, 2, 4, 1, 3]))
        key = draw(st.sampled_from(_SCHEMA_KEYS) | st.text(max_size=6))
        value = draw(st.sampled_from(_SCALARS) | st.text(max_size=10))
        dash = draw(st.sampled_from(["", "", "", "- "]))
        lines.append(f"{indent}{dash}{key}: {value}" if draw(st.booleans()) else f"{indent}{dash}{value}")
    return "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n---\n"]))


@pytest.fixture(scope="module")
def property_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for all examples (hypothesis re-runs the test body; function-scoped tmp_path
    would be shared across examples anyway)."""
    return tmp_path_factory.mktemp("config-property")


def _assert_clean_exit(directory: Path, content: bytes) -> None:
    path = directory / "input.yaml"
    path.write_bytes(content)
    code, out, err = run_main("config", "validate", "--config", str(path))
    assert code in (0, 1, 2, 3)
    assert "Traceback" not in err
    if code == 0:
        assert out.startswith(f"OK: {path} (")
    else:
        assert out == ""
        assert err.endswith("\n")
        assert err.startswith(("parse error: ", "validation failed:\n", "open "))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_ish())
def test_property_yaml_ish_text_never_crashes_validate(property_dir: Path, text: str) -> None:
    _assert_clean_exit(property_dir, text.encode("utf-8", errors="surrogatepass"))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=120) | st.text(max_size=120).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_property_arbitrary_bytes_never_crash_validate(property_dir: Path, content: bytes) -> None:
    _assert_clean_exit(property_dir, content)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(_SCALARS), st.sampled_from([s for s in SECTION_NAMES if s != "pricing"]))
def test_property_scalar_into_every_section(property_dir: Path, value: str, section: str) -> None:
    text = REQUIRED_YAML.format(data_dir=property_dir) + f"{section}:\n  listen_addr: {value}\n"
    _assert_clean_exit(property_dir, text.encode())
