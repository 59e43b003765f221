"""Files named by the operator that are not regular files (FIFO, a symlink to /dev/zero, a directory) end the
command at once with exit 1 and one line naming the path; hostile config contents end in exit 2 or 3. Every
subprocess has a timeout: a hang fails the test instead of blocking the suite."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import make_data_dir, tracker_env

_GUARD_S = 20


def _special_file(tmp_path: Path, kind: str) -> Path:
    path = tmp_path / f"special-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    return path


_KINDS = ("fifo", "dev-zero", "directory")
_REASONS = {
    "fifo": "not a regular file: it is a named pipe (FIFO)",
    "dev-zero": "not a regular file: it is a character device",
    "directory": "is a directory",
}


@pytest.mark.parametrize("kind", _KINDS)
def test_config_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    special = _special_file(tmp_path, kind)
    for command in (("config", "validate"), ("run",), ("ledger", "verify")):
        result = run_cli(*command, "--config", str(special), timeout=_GUARD_S, env=tracker_env())
        assert result.returncode == 1, (command, result.stderr)
        assert result.stderr == f"open {special}: {_REASONS[kind]}\n", command


@pytest.mark.parametrize("kind", _KINDS)
def test_identity_key_that_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    config_path = make_data_dir(tmp_path / "data")
    special = _special_file(tmp_path, kind)
    text = config_path.read_text()
    config_path.write_text(re.sub(r"(?m)^(  identity_key_path:).*$", rf'\1 "{special}"', text))
    result = run_cli("run", "--config", str(config_path), timeout=_GUARD_S, env=tracker_env())
    assert result.returncode == 1, result.stderr
    wording = "is a directory, not a key file" if kind == "directory" else f"is {_REASONS[kind]}"
    assert result.stderr == f"error: read identity key: identity key path {special} {wording}\n"
    assert not (tmp_path / "data" / "ledger.sqlite").exists()
    result = run_cli("ledger", "verify", "--config", str(config_path), timeout=_GUARD_S)
    assert result.returncode == 1, result.stderr
    assert str(special) in result.stderr


@pytest.mark.parametrize("kind", _KINDS)
@pytest.mark.parametrize("option", ["--snapshot", "--tlog"])
def test_admission_inspect_input_that_is_not_a_regular_file(tmp_path: Path, kind: str, option: str) -> None:
    special = _special_file(tmp_path, kind)
    result = run_cli("admission", "inspect", option, str(special), timeout=_GUARD_S)
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: {special}: {_REASONS[kind]}\n"


@pytest.mark.parametrize(
    "name", ["admission.tlog", "admission.tlog.7", "admission.snapshot.00000000000000000003"]
)
def test_admission_inspect_of_a_configured_file_that_is_a_fifo(tmp_path: Path, name: str) -> None:
    config_path = make_data_dir(tmp_path / "data")
    os.mkfifo(tmp_path / "data" / name)
    result = run_cli("admission", "inspect", "--config", str(config_path), timeout=_GUARD_S)
    assert result.returncode == 1, result.stderr
    assert (
        result.stderr == f"error: {tmp_path / 'data' / name}: not a regular file: it is a named pipe (FIFO)\n"
    )


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("headroom_threshold", "9" * 400, 2),
        ("headroom_threshold", "-" + "9" * 400, 2),
        ("headroom_threshold", "9" * 400 + ".5", 3),
        ("headroom_threshold", "1e400", 3),
        ("load_threshold", "9" * 400, 2),
        ("load_threshold", "9" * 400 + ".0", 2),
    ],
)
def test_400_digit_numbers_are_config_errors_not_tracebacks(
    tmp_path: Path, field: str, value: str, code: int
) -> None:
    config_path = make_data_dir(tmp_path / "data")
    text, count = re.subn(rf"(?m)^(  {field}:).*$", rf"\g<1> {value}", config_path.read_text(), count=1)
    assert count == 1
    config_path.write_text(text)
    for command in (("config", "validate"), ("run",)):
        result = run_cli(*command, "--config", str(config_path), timeout=_GUARD_S, env=tracker_env())
        assert result.returncode == code, result.stderr
        assert "Traceback" not in result.stderr
        assert f"broker.{field}" in result.stderr or "cannot unmarshal" in result.stderr


def test_a_1_mib_flow_mapping_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    body = ", ".join(f"k{i}: 1" for i in range(110_000))[: (1 << 20) - 16].rsplit(",", 1)[0]
    path.write_text("{" + body + "}\n")
    result = run_cli("config", "validate", "--config", str(path), timeout=_GUARD_S)
    assert result.returncode == 2, result.stderr
    assert re.fullmatch(
        rf"parse error: config: parse error in {re.escape(str(path))}: yaml: line 1: document has more than "
        r"\d+ nodes\n",
        result.stderr,
    )
