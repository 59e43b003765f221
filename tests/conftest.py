"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"
"""Wire vectors produced by the Go tracker, committed with the tests (see tests/golden/README.md)."""
