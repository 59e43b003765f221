"""The synchronous orchestrator: appends of every kind, balance semantics, typed errors with nothing written,
subscribers, restart and replay, and tamper detection by the audit."""

from __future__ import annotations

import itertools
import sqlite3
import threading
from pathlib import Path

import pytest

from tests.ledger.conftest import FakeClock
from tests.ledger.helpers import (
    NOW,
    identity_id,
    party,
    transfer_in_record,
    transfer_out_record,
    usage_record,
)
from tracker.ledger import (
    ChainIntegrityError,
    EntryKind,
    EntryValidationError,
    InsufficientBalance,
    Ledger,
    LedgerError,
    SignatureError,
    StaleTip,
    TimestampOutOfWindow,
    TransferRefExists,
    UsageRecord,
    verify_all,
    verify_balance_snapshot,
)

CONSUMER = party("consumer")
SEEDER = party("seeder")
ATTACKER = party("attacker")


def _rows(path: Path, table: str) -> int:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    finally:
        connection.close()


def _credits(ledger: Ledger, who: bytes) -> int | None:
    row = ledger.balance(who)
    return None if row is None else row.credits


def test_three_grants_sum_and_last_seq(ledger: Ledger) -> None:
    for _ in range(3):
        ledger.issue_starter_grant(identity_id("a"), 1000)
    row = ledger.balance(identity_id("a"))
    assert (row.credits, row.last_seq) == (3000, 3)
    assert ledger.tip().seq == 3


def test_grant_then_usage_moves_credits(ledger: Ledger) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 5000)
    committed = ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 1000))
    assert committed.seq == 2
    assert committed.kind is EntryKind.USAGE
    assert _credits(ledger, CONSUMER.identity_id) == 4000
    assert _credits(ledger, SEEDER.identity_id) == 1000
    verify_all(
        committed.entry,
        consumer_public_key=CONSUMER.public_key,
        seeder_public_key=SEEDER.public_key,
        tracker_public_key=ledger.tracker_public_key,
    )
    assert ledger.entry_by_seq(2) == committed
    assert ledger.entry_by_hash(committed.hash) == committed
    assert ledger.entry_by_seq(3) is None and ledger.entry_by_hash(bytes(32)) is None


def test_usage_with_consumer_sig_missing_ignores_a_supplied_consumer_sig(ledger: Ledger, ledger_path) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 50)
    record = usage_record(ledger, CONSUMER, SEEDER, 10, consumer_sig_missing=True)
    record = UsageRecord(**{**_as_dict(record), "consumer_sig": b"\x01" * 64, "consumer_pub": b"\x02" * 32})
    committed = ledger.append_usage(record)
    assert committed.entry.consumer_sig == b""
    assert committed.entry.body.flags == 1
    connection = sqlite3.connect(ledger_path)
    assert connection.execute("SELECT consumer_sig FROM entries WHERE seq = 2").fetchone() == (None,)
    connection.close()


def _as_dict(record) -> dict:
    return {name: getattr(record, name) for name in record.__slots__}


def test_zero_cost_usage_is_allowed_and_upserts_rows(ledger: Ledger) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 1)
    ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 0))
    assert _credits(ledger, SEEDER.identity_id) == 0
    assert ledger.balance(SEEDER.identity_id).last_seq == 2


def test_transfers_out_and_in(ledger: Ledger) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 40, b"\x01" * 32))
    recipient = identity_id("new")
    committed = ledger.append_transfer_in(transfer_in_record(ledger, recipient, 1500, b"\x02" * 32))
    assert committed.entry.body.consumer_id == bytes(32)
    assert committed.transfer_in_recipient == recipient
    assert ledger.entries_since(2)[0].transfer_in_recipient == recipient
    assert _credits(ledger, CONSUMER.identity_id) == 60
    assert _credits(ledger, recipient) == 1500


def test_mixed_chain_tip_balances_and_audit(ledger: Ledger) -> None:
    consumers = [party(f"consumer-{index}") for index in range(5)]
    for consumer in consumers:
        ledger.issue_starter_grant(consumer.identity_id, 1000)
    for index, consumer in enumerate(consumers):
        ledger.append_usage(
            usage_record(ledger, consumer, SEEDER, 100 + index, request_id=bytes([index]) * 16)
        )
    for index, consumer in enumerate(consumers[:3]):
        ledger.append_transfer_out(transfer_out_record(ledger, consumer, 50, bytes([index + 1]) * 32))
    assert ledger.tip().seq == 13
    assert ledger.assert_chain_integrity() == 13
    assert _credits(ledger, SEEDER.identity_id) == sum(100 + index for index in range(5))
    assert [_credits(ledger, c.identity_id) for c in consumers] == [850, 849, 848, 897, 896]
    entries = ledger.entries_since(0)
    assert [entry.seq for entry in entries] == list(range(1, 14))
    assert [entry.seq for entry in ledger.entries_since(5, 3)] == [6, 7, 8]
    for previous, entry in itertools.pairwise(entries):
        assert entry.entry.body.prev_hash == previous.hash


def _assert_nothing_written(ledger: Ledger, path: Path, seq: int) -> None:
    tip = ledger.tip()
    assert (tip.seq if tip else 0) == seq
    assert _rows(path, "entries") == seq


@pytest.mark.parametrize(
    ("who", "amount", "error", "fragment"),
    [
        (b"\x11" * 31, 10, EntryValidationError, "identity_id length 31, want 32"),
        (b"\x11" * 33, 10, EntryValidationError, "identity_id length 33"),
        (b"\x11" * 32, 0, EntryValidationError, "starter grant amount must be > 0"),
        (b"\x11" * 32, -5, EntryValidationError, "must be > 0"),
        (b"\x11" * 32, 2**63, EntryValidationError, f"amount {2**63} exceeds int64 range"),
    ],
)
def test_bad_starter_grants_are_typed_errors_and_write_nothing(
    ledger: Ledger, ledger_path: Path, who: bytes, amount: int, error: type, fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        ledger.issue_starter_grant(who, amount)
    _assert_nothing_written(ledger, ledger_path, 0)


def test_max_int64_grant_is_accepted_and_overflow_is_rejected(ledger: Ledger, ledger_path: Path) -> None:
    ledger.issue_starter_grant(identity_id("rich"), 2**63 - 1)
    with pytest.raises(EntryValidationError, match="int64 range"):
        ledger.issue_starter_grant(identity_id("rich"), 1)
    _assert_nothing_written(ledger, ledger_path, 1)


def _usage_variant(ledger: Ledger, **changes) -> UsageRecord:
    record = usage_record(ledger, CONSUMER, SEEDER, 10)
    return UsageRecord(**{**_as_dict(record), **changes})


@pytest.mark.parametrize(
    ("changes", "error", "fragment"),
    [
        ({"seeder_sig": b""}, EntryValidationError, "AppendUsage requires seeder sig + pubkey"),
        ({"seeder_pub": b"\x01" * 31}, EntryValidationError, "AppendUsage requires seeder sig + pubkey"),
        (
            {"consumer_sig": b""},
            EntryValidationError,
            "requires consumer sig + pubkey (or set ConsumerSigMissing)",
        ),
        ({"cost_credits": 2**63}, EntryValidationError, "exceeds int64 range"),
        (
            {"consumer_id": b"\x01" * 16},
            EntryValidationError,
            "build usage: entry: BuildUsageEntry: proto: consumer_id",
        ),
        ({"model": b"\xc3\x28"}, EntryValidationError, "model is not valid UTF-8"),
        ({"model": "x" * 33}, EntryValidationError, "model"),
        ({"request_id": b"\x01" * 15}, EntryValidationError, "request_id"),
        ({"seq": 9}, StaleTip, "does not match current tip"),
        ({"prev_hash": b"\x05" * 32}, StaleTip, "does not match current tip"),
        ({"seeder_sig": ATTACKER.sign(b"x")}, SignatureError, "seeder_sig invalid"),
        ({"consumer_sig": ATTACKER.sign(b"x")}, SignatureError, "consumer_sig invalid"),
        ({"seeder_pub": ATTACKER.public_key}, SignatureError, "seeder_sig invalid"),
        ({"timestamp": NOW + 301}, TimestampOutOfWindow, "more than 300 s away"),
        ({"timestamp": NOW - 301}, TimestampOutOfWindow, "tracker clock"),
    ],
)
def test_bad_usage_is_a_typed_error_and_writes_nothing(
    ledger: Ledger, ledger_path: Path, changes: dict, error: type, fragment: str
) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    with pytest.raises(error) as caught:
        ledger.append_usage(_usage_variant(ledger, **changes))
    assert fragment in str(caught.value)
    _assert_nothing_written(ledger, ledger_path, 1)
    assert _credits(ledger, CONSUMER.identity_id) == 100
    assert ledger.balance(SEEDER.identity_id) is None


def test_usage_timestamp_at_the_window_edge_is_accepted(ledger: Ledger) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 1, timestamp=NOW + 300))
    ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 1, timestamp=NOW - 300))
    assert ledger.tip().seq == 3


def test_usage_with_consumer_equal_to_seeder_is_rejected(ledger: Ledger, ledger_path: Path) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    with pytest.raises(EntryValidationError, match="consumer_id equals seeder_id"):
        ledger.append_usage(usage_record(ledger, CONSUMER, CONSUMER, 10))
    _assert_nothing_written(ledger, ledger_path, 1)


def test_usage_beyond_the_balance_is_insufficient(ledger: Ledger, ledger_path: Path) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    with pytest.raises(InsufficientBalance) as caught:
        ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 101))
    assert str(caught.value) == (
        "ledger: balance would go below permitted floor: "
        f"identity={CONSUMER.identity_id.hex()} current=100 delta=-101"
    )
    _assert_nothing_written(ledger, ledger_path, 1)


def test_identity_without_a_row_cannot_pay(ledger: Ledger) -> None:
    ledger.issue_starter_grant(SEEDER.identity_id, 1)
    with pytest.raises(InsufficientBalance, match="current=0 delta=-1"):
        ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 1))


def test_transfer_errors(ledger: Ledger, ledger_path: Path) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    record = transfer_out_record(ledger, CONSUMER, 10, b"\x09" * 32)
    with pytest.raises(EntryValidationError, match="AppendTransferOut requires consumer sig"):
        ledger.append_transfer_out(type(record)(**{**_as_dict(record), "consumer_sig": b""}))
    with pytest.raises(EntryValidationError, match="transfer_out amount must be > 0"):
        ledger.append_transfer_out(type(record)(**{**_as_dict(record), "amount": 0}))
    with pytest.raises(SignatureError, match="consumer_sig invalid"):
        ledger.append_transfer_out(type(record)(**{**_as_dict(record), "amount": 11}))
    with pytest.raises(InsufficientBalance):
        ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 101, b"\x09" * 32))
    with pytest.raises(EntryValidationError, match="ref length"):
        ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 1, b"\x09" * 31))
    with pytest.raises(EntryValidationError, match="transfer_in amount must be > 0"):
        ledger.append_transfer_in(transfer_in_record(ledger, identity_id("r"), 0, b"\x08" * 32))
    with pytest.raises(EntryValidationError, match="identity_id length 3"):
        ledger.append_transfer_in(transfer_in_record(ledger, b"abc", 5, b"\x08" * 32))
    with pytest.raises(TimestampOutOfWindow):
        ledger.append_transfer_in(transfer_in_record(ledger, identity_id("r"), 5, b"\x08" * 32, timestamp=0))
    _assert_nothing_written(ledger, ledger_path, 1)


def test_duplicate_transfer_ref_is_rejected(ledger: Ledger, ledger_path: Path) -> None:
    ledger.issue_starter_grant(CONSUMER.identity_id, 100)
    ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 10, b"\x07" * 32))
    with pytest.raises(TransferRefExists, match="transfer ref already on chain"):
        ledger.append_transfer_out(transfer_out_record(ledger, CONSUMER, 10, b"\x07" * 32))
    with pytest.raises(TransferRefExists):
        ledger.append_transfer_in(transfer_in_record(ledger, identity_id("r"), 5, b"\x07" * 32))
    ledger.append_transfer_in(transfer_in_record(ledger, identity_id("r"), 5, b"\x06" * 32))
    with pytest.raises(TransferRefExists):
        ledger.append_transfer_in(transfer_in_record(ledger, identity_id("s"), 5, b"\x06" * 32))
    _assert_nothing_written(ledger, ledger_path, 3)


def test_signed_balance_snapshot(ledger: Ledger, clock: FakeClock) -> None:
    ledger.issue_starter_grant(identity_id("a"), 700)
    clock.now = NOW + 50
    snapshot = ledger.signed_balance(identity_id("a"))
    tip = ledger.tip()
    assert (snapshot.body.credits, snapshot.body.chain_tip_seq, snapshot.body.chain_tip_hash) == (
        700,
        1,
        tip.hash,
    )
    assert (snapshot.body.issued_at, snapshot.body.expires_at) == (NOW + 50, NOW + 650)
    assert verify_balance_snapshot(snapshot, ledger.tracker_public_key)
    unknown = ledger.signed_balance(identity_id("nobody"))
    assert (unknown.body.credits, unknown.body.chain_tip_seq) == (0, 1)
    with pytest.raises(EntryValidationError, match="identity_id length 4, want 32"):
        ledger.signed_balance(b"abcd")


def test_batch_isolates_failures_and_keeps_seqs_gap_free(ledger: Ledger) -> None:
    from tracker.ledger import StarterGrantRequest

    results = ledger.append_batch(
        [
            StarterGrantRequest(identity_id("a"), 5),
            StarterGrantRequest(b"short", 5),
            StarterGrantRequest(identity_id("b"), 0),
            StarterGrantRequest(identity_id("c"), 7),
            "not a request",  # type: ignore[list-item]
        ]
    )
    assert [type(result).__name__ for result in results] == [
        "CommittedEntry",
        "EntryValidationError",
        "EntryValidationError",
        "CommittedEntry",
        "EntryValidationError",
    ]
    assert [results[0].seq, results[3].seq] == [1, 2]
    assert ledger.assert_chain_integrity() == 2


def test_concurrent_threads_get_gap_free_seqs(ledger: Ledger) -> None:
    seqs: list[int] = []
    lock = threading.Lock()

    def grant() -> None:
        committed = ledger.issue_starter_grant(identity_id("shared"), 3)
        with lock:
            seqs.append(committed.seq)

    threads = [threading.Thread(target=grant) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seqs) == list(range(1, 51))
    assert _credits(ledger, identity_id("shared")) == 150
    assert ledger.assert_chain_integrity() == 50


def test_restart_preserves_tip_balances_and_chain_then_continues(ledger_path: Path, identity, clock) -> None:
    with Ledger.open(ledger_path, identity, clock=clock) as ledger:
        ledger.issue_starter_grant(CONSUMER.identity_id, 20_000)
        for index in range(10):
            ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 1000, request_id=bytes([index]) * 16))
        tip = ledger.tip()
    with Ledger.open(ledger_path, identity, clock=clock) as reopened:
        assert reopened.tip() == tip
        assert reopened.replayed_on_open == 0
        assert _credits(reopened, CONSUMER.identity_id) == 10_000
        assert _credits(reopened, SEEDER.identity_id) == 10_000
        committed = reopened.append_usage(usage_record(reopened, CONSUMER, SEEDER, 1))
        assert committed.seq == 12
        assert reopened.assert_chain_integrity() == 12


def test_reopen_replays_entries_beyond_the_projection(ledger_path: Path, identity, clock) -> None:
    with Ledger.open(ledger_path, identity, clock=clock) as ledger:
        ledger.issue_starter_grant(CONSUMER.identity_id, 500)
        ledger.append_usage(usage_record(ledger, CONSUMER, SEEDER, 200))
        ledger.append_transfer_in(transfer_in_record(ledger, identity_id("r"), 30, b"\x03" * 32))
    # Simulate a projection that lags the chain (e.g. restored from an older copy): balances as of seq 1.
    connection = sqlite3.connect(ledger_path)
    connection.execute("DELETE FROM balances")
    connection.execute("INSERT INTO balances VALUES (?, 500, 1, ?)", (CONSUMER.identity_id, NOW))
    connection.commit()
    connection.close()
    with Ledger.open(ledger_path, identity, clock=clock) as reopened:
        assert reopened.replayed_on_open == 2
        assert _credits(reopened, CONSUMER.identity_id) == 300
        assert _credits(reopened, SEEDER.identity_id) == 200
        assert _credits(reopened, identity_id("r")) == 30
        assert reopened.balance(SEEDER.identity_id).last_seq == 2


def test_tracker_key_must_be_64_consistent_bytes(ledger_path: Path, identity) -> None:
    with pytest.raises(LedgerError, match="tracker key length 32, want 64"):
        Ledger.open(ledger_path, identity.seed)
    with pytest.raises(LedgerError, match="does not match its seed"):
        Ledger.open(ledger_path, identity.seed + bytes(32))
    Ledger.open(ledger_path, identity.key_bytes).close()


# ---- tamper detection -------------------------------------------------------------------------------------


def _chain_of_five(ledger: Ledger) -> None:
    for index in range(5):
        ledger.issue_starter_grant(identity_id(str(index)), 10)


def _tamper(path: Path, sql: str, *args) -> None:
    connection = sqlite3.connect(path)
    connection.execute(sql, args)
    connection.commit()
    connection.close()


def _audit_error(path: Path, identity, clock) -> ChainIntegrityError:
    with Ledger.open(path, identity, clock=clock) as reopened, pytest.raises(ChainIntegrityError) as caught:
        reopened.assert_chain_integrity()
    return caught.value


def test_prev_hash_tampered_in_the_canonical_blob_is_a_chain_break(
    ledger: Ledger, ledger_path, identity, clock
):
    _chain_of_five(ledger)
    canonical = ledger.entry_by_seq(2).entry.body.SerializeToString(deterministic=True)
    tampered = canonical[:2] + b"\xff" * 32 + canonical[34:]
    _tamper(ledger_path, "UPDATE entries SET canonical = ? WHERE seq = 2", tampered)
    error = _audit_error(ledger_path, identity, clock)
    assert error.seq == 2
    assert "chain break at seq=2" in str(error)


def test_flipped_byte_in_a_canonical_blob_is_a_hash_mismatch(ledger: Ledger, ledger_path, identity, clock):
    _chain_of_five(ledger)
    canonical = bytearray(ledger.entry_by_seq(3).entry.body.SerializeToString(deterministic=True))
    canonical[40] ^= 0x01  # inside consumer_id
    _tamper(ledger_path, "UPDATE entries SET canonical = ? WHERE seq = 3", bytes(canonical))
    error = _audit_error(ledger_path, identity, clock)
    assert (error.seq, "hash mismatch at seq=3" in str(error)) == (3, True)


def test_garbage_canonical_blob_is_reported(ledger: Ledger, ledger_path, identity, clock):
    _chain_of_five(ledger)
    _tamper(ledger_path, "UPDATE entries SET canonical = ? WHERE seq = 4", b"\xff\xff\xff")
    error = _audit_error(ledger_path, identity, clock)
    assert error.seq == 4 and "unmarshal canonical" in str(error)


def test_tampered_prev_hash_column_and_cost_column_are_reported(ledger: Ledger, ledger_path, identity, clock):
    _chain_of_five(ledger)
    _tamper(ledger_path, "UPDATE entries SET prev_hash = ? WHERE seq = 5", b"\x00" * 32)
    error = _audit_error(ledger_path, identity, clock)
    assert error.seq == 5 and "column prev_hash" in str(error)


def test_seq_gap_and_bad_tracker_signature_are_reported(ledger: Ledger, ledger_path, identity, clock):
    _chain_of_five(ledger)
    _tamper(ledger_path, "UPDATE entries SET tracker_sig = ? WHERE seq = 2", b"\x00" * 64)
    error = _audit_error(ledger_path, identity, clock)
    assert error.seq == 2 and "tracker signature invalid at seq=2" in str(error)
    _tamper(ledger_path, "DELETE FROM entries WHERE seq = 1")
    error = _audit_error(ledger_path, identity, clock)
    assert error.seq == 2 and "seq gap at seq=2: expected seq=1" in str(error)


def test_audit_ranges_and_anchor(ledger: Ledger) -> None:
    _chain_of_five(ledger)
    assert ledger.assert_chain_integrity(2, 4) == 2
    assert ledger.assert_chain_integrity(0, 100) == 5
    with pytest.raises(ChainIntegrityError, match="anchor seq=9 missing"):
        ledger.assert_chain_integrity(9, 0)


def test_audit_of_an_empty_chain_passes_and_missing_anchor_fails(ledger: Ledger) -> None:
    assert ledger.assert_chain_integrity() == 0
    with pytest.raises(ChainIntegrityError, match="anchor seq=1 missing"):
        ledger.assert_chain_integrity(1, 0)


def test_a_failing_sql_write_is_redone_without_the_failing_entry(ledger: Ledger, ledger_path: Path) -> None:
    from tracker.ledger import LedgerStorageError, StarterGrantRequest

    poisoned = identity_id("poisoned")
    _tamper(
        ledger_path,
        "CREATE TRIGGER inject_failure BEFORE INSERT ON balances WHEN NEW.identity_id = ?"
        " BEGIN SELECT RAISE(ABORT, 'injected write failure'); END".replace("?", f"x'{poisoned.hex()}'"),
    )
    results = ledger.append_batch(
        [
            StarterGrantRequest(identity_id("a"), 1),
            StarterGrantRequest(poisoned, 1),
            StarterGrantRequest(identity_id("b"), 2),
        ]
    )
    assert isinstance(results[1], LedgerStorageError) and "injected write failure" in str(results[1])
    assert [results[0].seq, results[2].seq] == [1, 2]
    assert [committed.seq for committed in ledger.entries_since(0)] == [1, 2]
    assert _rows(ledger_path, "entries") == 2
    assert ledger.balance(poisoned) is None
    assert ledger.assert_chain_integrity() == 2


def test_a_failing_commit_fails_every_entry_of_the_batch_and_writes_nothing(
    ledger: Ledger, ledger_path: Path
):
    from tracker.ledger import LedgerStorageError, StarterGrantRequest

    ledger.issue_starter_grant(identity_id("before"), 1)
    poisoned = identity_id("poisoned")
    # A deferred foreign key is only checked at COMMIT: touching `poisoned` makes the commit itself fail.
    _tamper(ledger_path, "CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    _tamper(
        ledger_path,
        "CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)",
    )
    _tamper(
        ledger_path,
        f"CREATE TRIGGER poison_commit AFTER INSERT ON balances WHEN NEW.identity_id = x'{poisoned.hex()}'"
        " BEGIN INSERT INTO child VALUES (42); END",
    )
    results = ledger.append_batch(
        [
            StarterGrantRequest(identity_id("a"), 1),
            StarterGrantRequest(poisoned, 1),
            StarterGrantRequest(b"x", 1),
        ]
    )
    assert all(isinstance(result, LedgerStorageError) for result in results[:2])
    assert "commit" in str(results[0]) and results[0] is not results[1]
    assert isinstance(results[2], EntryValidationError)
    assert ledger.entries_since(1) == []
    assert ledger.tip().seq == 1
    assert _rows(ledger_path, "entries") == 1
    assert ledger.balance(identity_id("a")) is None
    assert ledger.issue_starter_grant(identity_id("after"), 1).seq == 2
    assert ledger.assert_chain_integrity() == 2
