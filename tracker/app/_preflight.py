"""What `run` checks before it opens any state file, each failure one StartupError line naming the fix:

1. the state directories are locked for this process (`_state_lock`: a second tracker exits 1 naming the
   holder's pid);
2. the ledger file, if present, is a regular file with our schema whose tip entry recomputes and is signed
   by this tracker's identity (`tracker.ledger.check_ledger_is_ours`; a foreign file is left byte-identical);
3. a missing (or empty) ledger while admission files exist is refused unless the operator passed
   `--allow-new-ledger`: it means the ledger was lost or its path changed, and starting a new chain would
   silently cut admission loose from it. With the flag the old admission files describe another chain: they
   are set aside untouched (`<name>.orphaned-<UTC time>`) and admission starts empty with the new ledger.

Not checked here: that admission state is not ahead of the ledger (admission's replay refuses that).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from tracker._regular_file import NotRegularFileError, check_regular_file
from tracker.admission import admission_state_files, set_aside_admission_state
from tracker.app._errors import StartupError
from tracker.app._state_lock import StateDirectoryLocked, hold_state_lock
from tracker.config import Config
from tracker.identity import TrackerIdentity
from tracker.ledger import LedgerNotOursError, LedgerStorageError, check_ledger_is_ours


def check_ledger_file(config: Config, identity: TrackerIdentity, *, allow_new_ledger: bool) -> list[Path]:
    """Steps 2 and 3 above; raises StartupError. Returns the admission files set aside (step 3 with the
    flag), usually none."""
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
        tlog_path, snapshot_prefix = config.admission.tlog_path, config.admission.snapshot_path_prefix
        try:
            admission_files = admission_state_files(tlog_path, snapshot_prefix)
            if admission_files and allow_new_ledger:
                return set_aside_admission_state(tlog_path, snapshot_prefix)
        except OSError as error:
            raise StartupError(f"admission: set aside old state: {error.strerror or error}") from None
        if admission_files:
            state = "is missing" if not exists else "is empty"
            raise StartupError(
                f"ledger: {path} {state} but admission state exists ({admission_files[0]}, "
                f"{len(admission_files)} file(s)); restore the ledger from a backup, or pass "
                "--allow-new-ledger to start a new, empty ledger (the old admission files are then set aside)"
            )
        return []
    try:
        check_ledger_is_ours(path, identity.public_key, config.server.identity_key_path)
    except LedgerNotOursError as error:
        raise StartupError(f"ledger: {error}") from None
    except (LedgerStorageError, OSError) as error:
        raise StartupError(f"ledger: {path}: {error}") from None
    return []


@contextlib.contextmanager
def guard_state_files(
    config: Config, identity: TrackerIdentity, *, allow_new_ledger: bool
) -> Iterator[list[Path]]:
    """Hold the state-directory lock for the block, after checking the ledger file (steps 1–3 above); the
    block receives the admission files set aside by `--allow-new-ledger` (usually none)."""
    paths = (config.ledger.storage_path, config.admission.tlog_path, config.admission.snapshot_path_prefix)
    try:
        lock = hold_state_lock(paths)
        lock.__enter__()
    except StateDirectoryLocked as error:
        raise StartupError(str(error)) from None
    except OSError as error:
        raise StartupError(f"lock {error.filename}: {error.strerror or error}") from None
    try:
        yield check_ledger_file(config, identity, allow_new_ledger=allow_new_ledger)
    finally:
        lock.__exit__(None, None, None)
