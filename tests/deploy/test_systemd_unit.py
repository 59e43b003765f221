"""deploy/: `systemd-analyze verify` finds nothing to say about the tracker unit and the backup service and
timer, each service's offline security exposure is at most 2.0, and the directives the docs and the tracker
rely on are there (Type=notify, StateDirectory=, the admin-token credential, restarts that match the exit
codes, the ExecStart the install steps create)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "trio-tracker.service"
BACKUP_UNITS = (DEPLOY / "trio-tracker-backup.service", DEPLOY / "trio-tracker-backup.timer")
OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"
)


def _directives() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def _exec_start_binary() -> str:
    return _directives()["ExecStart"][0].split()[0]


def _copies_with_runnable_exec_start(tmp_path: Path) -> list[Path]:
    """`verify` checks that ExecStart's program exists: point it at one that does on this machine."""
    runnable = shutil.which("true") or "/bin/true"
    copies = []
    for unit in (UNIT, *BACKUP_UNITS):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(_exec_start_binary(), runnable))
        copies.append(copy)
    return copies


@needs_systemd_analyze
def test_systemd_analyze_verify_is_silent(tmp_path: Path) -> None:
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *map(str, _copies_with_runnable_exec_start(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", result.stdout + result.stderr


@needs_systemd_analyze
@pytest.mark.parametrize("unit", [UNIT, BACKUP_UNITS[0]], ids=lambda unit: unit.name)
def test_offline_security_exposure_is_at_most_2(unit: Path) -> None:
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    match = re.search(rf"Overall exposure level for {re.escape(unit.name)}: ([0-9.]+)", result.stdout)
    assert match is not None, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.0, result.stdout


def test_unit_has_what_the_tracker_and_the_docs_rely_on() -> None:
    directives = _directives()
    assert directives["Type"] == ["notify"]
    assert directives["StateDirectory"] == ["trio-tracker"]
    assert directives["User"] == ["trio-tracker"]
    assert directives["LoadCredential"][0].startswith("admin-token:")
    # 0 = an operator stopped it (no restart); 1 = crash or start-up failure (restart); 2/3 = config errors.
    assert directives["Restart"] == ["on-failure"]
    assert directives["RestartPreventExitStatus"] == ["2 3"]
    assert "/var/lib/trio-tracker/tracker.yaml" in directives["ExecStart"][0]
    assert not any(key in directives for key in ("Environment", "EnvironmentFile")), "no secrets in env"
    # The install steps create the venv ExecStart runs from.
    venv = _exec_start_binary().removesuffix("/bin/trio-tracker")
    assert f"python3 -m venv {venv}" in OPERATIONS.read_text()


def test_backup_service_writes_where_the_docs_say() -> None:
    service = BACKUP_UNITS[0].read_text()
    assert f"{_exec_start_binary()} backup --config /var/lib/trio-tracker/tracker.yaml" in service
    assert "ReadWritePaths=/var/backups/trio-tracker" in service
    assert (
        "install -d -o trio-tracker -g trio-tracker -m 0700 /var/backups/trio-tracker"
        in OPERATIONS.read_text()
    )
