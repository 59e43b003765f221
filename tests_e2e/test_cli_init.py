"""e2e: `trio-tracker init` then `config validate` on what it wrote; refusal to overwrite."""

from __future__ import annotations

import stat
from pathlib import Path

from tests_e2e.conftest import run_cli


def test_init_then_validate(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_cli("init", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    config_path = data_dir / "tracker.yaml"
    assert result.stdout.splitlines()[-1].strip() == f"trio-tracker run --config {config_path}"
    key = data_dir / "identity.key"
    assert len(key.read_bytes()) == 64
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    validated = run_cli("config", "validate", "--config", str(config_path))
    assert validated.returncode == 0, validated.stderr
    assert validated.stdout.startswith(f"OK: {config_path} (")


def test_init_refuses_existing_then_force_works(tmp_path: Path) -> None:
    assert run_cli("init", "--data-dir", str(tmp_path)).returncode == 0
    key_before = (tmp_path / "identity.key").read_bytes()
    again = run_cli("init", "--data-dir", str(tmp_path))
    assert again.returncode == 1
    assert again.stderr.startswith("error: ") and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    assert (tmp_path / "identity.key").read_bytes() == key_before
    forced = run_cli("init", "--data-dir", str(tmp_path), "--force")
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "identity.key").read_bytes() != key_before
    assert run_cli("config", "validate", "--config", str(tmp_path / "tracker.yaml")).returncode == 0
