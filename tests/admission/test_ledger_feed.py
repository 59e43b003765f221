"""The real ledger's committed entries feed admission state through `event_from_committed_entry`."""

from __future__ import annotations

from pathlib import Path

from tests.admission._fixtures import NOW, make_core
from tracker.admission import ScoreSource
from tracker.admission.core._events import event_from_committed_entry
from tracker.admission.core._state import BucketArray, day_bucket_index
from tracker.identity import identity_from_seed
from tracker.ledger import Ledger, TransferInRecord, UsageRecord, build_usage_entry, canonical_bytes

CONSUMER = b"\xc1" * 32
RECIPIENT = b"\xd1" * 32


def test_starter_grant_usage_and_transfer_in_reach_the_credit_state(tmp_path: Path) -> None:
    tracker = identity_from_seed(b"ledger-feed-tracker-seed-0000000")
    seeder = identity_from_seed(b"ledger-feed-seeder-seed-00000000")
    core = make_core()
    with Ledger.open(tmp_path / "ledger.sqlite", tracker, clock=lambda: NOW) as ledger:
        ledger.issue_starter_grant(CONSUMER, 1000)
        tip = ledger.tip()
        assert tip is not None
        body = build_usage_entry(
            prev_hash=tip.hash,
            seq=tip.seq + 1,
            consumer_id=CONSUMER,
            seeder_id=seeder.public_key,
            model="m",
            input_tokens=10,
            output_tokens=20,
            cost_credits=30,
            timestamp=NOW,
            request_id=b"r" * 16,
            consumer_sig_missing=True,
        )
        ledger.append_usage(
            UsageRecord(
                prev_hash=tip.hash,
                seq=tip.seq + 1,
                consumer_id=CONSUMER,
                seeder_id=seeder.public_key,
                model="m",
                input_tokens=10,
                output_tokens=20,
                cost_credits=30,
                timestamp=NOW,
                request_id=b"r" * 16,
                consumer_sig_missing=True,
                seeder_sig=seeder.sign(canonical_bytes(body)),
                seeder_pub=seeder.public_key,
            )
        )
        tip = ledger.tip()
        assert tip is not None
        ledger.append_transfer_in(TransferInRecord(tip.hash, tip.seq + 1, RECIPIENT, 77, NOW, b"f" * 32))
        for committed in ledger.entries_since(0):
            event = event_from_committed_entry(committed)
            if event is not None:
                core.apply_event(event)

    consumer = core.consumers[CONSUMER]
    assert consumer.last_balance_seen == 970
    assert consumer.first_seen_at == NOW
    settlement = consumer.bucket(BucketArray.SETTLEMENT, day_bucket_index(NOW))
    assert (settlement.total, settlement.a) == (1, 0)  # consumer signature missing → not clean
    assert core.consumers[seeder.public_key].last_balance_seen == 30
    assert core.consumers[RECIPIENT].last_balance_seen == 77
    assert core.decide(CONSUMER, None, NOW).score_source == ScoreSource.LOCAL
