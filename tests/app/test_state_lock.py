"""The state-directory lock: exclusive per directory, names the holder's pid, released with the block (the
file itself stays and never blocks a later start)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracker.app._state_lock import LOCK_FILE_NAME, StateDirectoryLocked, hold_state_lock, state_directories


def test_directories_are_resolved_and_deduplicated(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "a")
    paths = [str(tmp_path / "a" / "ledger.sqlite"), str(tmp_path / "link" / "tlog"), "", str(tmp_path / "x")]
    assert state_directories(paths) == [tmp_path, tmp_path / "a"]


def test_a_second_holder_is_refused_with_the_pid(tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger.sqlite")
    with hold_state_lock([ledger]) as locks:
        assert locks == [tmp_path / LOCK_FILE_NAME]
        assert (tmp_path / LOCK_FILE_NAME).read_text() == f"{os.getpid()}\n"
        with pytest.raises(StateDirectoryLocked) as raised, hold_state_lock([str(tmp_path / "tlog")]):
            pass
        lock = tmp_path / LOCK_FILE_NAME
        assert str(raised.value) == (
            f"{tmp_path} is in use by another trio-tracker (pid {os.getpid()}, lock {lock}); "
            "stop it first, or give this tracker its own data directory"
        )
    with hold_state_lock([ledger]):  # released; the leftover file does not block
        pass


def test_a_missing_directory_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError), hold_state_lock([str(tmp_path / "nope" / "ledger.sqlite")]):
        pass
