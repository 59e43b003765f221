"""Seed e2e task 6 (composed state, in-process): a config file on disk drives the broker's candidate filter;
three advertised seeders with headroom 0.8 / 0.5 / 0.05 → exactly the first two match."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.config import load
from tracker.identity import identity_from_seed
from tracker.registry import (
    DEFAULT_SHARD_COUNT,
    Capabilities,
    Filter,
    NetCoords,
    PrivacyTier,
    Registry,
    SeederRecord,
)

FIXED_CLOCK = datetime(2026, 5, 3, 12, 0, 0, tzinfo=UTC).timestamp()
MODEL = "claude-opus-4-7"


def labeled_identity(label: str) -> bytes:
    return hashlib.sha256(b"e2e-identity-" + label.encode()).digest()


def write_config(data_dir: Path) -> Path:
    path = data_dir / "tracker.yaml"
    path.write_text(
        f"""data_dir: {data_dir}
log_level: info
server:
  listen_addr: 127.0.0.1:7777
  identity_key_path: {data_dir}/identity.key
  tls_cert_path: {data_dir}/tls.crt
  tls_key_path: {data_dir}/tls.key
admin:
  listen_addr: 127.0.0.1:0
ledger:
  storage_path: {data_dir}/ledger.sqlite
broker:
  headroom_threshold: 0.2
  load_threshold: 5
metrics:
  listen_addr: localhost:0
""",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_registry_match_uses_the_config_derived_filter(tmp_path: Path) -> None:
    config = load(write_config(tmp_path))
    registry = Registry(DEFAULT_SHARD_COUNT)
    headrooms = {"seeder-viable-1": 0.8, "seeder-viable-2": 0.5, "seeder-below-headroom": 0.05}
    for label, headroom in headrooms.items():
        identity = labeled_identity(label)
        registry.register(
            SeederRecord(
                identity_id=identity,
                last_heartbeat=FIXED_CLOCK,
                net_coords=NetCoords(external_addr="198.51.100.1:7777"),
            )
        )
        capabilities = Capabilities(models=[MODEL], max_context=200000, tiers=[PrivacyTier.STANDARD])
        registry.advertise(identity, capabilities, True, headroom)

    candidate_filter = Filter(
        require_available=True,
        model=MODEL,
        tier=PrivacyTier.STANDARD,
        min_headroom=config.broker.headroom_threshold,
        max_load=config.broker.load_threshold,
    )
    matched = {record.identity_id for record in registry.match(candidate_filter)}
    assert matched == {labeled_identity("seeder-viable-1"), labeled_identity("seeder-viable-2")}
    assert labeled_identity("seeder-below-headroom") not in matched

    # The same registry feeds admission supply; all three are fresh but unrated (reputation 0): silent.
    admission = AdmissionCore(
        config.admission, registry, identity_from_seed(hashlib.sha256(b"e2e-tracker-key").digest())
    )
    supply = admission.aggregate(FIXED_CLOCK + 1)
    assert (supply.contributing_seeders, supply.silent_seeders) == (0, 3)
    for label in headrooms:
        registry.update_reputation(labeled_identity(label), 1.0)
    supply = admission.aggregate(FIXED_CLOCK + 2)
    assert supply.contributing_seeders == 3
    assert supply.per_model[MODEL] == supply.total_headroom
    assert abs(supply.total_headroom - 1.35) < 1e-9
