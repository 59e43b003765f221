"""The audit of peer signatures (our addition to `ledger verify`): every brokered USAGE entry's seeder
signature re-verified against the seeder's usage preimage (report id from the usage_reports side table) and
every recorded consumer countersignature against the entry's canonical body bytes, with the public keys of the
identity table. Entries whose keys are unknown (Go-written entries, peers never enrolled) are counted, not
failed."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tracker._proto.ledger_pb2 import EntryBody
from tracker._usage import usage_preimage
from tracker.ledger._errors import ChainIntegrityError
from tracker.ledger._settlement import read_settlement_rows
from tracker.ledger._wire import verify_signature


@dataclass
class PeerSignatureReport:
    seeder_signatures_checked: int = 0
    countersignatures_checked: int = 0
    awaiting_countersignature: int = 0
    unverifiable: int = 0


class PeerSignatureAudit:
    """Feed it every USAGE entry of the walk (`check`); raises ChainIntegrityError for a bad signature."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.report = PeerSignatureReport()
        self._reports, self._countersigs = read_settlement_rows(connection)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        self._keys: dict[bytes, bytes] = {}
        if "peer_identities" in tables:
            self._keys = {
                bytes(canonical): bytes(key)
                for canonical, key in connection.execute(
                    "SELECT canonical_id, public_key FROM peer_identities"
                )
            }

    def check(self, seq: int, body: EntryBody, canonical: bytes, seeder_sig: bytes | None) -> None:
        report_id = self._reports.get(seq)
        if report_id is not None:
            seeder_key = self._keys.get(body.seeder_id)
            if seeder_key is None:
                self.report.unverifiable += 1
            else:
                preimage = usage_preimage(report_id, body.model, body.input_tokens, body.output_tokens)
                if not verify_signature(seeder_key, preimage, seeder_sig or b""):
                    raise ChainIntegrityError(seq, f"entry at seq={seq}: seeder usage signature invalid")
                self.report.seeder_signatures_checked += 1
        countersig = self._countersigs.get(seq)
        if countersig is None:
            if report_id is not None:
                self.report.awaiting_countersignature += 1
            return
        consumer_key = self._keys.get(body.consumer_id)
        if consumer_key is None:
            self.report.unverifiable += 1
            return
        if not verify_signature(consumer_key, canonical, countersig):
            raise ChainIntegrityError(seq, f"entry at seq={seq}: consumer countersignature invalid")
        self.report.countersignatures_checked += 1


def describe_entry(
    connection: sqlite3.Connection,
    seq: int,
    entry_hash: bytes,
    body: EntryBody,
    canonical: bytes,
    seeder_sig: bytes,
) -> dict[str, object]:
    """One entry as JSON-ready fields, with the state of its peer signatures (`trio-tracker ledger show`)."""
    audit = PeerSignatureAudit(connection)
    described: dict[str, object] = {
        "seq": seq,
        "hash": entry_hash.hex(),
        "prev_hash": body.prev_hash.hex(),
        "kind": int(body.kind),
        "consumer_id": body.consumer_id.hex(),
        "seeder_id": body.seeder_id.hex(),
        "model": body.model,
        "input_tokens": body.input_tokens,
        "output_tokens": body.output_tokens,
        "cost_credits": body.cost_credits,
        "timestamp": body.timestamp,
        "request_id": body.request_id.hex(),
        "flags": body.flags,
        "seeder_sig": seeder_sig.hex(),
    }
    report_id = audit._reports.get(seq)
    if report_id is not None:
        described["seeder_report_id"] = report_id.hex()
        seeder_key = audit._keys.get(body.seeder_id)
        preimage = usage_preimage(report_id, body.model, body.input_tokens, body.output_tokens)
        described["seeder_signature"] = (
            "unknown_key"
            if seeder_key is None
            else ("valid" if verify_signature(seeder_key, preimage, seeder_sig) else "invalid")
        )
    countersig = audit._countersigs.get(seq)
    if countersig is None:
        described["countersignature"] = "missing"
    else:
        described["consumer_countersig"] = countersig.hex()
        consumer_key = audit._keys.get(body.consumer_id)
        described["countersignature"] = (
            "unknown_key"
            if consumer_key is None
            else ("valid" if verify_signature(consumer_key, canonical, countersig) else "invalid")
        )
    return described
