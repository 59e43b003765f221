"""The seed's composed-state lifecycle tasks 5 and 7: YAML config → ledger at ledger.storage_path →
starter grant → signed balance; and chain integrity across a restart of the ledger."""

from __future__ import annotations

import calendar
import hashlib
from pathlib import Path

from tracker.config import config_for_data_dir, load, render_yaml
from tracker.identity import TrackerIdentity, identity_from_seed
from tracker.ledger import Ledger, open_ledger, verify_balance_snapshot

FIXED_NOW = calendar.timegm((2026, 5, 3, 12, 0, 0))


def _tracker_key() -> TrackerIdentity:
    return identity_from_seed(hashlib.sha256(b"e2e-tracker-key").digest())


def _labeled_identity(label: str) -> bytes:
    return hashlib.sha256(b"e2e-identity-" + label.encode()).digest()


def _load_config(tmp_path: Path):
    config_path = tmp_path / "tracker.yaml"
    config_path.write_text(render_yaml(config_for_data_dir(tmp_path)))
    config_path.chmod(0o600)
    return load(config_path)


async def test_task5_starter_grant_then_signed_balance(tmp_path: Path) -> None:
    config = _load_config(tmp_path)
    tracker_key = _tracker_key()
    consumer = _labeled_identity("consumer-1")
    async with open_ledger(config.ledger.storage_path, tracker_key, clock=lambda: FIXED_NOW) as ledger:
        committed = await ledger.issue_starter_grant(consumer, 500)
        assert committed.entry.body.seq == 1
        snapshot = await ledger.signed_balance(consumer)
        assert snapshot.body.credits == 500
        assert snapshot.body.identity_id == consumer
        assert len(snapshot.tracker_sig) == 64
        assert verify_balance_snapshot(snapshot, tracker_key.public_key)
        assert await ledger.assert_chain_integrity(0, 0) == 1
    assert Path(config.ledger.storage_path).is_file()


async def test_task7_restart_preserves_chain_integrity(tmp_path: Path) -> None:
    config = _load_config(tmp_path)
    tracker_key = _tracker_key()
    consumer = _labeled_identity("consumer-restart")
    async with open_ledger(config.ledger.storage_path, tracker_key, clock=lambda: FIXED_NOW) as ledger:
        for _ in range(3):
            await ledger.issue_starter_grant(consumer, 100)
        assert (await ledger.tip()).seq == 3
    # A second handle on the same file, with the same key and the default (wall) clock.
    with Ledger.open(config.ledger.storage_path, tracker_key) as reopened:
        assert reopened.tip().seq == 3
        assert reopened.assert_chain_integrity(0, 0) == 3
        assert reopened.balance(consumer).credits == 300
