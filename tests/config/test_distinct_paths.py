"""`config validate` refuses configs where two state files (ledger, tlog, snapshot prefix, identity key,
reputation store) are one file: same path, a symlink or relative path to it, a hard link, or one of the
other's companion files (SQLite -wal/-shm/-journal, numbered tlog/snapshot files)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracker.config import validation_errors

from ._helpers import valid_config


def _messages(config) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(error) for error in validation_errors(config)]


def test_the_default_layout_has_distinct_files(tmp_path: Path) -> None:
    assert _messages(valid_config(tmp_path)) == []


def test_tlog_path_equal_to_the_ledger(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admission.tlog_path = config.ledger.storage_path
    assert _messages(config) == [
        f"admission.tlog_path: collides with ledger.storage_path (both {tmp_path}/ledger.sqlite)"
    ]


def test_a_symlink_and_a_relative_path_resolve_to_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "identity.key").write_bytes(b"k")
    (tmp_path / "alias").symlink_to(tmp_path / "identity.key")
    config = valid_config(tmp_path)
    config.reputation.storage_path = str(tmp_path / "alias")
    assert _messages(config) == [
        f"reputation.storage_path: collides with server.identity_key_path (both {tmp_path}/identity.key)"
    ]
    monkeypatch.chdir(tmp_path)
    config = valid_config(tmp_path)
    config.admission.snapshot_path_prefix = "sub/../ledger.sqlite"
    assert _messages(config) == [
        f"admission.snapshot_path_prefix: collides with ledger.storage_path (both {tmp_path}/ledger.sqlite)"
    ]


def test_a_hard_link_is_the_same_file(tmp_path: Path) -> None:
    (tmp_path / "ledger.sqlite").write_bytes(b"")
    os.link(tmp_path / "ledger.sqlite", tmp_path / "other")
    config = valid_config(tmp_path)
    config.admission.tlog_path = str(tmp_path / "other")
    assert _messages(config) == [
        f"admission.tlog_path: collides with ledger.storage_path ({tmp_path}/other and "
        f"{tmp_path}/ledger.sqlite are the same file)"
    ]


def test_companion_files_collide(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.reputation.storage_path = config.ledger.storage_path + "-wal"
    config.server.identity_key_path = config.admission.tlog_path + ".42"
    assert _messages(config) == [
        f"server.identity_key_path: collides with admission.tlog_path "
        f"({tmp_path}/admission.tlog.42 is one of its numbered files)",
        f"reputation.storage_path: collides with ledger.storage_path "
        f"({tmp_path}/ledger.sqlite-wal is its SQLite -wal file)",
    ]


def test_a_later_prefix_that_owns_an_earlier_path(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admission.tlog_path = str(tmp_path / "state.7")
    config.admission.snapshot_path_prefix = str(tmp_path / "state")
    assert _messages(config) == [
        f"admission.snapshot_path_prefix: collides with admission.tlog_path "
        f"({tmp_path}/state.7 is one of this field's numbered files)"
    ]


def test_similar_names_do_not_collide(tmp_path: Path) -> None:
    config = valid_config(tmp_path)
    config.admission.tlog_path = str(tmp_path / "ledger.sqlite.tlog")
    config.admission.snapshot_path_prefix = str(tmp_path / "ledger.sqlite-snap")
    config.reputation.storage_path = str(tmp_path / "admission.tlog.x")
    assert _messages(config) == []
