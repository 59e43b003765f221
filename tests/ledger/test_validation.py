"""ValidateEntryBody per-kind rules and check order, the builders, and the per-kind signature matrix."""

from __future__ import annotations

import pytest

from tests.ledger.helpers import party
from tracker.ledger import (
    Entry,
    EntryBody,
    EntryValidationError,
    SignatureError,
    build_starter_grant_entry,
    build_transfer_in_entry,
    build_transfer_out_entry,
    build_usage_entry,
    canonical_bytes,
    validate_entry_body,
    verify_all,
)

Z32 = bytes(32)
Z16 = bytes(16)


def _usage(**overrides) -> EntryBody:
    fields = dict(
        prev_hash=Z32,
        seq=1,
        kind=1,
        consumer_id=b"\x11" * 32,
        seeder_id=b"\x22" * 32,
        model="m",
        request_id=b"\x33" * 16,
        ref=Z32,
    )
    fields.update(overrides)
    return EntryBody(**fields)


def _transfer_out(**overrides) -> EntryBody:
    fields = dict(
        prev_hash=Z32,
        seq=1,
        kind=2,
        consumer_id=b"\x11" * 32,
        seeder_id=Z32,
        request_id=Z16,
        ref=b"\x99" * 32,
    )
    fields.update(overrides)
    return EntryBody(**fields)


def _transfer_in(**overrides) -> EntryBody:
    fields = dict(
        prev_hash=Z32, seq=1, kind=3, consumer_id=Z32, seeder_id=Z32, request_id=Z16, ref=b"\x99" * 32
    )
    fields.update(overrides)
    return EntryBody(**fields)


def _grant(**overrides) -> EntryBody:
    fields = dict(
        prev_hash=Z32, seq=1, kind=4, consumer_id=b"\x11" * 32, seeder_id=Z32, request_id=Z16, ref=Z32
    )
    fields.update(overrides)
    return EntryBody(**fields)


def _error(body: EntryBody | None) -> str:
    with pytest.raises(EntryValidationError) as caught:
        validate_entry_body(body)
    return str(caught.value)


@pytest.mark.parametrize("make", [_usage, _transfer_out, _transfer_in, _grant])
def test_valid_bodies_of_every_kind_pass(make) -> None:
    validate_entry_body(make())


def test_zero_cost_usage_and_unconstrained_seq_and_timestamp_are_valid() -> None:
    validate_entry_body(_usage(cost_credits=0, seq=2**63 - 1, timestamp=0))


def test_common_checks_in_order() -> None:
    assert "nil" in _error(None)
    assert "prev_hash length 31, want 32" in _error(_usage(prev_hash=b"\x00" * 31, ref=b""))
    assert "ref length 0, want 32" in _error(_usage(ref=b"", flags=2))
    assert "flags = 0x2, unknown bits set" in _error(_usage(flags=2, kind=0))
    assert "kind = 0" in _error(_usage(kind=0))
    assert "kind = 9" in _error(_usage(kind=9))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_usage(consumer_id=b"\x11" * 31, seeder_id=b""), "consumer_id"),
        (_usage(seeder_id=b"\x22" * 33, model=""), "seeder_id"),
        (_usage(model="", request_id=b""), "model"),
        (_usage(model="x" * 33, request_id=b""), "model"),
        (_usage(request_id=b"\x33" * 15), "request_id"),
        (_transfer_out(consumer_id=b"", seeder_id=b"\x01" * 32), "consumer_id"),
        (_transfer_out(seeder_id=b"\x01" * 32, model="m"), "seeder_id"),
        (_transfer_out(model="m", request_id=b"\x01" * 16), "model"),
        (_transfer_out(request_id=b"\x01" * 16, input_tokens=1), "request_id"),
        (_transfer_out(output_tokens=1, flags=1), "tokens"),
        (_transfer_out(flags=1), "flags"),
        (_transfer_in(consumer_id=b"\x11" * 32, seeder_id=b"\x01" * 32), "consumer_id"),
        (_transfer_in(seeder_id=b"\x01" * 32, model="m"), "seeder_id"),
        (_transfer_in(model="m"), "model"),
        (_transfer_in(request_id=b"\x01" * 16), "request_id"),
        (_transfer_in(input_tokens=5), "tokens"),
        (_transfer_in(flags=1), "flags"),
        (_grant(consumer_id=b"\x11" * 3), "consumer_id"),
        (_grant(seeder_id=b"\x22" * 32), "seeder_id"),
        (_grant(model="m"), "model"),
        (_grant(request_id=b"\x33" * 16), "request_id"),
        (_grant(ref=b"\x44" * 32, input_tokens=1), "ref"),
        (_grant(input_tokens=1, flags=1), "tokens"),
        (_grant(flags=1), "flags"),
    ],
)
def test_per_kind_rules_name_the_first_failing_field(body: EntryBody, field: str) -> None:
    message = _error(body)
    assert field in message
    assert message.startswith("proto: ")


def test_usage_model_limit_counts_utf8_bytes() -> None:
    validate_entry_body(_usage(model="é" * 16))  # 32 bytes
    assert "model" in _error(_usage(model="é" * 16 + "x"))


def test_usage_flag_bit_zero_allowed_only_on_usage() -> None:
    validate_entry_body(_usage(flags=1))
    assert "flags" in _error(_grant(flags=1))


def test_builders_fill_zero_slots_and_validate() -> None:
    grant = build_starter_grant_entry(prev_hash=Z32, seq=1, consumer_id=b"\x11" * 32, amount=5, timestamp=7)
    assert (grant.kind, grant.seeder_id, grant.request_id, grant.ref, grant.cost_credits) == (
        4,
        Z32,
        Z16,
        Z32,
        5,
    )
    out = build_transfer_out_entry(
        prev_hash=Z32, seq=2, consumer_id=b"\x11" * 32, amount=9, timestamp=7, transfer_ref=b"\x77" * 32
    )
    assert (out.kind, out.seeder_id, out.request_id, out.ref, out.cost_credits) == (
        2,
        Z32,
        Z16,
        b"\x77" * 32,
        9,
    )
    transfer_in = build_transfer_in_entry(
        prev_hash=Z32, seq=3, amount=4, timestamp=7, transfer_ref=b"\x78" * 32
    )
    assert (transfer_in.kind, transfer_in.consumer_id, transfer_in.seeder_id) == (3, Z32, Z32)
    usage = build_usage_entry(
        prev_hash=Z32,
        seq=4,
        consumer_id=b"\x11" * 32,
        seeder_id=b"\x22" * 32,
        model="m",
        input_tokens=1,
        output_tokens=2,
        cost_credits=3,
        timestamp=7,
        request_id=b"\x33" * 16,
        consumer_sig_missing=True,
    )
    assert (usage.kind, usage.flags, usage.ref) == (1, 1, Z32)


def _usage_kwargs(**overrides):
    fields = dict(
        prev_hash=Z32,
        seq=1,
        consumer_id=b"\x11" * 32,
        seeder_id=b"\x22" * 32,
        model="m",
        input_tokens=0,
        output_tokens=0,
        cost_credits=0,
        timestamp=0,
        request_id=b"\x33" * 16,
        consumer_sig_missing=False,
    )
    fields.update(overrides)
    return fields


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"model": ""}, "BuildUsageEntry: model is empty"),
        ({"model": b"\xff\xfe"}, "model is not valid UTF-8"),
        ({"model": "\ud800"}, "model is not valid UTF-8"),
        ({"request_id": b"\x33"}, "BuildUsageEntry: proto: request_id"),
        ({"seq": 2**63}, "seq"),
        ({"timestamp": -1}, "timestamp"),
        ({"input_tokens": 2**32}, "input_tokens"),
        ({"cost_credits": 2**63}, "cost_credits"),
    ],
)
def test_usage_builder_rejects_bad_input(overrides, fragment: str) -> None:
    with pytest.raises(EntryValidationError, match=fragment):
        build_usage_entry(**_usage_kwargs(**overrides))


def test_transfer_builders_reject_bad_ref_and_ids() -> None:
    with pytest.raises(EntryValidationError, match="BuildTransferOutEntry: proto: ref length 31"):
        build_transfer_out_entry(
            prev_hash=Z32, seq=1, consumer_id=b"\x11" * 32, amount=1, timestamp=0, transfer_ref=b"\x01" * 31
        )
    with pytest.raises(EntryValidationError, match="BuildStarterGrantEntry: proto: consumer_id"):
        build_starter_grant_entry(prev_hash=Z32, seq=1, consumer_id=b"\x11", amount=1, timestamp=0)


# ---- signature matrix -------------------------------------------------------------------------------------

CONSUMER = party("consumer")
SEEDER = party("seeder")
TRACKER = party("tracker")
ATTACKER = party("attacker")


def _signed(body: EntryBody, *, consumer: bool, seeder: bool, tracker: bool = True, signer=None) -> Entry:
    canonical = canonical_bytes(body)
    entry = Entry(
        consumer_sig=(signer or CONSUMER).sign(canonical) if consumer else b"",
        seeder_sig=(signer or SEEDER).sign(canonical) if seeder else b"",
        tracker_sig=TRACKER.sign(canonical) if tracker else b"",
    )
    entry.body.CopyFrom(body)
    return entry


def _verify(
    entry: Entry,
    *,
    consumer_pub=CONSUMER.public_key,
    seeder_pub=SEEDER.public_key,
    tracker_pub=TRACKER.public_key,
) -> None:
    verify_all(
        entry, consumer_public_key=consumer_pub, seeder_public_key=seeder_pub, tracker_public_key=tracker_pub
    )


@pytest.mark.parametrize(
    ("entry", "ok"),
    [
        (_signed(_usage(), consumer=True, seeder=True), True),
        (_signed(_usage(flags=1), consumer=False, seeder=True), True),
        (_signed(_transfer_out(), consumer=True, seeder=False), True),
        (_signed(_transfer_in(), consumer=False, seeder=False), True),
        (_signed(_grant(), consumer=False, seeder=False), True),
    ],
)
def test_signature_matrix_accepts_the_required_signatures(entry: Entry, ok: bool) -> None:
    _verify(entry)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        (_signed(_grant(), consumer=False, seeder=False, tracker=False), "tracker_sig is required"),
        (_signed(_usage(), consumer=True, seeder=False), "usage seeder_sig is required"),
        (
            _signed(_usage(), consumer=False, seeder=True),
            "consumer_sig required (or set consumer_sig_missing flag)",
        ),
        (
            _signed(_usage(flags=1), consumer=True, seeder=True),
            "consumer_sig must be empty when consumer_sig_missing",
        ),
        (_signed(_usage(), consumer=True, seeder=True, signer=ATTACKER), "seeder_sig invalid"),
        (_signed(_transfer_out(), consumer=False, seeder=False), "transfer_out consumer_sig required"),
        (_signed(_transfer_out(), consumer=True, seeder=True), "transfer_out seeder_sig must be empty"),
        (
            _signed(_transfer_out(flags=1), consumer=True, seeder=False),
            "transfer_out cannot set consumer_sig_missing",
        ),
        (_signed(_transfer_in(), consumer=True, seeder=False), "consumer_sig must be empty for this kind"),
        (_signed(_transfer_in(), consumer=False, seeder=True), "seeder_sig must be empty for this kind"),
        (_signed(_grant(), consumer=True, seeder=False), "consumer_sig must be empty for this kind"),
        (_signed(_grant(), consumer=False, seeder=True), "seeder_sig must be empty for this kind"),
    ],
)
def test_signature_matrix_rejects_missing_stray_and_invalid_signatures(entry: Entry, fragment: str) -> None:
    with pytest.raises(SignatureError) as caught:
        _verify(entry)
    assert fragment in str(caught.value)


def test_signature_matrix_checks_keys() -> None:
    entry = _signed(_usage(), consumer=True, seeder=True)
    with pytest.raises(SignatureError, match="tracker pubkey missing"):
        _verify(entry, tracker_pub=b"")
    with pytest.raises(SignatureError, match="tracker_sig invalid"):
        _verify(entry, tracker_pub=ATTACKER.public_key)
    with pytest.raises(SignatureError, match="seeder pubkey missing"):
        _verify(entry, seeder_pub=b"\x01")
    with pytest.raises(SignatureError, match="consumer pubkey missing"):
        _verify(entry, consumer_pub=b"")
    with pytest.raises(SignatureError, match="consumer_sig invalid"):
        _verify(entry, consumer_pub=ATTACKER.public_key)


def test_a_signature_over_a_changed_body_does_not_verify() -> None:
    entry = _signed(_grant(), consumer=False, seeder=False)
    entry.body.cost_credits = 1
    with pytest.raises(SignatureError, match="tracker_sig invalid"):
        _verify(entry)
