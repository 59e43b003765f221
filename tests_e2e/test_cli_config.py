"""e2e: `trio-tracker config validate|show|defaults` through the installed command — the exit-code matrix
0/1/2/3, exact stdout/stderr, and a few property-style inputs run as real subprocesses."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests_e2e.conftest import run_cli

REQUIRED = """\
data_dir: {data_dir}
server:
  listen_addr: "0.0.0.0:7777"
  identity_key_path: {data_dir}/identity.key
  tls_cert_path: {data_dir}/cert.pem
  tls_key_path: {data_dir}/cert.key
ledger:
  storage_path: {data_dir}/ledger.sqlite
"""


def _write(tmp_path: Path, text: str, name: str = "tracker.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_validate_happy_path(tmp_path: Path) -> None:
    path = _write(tmp_path, REQUIRED.format(data_dir=tmp_path))
    result = run_cli("config", "validate", "--config", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"OK: {path} (2 sections, 6 fields)\n"
    assert result.stderr == ""


def test_validate_echoes_the_path_as_given(tmp_path: Path) -> None:
    _write(tmp_path, REQUIRED.format(data_dir=tmp_path))
    result = run_cli("config", "validate", "--config=tracker.yaml", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.startswith("OK: tracker.yaml (")


def test_exit_1_missing_flag() -> None:
    result = run_cli("config", "validate")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "error: --config is required\n")


def test_exit_1_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nonexistent" / "path.yaml"
    result = run_cli("config", "validate", "--config", str(missing))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"open {missing}: no such file or directory\n"


def test_exit_1_directory(tmp_path: Path) -> None:
    result = run_cli("config", "validate", "--config", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == f"open {tmp_path}: is a directory\n"


def test_exit_2_unknown_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path, REQUIRED.format(data_dir=tmp_path) + "broker:\n  score_weight:\n    reputation: 0.4\n"
    )
    result = run_cli("config", "validate", "--config", str(path))
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"parse error: config: parse error in {path}: yaml: unmarshal errors:\n"
        "  line 10: field score_weight not found in type config.BrokerConfig\n"
    )


def test_exit_2_empty_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "")
    result = run_cli("config", "validate", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr == f"parse error: config: parse error in {path}: EOF\n"


def test_exit_2_duplicate_key_and_yaml11_traps(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        REQUIRED.format(data_dir=tmp_path) + "admission:\n  queue_cap: yes\n  queue_timeout_s: 1:30\n"
        "log_level: info\nlog_level: debug\n",
    )
    result = run_cli("config", "validate", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.endswith('  line 13: mapping key "log_level" already defined at line 12\n')
    path.write_text(
        REQUIRED.format(data_dir=tmp_path) + "admission:\n  queue_cap: yes\n  queue_timeout_s: 1:30\n"
    )
    result = run_cli("config", "validate", "--config", str(path))
    assert result.returncode == 2
    assert result.stderr.endswith(
        "  line 10: cannot unmarshal !!str `yes` into int\n"
        "  line 11: cannot unmarshal !!str `1:30` into int\n"
    )


def test_exit_3_weight_sum(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        REQUIRED.format(data_dir=tmp_path)
        + "admission:\n  score_weights:\n    settlement_reliability: 0.30\n"
        "    inverse_dispute_rate: 0.10\n    tenure: 0.20\n    net_credit_flow: 0.30\n"
        "    balance_cushion: 0.20\n",
    )
    result = run_cli("config", "validate", "--config", str(path))
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        "validation failed:\n  - admission.score_weights: weights must sum to 1.0 ± 0.001 (got 1.1)\n"
    )


def test_exit_3_three_errors_printed_in_rule_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        REQUIRED.format(data_dir=tmp_path)
        + 'broker:\n  load_threshold: -1\nadmin:\n  listen_addr: "0.0.0.0:7777"\nlog_level: bogus\n',
    )
    result = run_cli("config", "validate", "--config", str(path))
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr == (
        "validation failed:\n"
        "  - log_level: must be one of: debug, info, warn, error\n"
        "  - admin.listen_addr: collides with server.listen_addr (both 0.0.0.0:7777)\n"
        "  - broker.load_threshold: must be >= 1\n"
    )


def test_show_output_validates(tmp_path: Path) -> None:
    path = _write(tmp_path, REQUIRED.format(data_dir=tmp_path) + "log_level: debug\n")
    shown = run_cli("config", "show", "--config", str(path))
    assert shown.returncode == 0, shown.stderr
    assert 'log_level: "debug"' in shown.stdout
    shown_path = _write(tmp_path, shown.stdout, "shown.yaml")
    result = run_cli("config", "validate", "--config", str(shown_path))
    assert result.returncode == 0, result.stderr


def test_defaults_template_validates_once_filled(tmp_path: Path) -> None:
    result = run_cli("config", "defaults")
    assert result.returncode == 0
    text = result.stdout.replace('data_dir: ""', f'data_dir: "{tmp_path}"')
    text = text.replace('listen_addr: ""  # REQUIRED', 'listen_addr: "127.0.0.1:7777"  # REQUIRED')
    for key in ("identity_key_path", "tls_cert_path", "tls_key_path"):
        text = text.replace(f'{key}: ""', f'{key}: "{tmp_path}/{key}"')
    text = text.replace(
        'storage_path: ""  # REQUIRED', f'storage_path: "{tmp_path}/ledger.sqlite"  # REQUIRED'
    )
    path = _write(tmp_path, text)
    validated = run_cli("config", "validate", "--config", str(path))
    assert validated.returncode == 0, validated.stderr


@pytest.mark.parametrize(
    ("content", "expected_code"),
    [
        (b"\xff\xfe\x00garbage", 2),
        (b"[[[[[[[[[[", 2),
        (b"a: " + b"[" * 1500, 2),
        (b"- - - -\n", 2),
        (b"&a [*a]\n", 2),
        (b"!!python/object:os.system 'echo pwned'\n", 2),
        (b"data_dir: /tmp\n---\n: :\n", 3),
    ],
)
def test_hostile_inputs_exit_cleanly(tmp_path: Path, content: bytes, expected_code: int) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    result = run_cli("config", "validate", "--config", str(path))
    assert result.returncode == expected_code
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") >= 1


@pytest.mark.parametrize("argv", [["config", "validate", "--help"], ["config", "show", "--help"], ["--help"]])
def test_help_mentions_exit_codes(argv: list[str]) -> None:
    result = run_cli(*argv)
    assert result.returncode == 0
    assert "exit codes:" in result.stdout
