"""What `run` checks before it opens any state file, each failure one StartupError line naming the fix:

1. the state directories are locked for this process (`_state_lock`: a second tracker exits 1 naming the
   holder's pid);
2. the ledger file, if present, is a regular file with our schema whose tip entry recomputes and is signed
   by this tracker's identity (`tracker.ledger.check_ledger_is_ours`; a foreign file is left byte-identical);
3. a missing (or empty) ledger while admission files exist is refused unless the operator passed
   `--allow-new-ledger`: it means the ledger was lost or its path changed, and starting a new chain would
   silently cut admission loose from it.

Not checked here: that admission state is not ahead of the ledger (that needs admission's replay).
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tracker._regular_file import NotRegularFileError, check_regular_file
from tracker.app._errors import StartupError
from tracker.app._state_lock import StateDirectoryLocked, hold_state_lock
from tracker.identity import TrackerIdentity
from tracker.ledger import LedgerNotOursError, LedgerStorageError, check_ledger_is_ours

_NUMBERED_SUFFIX = re.compile(r"\.[0-9]+")


def _admission_files(tlog_path: str, snapshot_prefix: str) -> list[str]:
    """The admission tlog (if not empty) and every `<base>.<n>` rotated tlog or snapshot file."""
    found: list[str] = []
    if tlog_path and os.path.isfile(tlog_path) and os.path.getsize(tlog_path) > 0:
        found.append(tlog_path)
    for base in (tlog_path, snapshot_prefix):
        if not base:
            continue
        head = Path(base).name
        with contextlib.suppress(OSError):
            for entry in os.scandir(Path(base).parent):
                if entry.name.startswith(head) and _NUMBERED_SUFFIX.fullmatch(entry.name[len(head) :]):
                    found.append(entry.path)
    return sorted(set(found))


def check_ledger_file(config: Any, identity: TrackerIdentity, *, allow_new_ledger: bool) -> None:
    """Steps 2 and 3 above; raises StartupError."""
    path = config.ledger.storage_path
    exists = os.path.lexists(path)
    if exists:
        try:
            check_regular_file(path)
        except (NotRegularFileError, IsADirectoryError) as error:
            raise StartupError(f"ledger: {path}: {error.strerror}") from None
        except OSError as error:
            raise StartupError(f"ledger: {path}: {error.strerror or error}") from None
    if not exists or os.path.getsize(path) == 0:
        admission_files = (
            []
            if allow_new_ledger
            else _admission_files(config.admission.tlog_path, config.admission.snapshot_path_prefix)
        )
        if admission_files:
            state = "is missing" if not exists else "is empty"
            raise StartupError(
                f"ledger: {path} {state} but admission state exists ({admission_files[0]}, "
                f"{len(admission_files)} file(s)); restore the ledger from a backup, or pass "
                "--allow-new-ledger to start a new, empty ledger"
            )
        return
    try:
        check_ledger_is_ours(path, identity.public_key, config.server.identity_key_path)
    except LedgerNotOursError as error:
        raise StartupError(f"ledger: {error}") from None
    except (LedgerStorageError, OSError) as error:
        raise StartupError(f"ledger: {path}: {error}") from None


@contextlib.contextmanager
def guard_state_files(config: Any, identity: TrackerIdentity, *, allow_new_ledger: bool) -> Iterator[None]:
    """Hold the state-directory lock for the block, after checking the ledger file (steps 1–3 above)."""
    paths = (config.ledger.storage_path, config.admission.tlog_path, config.admission.snapshot_path_prefix)
    try:
        lock = hold_state_lock(paths)
        lock.__enter__()
    except StateDirectoryLocked as error:
        raise StartupError(str(error)) from None
    except OSError as error:
        raise StartupError(f"lock {error.filename}: {error.strerror or error}") from None
    try:
        check_ledger_file(config, identity, allow_new_ledger=allow_new_ledger)
        yield
    finally:
        lock.__exit__(None, None, None)
