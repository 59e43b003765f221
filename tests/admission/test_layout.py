"""The import rules of the admission package (tracker/admission/__init__.py, DESIGN.md), checked on the
source: core/ is pure, persistence/ has no Trio, numpy stays in persistence/bulk, and nothing outside
admission reaches past its face."""

from __future__ import annotations

import ast
from pathlib import Path

import tracker
import tracker.admission

TRACKER = Path(tracker.__file__).parent
ADMISSION = TRACKER / "admission"


def _imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names; `from . import x` does not occur in this code base)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import"
            module = node.module or ""
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def _violations(directory: Path, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted(directory.rglob("*.py")):
        for name in sorted(_imports(path)):
            if any(name == banned or name.startswith(banned + ".") for banned in forbidden):
                found.append(f"{path.relative_to(TRACKER)} imports {name}")
    return found


def test_core_imports_no_trio_numpy_or_persistence() -> None:
    assert (
        _violations(ADMISSION / "core", ("trio", "trio_util", "numpy", "tracker.admission.persistence")) == []
    )


def test_persistence_imports_no_trio_and_numpy_only_in_bulk() -> None:
    assert _violations(ADMISSION / "persistence", ("trio", "trio_util", "tracker.admission._service")) == []
    outside_bulk = [
        line
        for line in _violations(ADMISSION / "persistence", ("numpy",))
        if not line.startswith("admission/persistence/bulk/")
    ]
    assert outside_bulk == []


def test_nothing_outside_admission_imports_a_private_admission_module() -> None:
    found = []
    for path in sorted(TRACKER.rglob("*.py")):
        if ADMISSION in path.parents:
            continue
        for name in sorted(_imports(path)):
            if name.startswith("tracker.admission.") and name.split(".")[2] not in tracker.admission.__all__:
                found.append(f"{path.relative_to(TRACKER)} imports {name}")
    assert found == []


def test_the_face_names_only_what_it_imports() -> None:

    assert sorted(tracker.admission.__all__) == sorted(set(tracker.admission.__all__))
    for name in tracker.admission.__all__:
        assert hasattr(tracker.admission, name), name
