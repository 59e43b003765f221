"""SQLite schema v1 of the ledger (identical to the Go tracker's schema_v1.sql) plus our own side tables."""

from __future__ import annotations

from tracker.ledger._identities import IDENTITY_TABLE
from tracker.ledger._settlement import SETTLEMENT_TABLES

SCHEMA_VERSION = 1

# The Go v1 script: 7 tables, 5 named indexes; every statement idempotent, run on every open.
SCHEMA_V1 = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY
);
INSERT OR IGNORE INTO schema_version (version) VALUES (1);

CREATE TABLE IF NOT EXISTS entries (
    seq           INTEGER PRIMARY KEY,
    prev_hash     BLOB    NOT NULL,
    hash          BLOB    NOT NULL UNIQUE,
    kind          INTEGER NOT NULL,
    consumer_id   BLOB    NOT NULL,
    seeder_id     BLOB    NOT NULL,
    model         TEXT    NOT NULL DEFAULT '',
    input_tokens  INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cost_credits  INTEGER NOT NULL,
    timestamp     INTEGER NOT NULL,
    request_id    BLOB    NOT NULL,
    flags         INTEGER NOT NULL DEFAULT 0,
    ref           BLOB    NOT NULL,
    consumer_sig  BLOB,
    seeder_sig    BLOB,
    tracker_sig   BLOB    NOT NULL,
    canonical     BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_entries_consumer ON entries(consumer_id, seq);
CREATE INDEX IF NOT EXISTS idx_entries_seeder ON entries(seeder_id, seq);
CREATE INDEX IF NOT EXISTS idx_entries_time ON entries(timestamp);

CREATE TABLE IF NOT EXISTS balances (
    identity_id BLOB PRIMARY KEY,
    credits     INTEGER NOT NULL,
    last_seq    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS merkle_roots (
    hour        INTEGER PRIMARY KEY,
    root        BLOB NOT NULL,
    tracker_sig BLOB NOT NULL
);

CREATE TABLE IF NOT EXISTS peer_root_archive (
    tracker_id  BLOB    NOT NULL,
    hour        INTEGER NOT NULL,
    root        BLOB    NOT NULL,
    sig         BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tracker_id, hour)
);

CREATE TABLE IF NOT EXISTS peer_revocations (
    tracker_id  BLOB    NOT NULL,
    identity_id BLOB    NOT NULL,
    reason      INTEGER NOT NULL,
    revoked_at  INTEGER NOT NULL,
    tracker_sig BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (tracker_id, identity_id)
);
CREATE INDEX IF NOT EXISTS idx_peer_revocations_identity ON peer_revocations(identity_id);

CREATE TABLE IF NOT EXISTS known_peers (
    tracker_id   BLOB    NOT NULL PRIMARY KEY,
    addr         TEXT    NOT NULL,
    last_seen    INTEGER NOT NULL,
    region_hint  TEXT    NOT NULL DEFAULT '',
    health_score REAL    NOT NULL DEFAULT 0.0,
    source       TEXT    NOT NULL CHECK (source IN ('allowlist', 'gossip'))
);
CREATE INDEX IF NOT EXISTS idx_known_peers_health ON known_peers(health_score DESC);
"""

GO_TABLES = (
    "schema_version",
    "entries",
    "balances",
    "merkle_roots",
    "peer_root_archive",
    "peer_revocations",
    "known_peers",
)

# Our additions (a Go tracker ignores them): the transfer-in recipient (not on chain) so the balance
# projection can be rebuilt from the database; transfer refs already used (duplicate refs are rejected); a
# watermark up to which transfer_refs was back-filled from entries (a Go-written file has no such rows).
SIDE_TABLES = """
CREATE TABLE IF NOT EXISTS transfer_in_recipients (
    seq         INTEGER PRIMARY KEY,
    identity_id BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS transfer_refs (
    ref BLOB    PRIMARY KEY,
    seq INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS side_table_state (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

SIDE_TABLES += IDENTITY_TABLE + SETTLEMENT_TABLES

SIDE_TABLE_NAMES = (
    "transfer_in_recipients",
    "transfer_refs",
    "side_table_state",
    "peer_identities",
    "usage_reports",
    "countersignatures",
)
