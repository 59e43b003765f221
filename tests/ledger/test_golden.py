"""Wire bytes, hashes and signatures rebuilt byte for byte from the Go fixtures (tests/golden and §1.12)."""

from __future__ import annotations

import hashlib

from tests.conftest import GOLDEN_DIR
from tests.ledger.helpers import tracker_identity
from tracker._proto.balance_pb2 import BalanceSnapshotBody, SignedBalanceSnapshot
from tracker.identity import SigningKey
from tracker.ledger import (
    Entry,
    Ledger,
    build_usage_entry,
    canonical_bytes,
    encode_entry,
    entry_hash,
    merkle_root,
    merkle_root_preimage,
    verify_all,
    verify_balance_snapshot,
)

BASE_SEED = b"token-bay-fixture-seed-v1-000000"


def _fixture_key(label: str) -> SigningKey:
    return SigningKey(hashlib.sha256(BASE_SEED + label.encode()).digest())


def _public(key: SigningKey) -> bytes:
    return key.public_key


def _golden(name: str) -> str:
    return (GOLDEN_DIR / name).read_text().strip()


def _fixture_body():
    return build_usage_entry(
        prev_hash=b"\x01" * 32,
        seq=42,
        consumer_id=b"\x11" * 32,
        seeder_id=b"\x22" * 32,
        model="claude-sonnet-4-6",
        input_tokens=4096,
        output_tokens=1024,
        cost_credits=3072000,
        timestamp=1714000100,
        request_id=b"\x33" * 16,
        consumer_sig_missing=False,
    )


def test_fixture_keys_match_the_documented_public_keys() -> None:
    assert _public(_fixture_key("consumer")).hex() == (
        "6b3b3a9a50d020324779b7dabc1c944bb54c108a59f6779c92fb2454ca87c586"
    )
    assert _public(_fixture_key("seeder")).hex() == (
        "7976801219fdc2acb376de2de75b0486a7375bd16d37fc666330e6d21734633e"
    )
    assert _public(_fixture_key("tracker")).hex() == (
        "0ee0919a39828213f6d86ebf9dfd9cb2ea5da6f4d350095fa4c8e76171fcf23a"
    )


def test_signed_entry_matches_entry_signed_golden_byte_for_byte() -> None:
    body = _fixture_body()
    canonical = canonical_bytes(body)
    assert len(canonical) == 194
    entry = Entry(
        consumer_sig=_fixture_key("consumer").sign(canonical),
        seeder_sig=_fixture_key("seeder").sign(canonical),
        tracker_sig=_fixture_key("tracker").sign(canonical),
    )
    entry.body.CopyFrom(body)
    wire = encode_entry(entry)
    assert len(wire) == 395
    assert wire.hex() == _golden("entry_signed.golden.hex")


def test_golden_entry_parses_and_passes_the_signature_matrix() -> None:
    entry = Entry()
    entry.ParseFromString(bytes.fromhex(_golden("entry_signed.golden.hex")))
    verify_all(
        entry,
        consumer_public_key=_public(_fixture_key("consumer")),
        seeder_public_key=_public(_fixture_key("seeder")),
        tracker_public_key=_public(_fixture_key("tracker")),
    )
    assert entry.body == _fixture_body()


def test_entry_hash_matches_usage_entry_golden() -> None:
    assert entry_hash(_fixture_body()).hex() == _golden("usage_entry.golden.hex")
    assert (
        _golden("usage_entry.golden.hex")
        == "c783b694a9787d447188975ddfdef1cbff4638a56a32eb6e26be8f30dd24e79e"
    )


def test_starter_grant_seq_1_vector(tmp_path) -> None:
    identity = tracker_identity()
    assert identity.public_key.hex() == "fbb1ba2d957625f63c58d45a31287d1676c6abcdf9ef6365c19c691548e8132d"
    with Ledger.open(tmp_path / "l.sqlite", identity, clock=lambda: 1714000000) as ledger:
        committed = ledger.issue_starter_grant(b"\x11" * 32, 100000)
    body_hex = (
        "0a20"
        + "00" * 32
        + "1001"
        + "1804"
        + "2220"
        + "11" * 32
        + "2a20"
        + "00" * 32
        + "48a08d06"
        + "5080a1a6b106"
        + "5a10"
        + "00" * 16
        + "6a20"
        + "00" * 32
    )
    assert canonical_bytes(committed.entry.body).hex() == body_hex
    assert committed.hash.hex() == "ab927288d5dbadc66e8e1d0410895890b78a79368a9e406d8b5f6d86267c8cf6"
    signature = (
        "8a8421294d0286b5a3ca4bd3c61c33bb76a791db42049b99b7a16be4b6247bb9"
        "67e9a7d2d644ef698a3f329f9022a8b86cf168d90b09f9aab63f75cde1293d0f"
    )
    assert committed.entry.tracker_sig.hex() == signature
    assert encode_entry(committed.entry).hex() == "0aa801" + body_hex + "2240" + signature


def test_empty_chain_balance_snapshot_vector(tmp_path) -> None:
    identity = tracker_identity()
    with Ledger.open(tmp_path / "l.sqlite", identity, clock=lambda: 1714000000) as ledger:
        snapshot = ledger.signed_balance(b"\x11" * 32)
    assert canonical_bytes(snapshot.body).hex() == (
        "0a20" + "11" * 32 + "1a20" + "00" * 32 + "2880a1a6b106" + "30d8a5a6b106"
    )
    assert snapshot.tracker_sig.hex() == (
        "dd0b29b20a43ba6c797569631a4d0255add1c2c22c0e47615cc9bf9d1983a8c7"
        "5ec167b26be88cb30419861f4830404f055f0f9819ee132dcaddf8c5cc6b2008"
    )
    assert snapshot.body.expires_at - snapshot.body.issued_at == 600
    assert verify_balance_snapshot(snapshot, identity.public_key)


def test_nested_balance_snapshot_encoding_from_the_envelope_golden() -> None:
    snapshot = SignedBalanceSnapshot(tracker_sig=b"\x55" * 64)
    snapshot.body.CopyFrom(
        BalanceSnapshotBody(
            identity_id=b"\x33" * 32,
            credits=9999,
            chain_tip_hash=b"\x44" * 32,
            chain_tip_seq=100,
            issued_at=1714000000,
            expires_at=1714000600,
        )
    )
    expected = (
        "0a55"
        + "0a20"
        + "33" * 32
        + "108f4e"
        + "1a20"
        + "44" * 32
        + "2064"
        + "2880a1a6b106"
        + "30d8a5a6b106"
        + "1240"
        + "55" * 64
    )
    assert snapshot.SerializeToString(deterministic=True).hex() == expected


def test_negative_credits_encode_as_ten_byte_varint() -> None:
    body = BalanceSnapshotBody(credits=-1)
    assert canonical_bytes(body).hex() == "10" + "ff" * 9 + "01"


def test_merkle_root_vectors() -> None:
    assert merkle_root([]) is None
    assert merkle_root([b"\x07" * 32]) == b"\x07" * 32
    assert merkle_root([b"\x01" * 32, b"\x02" * 32]).hex() == (
        "f818afd37a6dc3bc92fb44731011277006db4efa6e9023cd7468c02335d22a4d"
    )
    assert merkle_root([b"\x01" * 32, b"\x02" * 32, b"\x03" * 32]).hex() == (
        "831e18b32b5392c031f24c715086821d7532fcb6cac0bb815a1a647990cff261"
    )
    assert merkle_root([bytes([value]) * 32 for value in (0x0A, 0x0B, 0x0C, 0x0D, 0x0E)]).hex() == (
        "28ec6b9eedd774b26c9ac28e0df74d8fc8b185925ab37f71e9cfe5d3a780c6d0"
    )


def test_merkle_rollup_preimage_vector() -> None:
    root = bytes.fromhex("f818afd37a6dc3bc92fb44731011277006db4efa6e9023cd7468c02335d22a4d")
    preimage = merkle_root_preimage(100, root)
    assert len(preimage) == 62
    assert preimage.hex() == "746f6b656e2d6261792f6d65726b6c652d726f6f7400" + "0000000000000064" + root.hex()
