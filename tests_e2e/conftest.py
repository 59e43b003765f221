"""Fixtures for subprocess tests of the installed `trio-tracker` command."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def _trio_tracker_command() -> list[str]:
    beside_python = Path(sys.executable).parent / "trio-tracker"
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("trio-tracker")
    if found is None:
        raise RuntimeError("the trio-tracker command is not installed (pip install -e '.[test]')")
    return [found]


TRIO_TRACKER = _trio_tracker_command()


def run_cli(*args: str, timeout: float = 60, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run the installed trio-tracker with `args`; returns the finished process (text mode)."""
    env = dict(os.environ)
    env.update(kwargs.pop("env", {}) or {})  # type: ignore[arg-type]
    return subprocess.run(
        [*TRIO_TRACKER, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def cli():
    return run_cli
