"""Config is a leaf: it parses and validates, and imports no other tracker subsystem (certificate generation
lives in tracker.identity)."""

from __future__ import annotations

import ast
from pathlib import Path

import tracker.config

CONFIG = Path(tracker.config.__file__).parent


def test_config_imports_no_other_tracker_package() -> None:
    found = []
    for path in sorted(CONFIG.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [
                f"{path.name}: {name}"
                for name in names
                if name.startswith("tracker.") and not name.startswith("tracker.config")
            ]
    assert found == []
