"""Config is a leaf: it parses and validates, and imports no other tracker subsystem (certificate generation
lives in tracker.identity). The only tracker modules it may use are the package's private top-level helpers
(`tracker._regular_file`, …), which themselves import nothing from the tracker."""

from __future__ import annotations

import ast
from pathlib import Path

import tracker
import tracker.config

CONFIG = Path(tracker.config.__file__).parent
PACKAGE = Path(tracker.__file__).parent


def _tracker_imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return [name for name in names if name == "tracker" or name.startswith("tracker.")]


def _is_leaf_helper(name: str) -> bool:
    parts = name.split(".")
    if len(parts) != 2 or not parts[1].startswith("_"):
        return False
    path = PACKAGE / f"{parts[1]}.py"
    return path.is_file() and _tracker_imports(path) == []


def test_config_imports_no_other_tracker_package() -> None:
    found = [
        f"{path.name}: {name}"
        for path in sorted(CONFIG.glob("*.py"))
        for name in _tracker_imports(path)
        if not name.startswith("tracker.config") and not _is_leaf_helper(name)
    ]
    assert found == []
