"""The rule that the tracker's state files never share a file: two of ledger, admission tlog, snapshot prefix,
identity key and reputation store naming one file would let one writer destroy the other's bytes (a tlog
"repair" once truncated the ledger it was pointed at).

Each field owns a family of files: the SQLite stores their `-wal`, `-shm` and `-journal` companions, the tlog
its rotated `<path>.<n>` files, the snapshot prefix every `<prefix>.<n>` (and `.tmp`). Paths are compared
after resolving symlinks and relative paths (against the working directory, as the tracker opens them), and
two existing paths are also compared by device and inode (hard links). Not part of the Go rule set: these
checks run after the Go ones so the Go order of every other message is kept.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
_NUMBERED = re.compile(r"\.[0-9]+(?:\.tmp)?")


@dataclass(frozen=True)
class _StateFile:
    field: str
    path: str  # resolved
    family: str  # "file", "sqlite" or "numbered"

    def member(self, other_path: str, owner: str) -> str | None:
        """What `other_path` is among this field's files besides its own path, said of `owner` (e.g. `its
        SQLite -wal file`), or None."""
        if self.family == "sqlite":
            for suffix in _SQLITE_COMPANIONS:
                if other_path == self.path + suffix:
                    return f"{owner} SQLite {suffix} file"
        tail = other_path[len(self.path) :]
        if self.family == "numbered" and other_path.startswith(self.path) and _NUMBERED.fullmatch(tail):
            return f"one of {owner} numbered files"
        return None


def _resolve(path: str) -> str | None:
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):  # a NUL byte, a symlink loop on some platforms
        return None


def _same_inode(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


def _collision(earlier: _StateFile, current: _StateFile) -> str | None:
    """The parenthesised detail of a collision between two fields' files, or None."""
    if current.path == earlier.path:
        return f"both {current.path}"
    what = earlier.member(current.path, "its")
    if what is not None:
        return f"{current.path} is {what}"
    what = current.member(earlier.path, "this field's")
    if what is not None:
        return f"{earlier.path} is {what}"
    if _same_inode(current.path, earlier.path):
        return f"{current.path} and {earlier.path} are the same file"
    return None


def check_distinct_state_paths(fields: list[tuple[str, str, str]], add: Callable[[str, str], None]) -> None:
    """`fields` = (name, configured path, family); calls `add(field, message)` for every later field whose
    file is, or belongs to the files of, an earlier one (one message per field). Empty paths are skipped
    (other rules report them)."""
    seen: list[_StateFile] = []
    for name, configured, family in fields:
        if configured == "":
            continue
        resolved = _resolve(configured)
        if resolved is None:
            continue
        current = _StateFile(name, resolved, family)
        for earlier in seen:
            detail = _collision(earlier, current)
            if detail is not None:
                add(name, f"collides with {earlier.field} ({detail})")
                break
        seen.append(current)
