"""The generated wire types carry exactly the field numbers and types of ledger-registry.md §1.2, §1.3, §2."""

from __future__ import annotations

from google.protobuf.descriptor import FieldDescriptor

from tracker.ledger import BalanceSnapshotBody, Entry, EntryBody, SignedBalanceSnapshot, canonical_bytes

T = FieldDescriptor


def _fields(message) -> list[tuple[int, str, int]]:
    return [(field.number, field.name, field.type) for field in message.DESCRIPTOR.fields]


def test_entry_body_fields() -> None:
    assert _fields(EntryBody) == [
        (1, "prev_hash", T.TYPE_BYTES),
        (2, "seq", T.TYPE_UINT64),
        (3, "kind", T.TYPE_ENUM),
        (4, "consumer_id", T.TYPE_BYTES),
        (5, "seeder_id", T.TYPE_BYTES),
        (6, "model", T.TYPE_STRING),
        (7, "input_tokens", T.TYPE_UINT32),
        (8, "output_tokens", T.TYPE_UINT32),
        (9, "cost_credits", T.TYPE_UINT64),
        (10, "timestamp", T.TYPE_UINT64),
        (11, "request_id", T.TYPE_BYTES),
        (12, "flags", T.TYPE_UINT32),
        (13, "ref", T.TYPE_BYTES),
    ]
    assert EntryBody.DESCRIPTOR.file.package == "tokenbay.proto.v1"
    kinds = {
        value.name: value.number for value in EntryBody.DESCRIPTOR.fields_by_name["kind"].enum_type.values
    }
    assert kinds == {
        "ENTRY_KIND_UNSPECIFIED": 0,
        "ENTRY_KIND_USAGE": 1,
        "ENTRY_KIND_TRANSFER_OUT": 2,
        "ENTRY_KIND_TRANSFER_IN": 3,
        "ENTRY_KIND_STARTER_GRANT": 4,
    }


def test_entry_and_balance_messages() -> None:
    assert _fields(Entry) == [
        (1, "body", T.TYPE_MESSAGE),
        (2, "consumer_sig", T.TYPE_BYTES),
        (3, "seeder_sig", T.TYPE_BYTES),
        (4, "tracker_sig", T.TYPE_BYTES),
    ]
    assert _fields(BalanceSnapshotBody) == [
        (1, "identity_id", T.TYPE_BYTES),
        (2, "credits", T.TYPE_INT64),
        (3, "chain_tip_hash", T.TYPE_BYTES),
        (4, "chain_tip_seq", T.TYPE_UINT64),
        (5, "issued_at", T.TYPE_UINT64),
        (6, "expires_at", T.TYPE_UINT64),
    ]
    assert _fields(SignedBalanceSnapshot) == [(1, "body", T.TYPE_MESSAGE), (2, "tracker_sig", T.TYPE_BYTES)]


def test_flags_encode_as_field_12_and_zero_fields_are_omitted() -> None:
    assert canonical_bytes(EntryBody(flags=1)).hex() == "6001"
    assert canonical_bytes(EntryBody()) == b""
    assert canonical_bytes(EntryBody(ref=bytes(32))).hex() == "6a20" + "00" * 32
