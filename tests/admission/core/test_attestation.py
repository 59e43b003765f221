"""Credit attestation wire bytes, validation (admission.md §1.2) and sign / verify (§1.3)."""

from __future__ import annotations

import pytest

from tests.conftest import GOLDEN_DIR
from tracker._proto.admission_pb2 import (
    CreditAttestationBody,
    FetchHeadroomRequest,
    FetchHeadroomResponse,
    PerModelHeadroom,
    SignedCreditAttestation,
    TickSource,
)
from tracker.admission._errors import AttestationSigningError, AttestationValidationError
from tracker.admission.core._attestation import (
    canonical_body_bytes,
    sign_credit_attestation,
    validate_credit_attestation_body,
    validate_fetch_headroom_request,
    validate_fetch_headroom_response,
    verify_credit_attestation,
)
from tracker.identity import identity_from_seed

FIXTURE = identity_from_seed(b"token-bay-fixture-seed-v1-000000")


def golden_body() -> CreditAttestationBody:
    return CreditAttestationBody(
        identity_id=b"\x11" * 32,
        issuer_tracker_id=b"\x22" * 32,
        score=8500,
        tenure_days=120,
        settlement_reliability=9700,
        dispute_rate=50,
        net_credit_flow_30d=250000,
        balance_cushion_log2=3,
        computed_at=1714000000,
        expires_at=1714086400,
    )


def test_golden_credit_attestation_is_reproduced_byte_for_byte() -> None:
    assert FIXTURE.public_key.hex() == "cc8394e64b70c6f9acdfe6a5d66a84b6d355b356e2dc98a6d0362ae2c4cac7b3"
    body = golden_body()
    signed = SignedCreditAttestation(body=body, tracker_sig=sign_credit_attestation(FIXTURE.key_bytes, body))
    golden = (GOLDEN_DIR / "credit_attestation.golden.hex").read_text().strip()
    assert signed.SerializeToString(deterministic=True).hex() == golden
    assert len(canonical_body_bytes(body)) == 96
    parsed = SignedCreditAttestation.FromString(bytes.fromhex(golden))
    assert verify_credit_attestation(FIXTURE.public_key, parsed)


def test_negative_fields_use_ten_byte_varints() -> None:
    body = golden_body()
    body.net_credit_flow_30d = -1
    body.balance_cushion_log2 = -1
    encoded = canonical_body_bytes(body)
    assert bytes.fromhex("38ffffffffffffffffff01") in encoded
    assert bytes.fromhex("40ffffffffffffffffff01") in encoded


@pytest.mark.parametrize(
    ("change", "word"),
    [
        ({"identity_id": b"\x01" * 3}, "identity_id"),
        ({"identity_id": b"\x01" * 33}, "identity_id"),
        ({"identity_id": b""}, "identity_id"),
        ({"issuer_tracker_id": b"\x01" * 31}, "issuer_tracker_id"),
        ({"score": 10001}, "score"),
        ({"tenure_days": 366}, "tenure_days"),
        ({"settlement_reliability": 10001}, "settlement_reliability"),
        ({"dispute_rate": 10001}, "dispute_rate"),
        ({"balance_cushion_log2": -9}, "balance_cushion_log2"),
        ({"balance_cushion_log2": 9}, "balance_cushion_log2"),
        ({"computed_at": 0}, "computed_at"),
        ({"expires_at": 1714000000}, "expires_at"),
        ({"expires_at": 1714000000 + 604801}, "ttl"),
    ],
)
def test_validation_rejects_each_rule(change: dict[str, object], word: str) -> None:
    body = golden_body()
    for name, value in change.items():
        setattr(body, name, value)
    with pytest.raises(AttestationValidationError, match=word) as raised:
        validate_credit_attestation_body(body)
    assert str(raised.value).startswith("admission: ")


def test_validation_order_reports_the_first_violation() -> None:
    body = golden_body()
    body.identity_id = b"x"
    body.score = 99999
    with pytest.raises(AttestationValidationError, match="identity_id length 1, want 32"):
        validate_credit_attestation_body(body)
    with pytest.raises(AttestationValidationError, match="nil"):
        validate_credit_attestation_body(None)


def test_validation_boundaries_pass() -> None:
    for cushion in (-8, 8):
        body = golden_body()
        body.score, body.tenure_days, body.balance_cushion_log2 = 10000, 365, cushion
        body.expires_at = body.computed_at + 604800
        validate_credit_attestation_body(body)


def test_verify_negative_cases_return_false() -> None:
    body = golden_body()
    signature = sign_credit_attestation(FIXTURE.key_bytes, body)
    signed = SignedCreditAttestation(body=body, tracker_sig=signature)
    assert verify_credit_attestation(FIXTURE.public_key, signed)
    tampered = SignedCreditAttestation()
    tampered.CopyFrom(signed)
    tampered.body.score = 9999
    assert not verify_credit_attestation(FIXTURE.public_key, tampered)
    bad_sig = SignedCreditAttestation(body=body, tracker_sig=bytes([signature[0] ^ 0xFF]) + signature[1:])
    assert not verify_credit_attestation(FIXTURE.public_key, bad_sig)
    other = identity_from_seed(b"o" * 32)
    assert not verify_credit_attestation(other.public_key, signed)
    assert not verify_credit_attestation(FIXTURE.public_key, None)
    assert not verify_credit_attestation(FIXTURE.public_key, SignedCreditAttestation(tracker_sig=signature))
    assert not verify_credit_attestation(
        FIXTURE.public_key, SignedCreditAttestation(body=body, tracker_sig=b"abc")
    )
    assert not verify_credit_attestation(b"short", signed)


def test_sign_rejects_missing_body_and_short_key() -> None:
    with pytest.raises(AttestationSigningError):
        sign_credit_attestation(FIXTURE.key_bytes, None)
    with pytest.raises(AttestationSigningError, match="64"):
        sign_credit_attestation(b"k" * 16, golden_body())


def test_messages_round_trip_byte_stable() -> None:
    response = FetchHeadroomResponse(
        request_nonce=7,
        headroom_estimate=10000,
        source=TickSource.TICK_SOURCE_USAGE_PROBE,
        probe_age_s=3,
        can_probe_usage=True,
        per_model=[PerModelHeadroom(model="m", headroom_estimate=5)],
    )
    for message in (golden_body(), FetchHeadroomRequest(request_nonce=1, model_filter="x"), response):
        wire = message.SerializeToString(deterministic=True)
        assert type(message).FromString(wire).SerializeToString(deterministic=True) == wire


def test_fetch_headroom_validation() -> None:
    validate_fetch_headroom_request(FetchHeadroomRequest(request_nonce=1))
    with pytest.raises(AttestationValidationError, match="request_nonce"):
        validate_fetch_headroom_request(FetchHeadroomRequest())
    good = FetchHeadroomResponse(source=1, headroom_estimate=10000)
    validate_fetch_headroom_response(good)
    for source in (0, 99):
        with pytest.raises(AttestationValidationError, match="source"):
            validate_fetch_headroom_response(FetchHeadroomResponse(source=source))
    with pytest.raises(AttestationValidationError, match="headroom_estimate"):
        validate_fetch_headroom_response(FetchHeadroomResponse(source=1, headroom_estimate=10001))
    with pytest.raises(AttestationValidationError, match=r"per_model\[0\] model is empty"):
        validate_fetch_headroom_response(FetchHeadroomResponse(source=1, per_model=[PerModelHeadroom()]))
    with pytest.raises(AttestationValidationError, match=r"per_model\[0\] headroom_estimate"):
        validate_fetch_headroom_response(
            FetchHeadroomResponse(source=1, per_model=[PerModelHeadroom(model="m", headroom_estimate=10001)])
        )
