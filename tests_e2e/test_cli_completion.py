"""`trio-tracker completion bash|zsh`: the bash script, sourced in a real bash, completes commands,
subcommands, options and option values from the argparse tree; the zsh script wraps it (bashcompinit)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests_e2e.conftest import run_cli

_COMPLETE = """
source "$1"
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMPREPLY=()
_trio_tracker
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> str:
    result = run_cli("completion", "bash")
    assert result.returncode == 0, result.stderr
    path = tmp_path_factory.mktemp("completion") / "trio-tracker.bash"
    path.write_text(result.stdout)
    return str(path)


def _complete(script: str, *words: str) -> list[str]:
    bash = shutil.which("bash")
    assert bash is not None, "bash is needed to test bash completion"
    result = subprocess.run(
        [bash, "--norc", "--noprofile", "-c", _COMPLETE, "complete-test", script, "trio-tracker", *words],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_completes_commands_and_subcommands(bash_script: str) -> None:
    assert _complete(bash_script, "ba") == ["backup"]
    assert set(_complete(bash_script, "")) >= {"run", "ledger", "backup", "completion", "config", "version"}
    assert _complete(bash_script, "ledger", "v") == ["verify"]
    assert _complete(bash_script, "config", "") == ["validate", "show", "defaults"]


def test_completes_options_and_their_values(bash_script: str) -> None:
    assert _complete(bash_script, "backup", "--t") == ["--to"]
    assert _complete(bash_script, "run", "--log-format", "") == ["json", "text", "journald"]
    assert _complete(bash_script, "completion", "") == ["bash", "zsh"]
    assert "--config" in _complete(bash_script, "ledger", "verify", "--")


def test_zsh_script_wraps_the_bash_one(bash_script: str) -> None:
    result = run_cli("completion", "zsh")
    assert result.returncode == 0
    assert result.stdout.startswith("#compdef trio-tracker\n")
    assert "bashcompinit" in result.stdout and "complete -F _trio_tracker trio-tracker" in result.stdout


def test_unknown_shell_is_exit_1() -> None:
    result = run_cli("completion", "fish")
    assert result.returncode == 1 and "invalid choice" in result.stderr
