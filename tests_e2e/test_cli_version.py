"""e2e: `trio-tracker version` prints the package version from its metadata."""

from __future__ import annotations

from importlib.metadata import version

from tests_e2e.conftest import run_cli


def test_version_prints_name_and_package_version() -> None:
    result = run_cli("version")
    assert result.returncode == 0
    assert result.stdout == f"trio-tracker {version('trio-tracker')}\n"
    assert result.stderr == ""


def test_version_flag_matches_the_version_command() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"trio-tracker {version('trio-tracker')}\n"
