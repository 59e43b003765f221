"""Credit attestations: validation (admission.md §1.2), canonical bytes, Ed25519 sign / verify (§1.3).

Canonical bytes = deterministic proto3 serialization of `CreditAttestationBody`, exactly as the Go tracker.
"""

from __future__ import annotations

from tracker._proto.admission_pb2 import (
    CreditAttestationBody,
    FetchHeadroomRequest,
    FetchHeadroomResponse,
    SignedCreditAttestation,
)
from tracker.admission._errors import AttestationSigningError, AttestationValidationError
from tracker.identity import signing_key, verify

ID_SIZE = 32
SIGNATURE_SIZE = 64
PRIVATE_KEY_SIZE = 64
FIXED_POINT_ONE = 10000
MAX_TENURE_DAYS = 365
MIN_CUSHION_LOG2 = -8
MAX_CUSHION_LOG2 = 8
MAX_ATTESTATION_TTL_S = 604800
"""Hard-coded in the Go validator (7 days); not read from config."""


def validate_credit_attestation_body(body: CreditAttestationBody | None) -> None:
    """Raise AttestationValidationError for the first violated rule, in the Go order."""
    if body is None:
        raise AttestationValidationError("admission: nil CreditAttestationBody")
    if len(body.identity_id) != ID_SIZE:
        raise AttestationValidationError(f"admission: identity_id length {len(body.identity_id)}, want 32")
    if len(body.issuer_tracker_id) != ID_SIZE:
        raise AttestationValidationError(
            f"admission: issuer_tracker_id length {len(body.issuer_tracker_id)}, want 32"
        )
    if body.score > FIXED_POINT_ONE:
        raise AttestationValidationError(f"admission: score {body.score} exceeds max 10000")
    if body.tenure_days > MAX_TENURE_DAYS:
        raise AttestationValidationError(f"admission: tenure_days {body.tenure_days} exceeds max 365")
    if body.settlement_reliability > FIXED_POINT_ONE:
        raise AttestationValidationError(
            f"admission: settlement_reliability {body.settlement_reliability} exceeds max 10000"
        )
    if body.dispute_rate > FIXED_POINT_ONE:
        raise AttestationValidationError(f"admission: dispute_rate {body.dispute_rate} exceeds max 10000")
    if not MIN_CUSHION_LOG2 <= body.balance_cushion_log2 <= MAX_CUSHION_LOG2:
        raise AttestationValidationError(
            f"admission: balance_cushion_log2 {body.balance_cushion_log2} outside [-8, 8]"
        )
    if body.computed_at == 0:
        raise AttestationValidationError("admission: computed_at must be non-zero")
    if body.expires_at <= body.computed_at:
        raise AttestationValidationError(
            f"admission: expires_at {body.expires_at} must be after computed_at {body.computed_at}"
        )
    ttl = body.expires_at - body.computed_at
    if ttl > MAX_ATTESTATION_TTL_S:
        raise AttestationValidationError(f"admission: ttl {ttl} exceeds max {MAX_ATTESTATION_TTL_S}")


def validate_fetch_headroom_request(request: FetchHeadroomRequest | None) -> None:
    if request is None:
        raise AttestationValidationError("admission: nil FetchHeadroomRequest")
    if request.request_nonce == 0:
        raise AttestationValidationError("admission: request_nonce must be non-zero")


def validate_fetch_headroom_response(response: FetchHeadroomResponse | None) -> None:
    if response is None:
        raise AttestationValidationError("admission: nil FetchHeadroomResponse")
    if response.source not in (1, 2):
        raise AttestationValidationError(f"admission: source {response.source} is not a known TickSource")
    if response.headroom_estimate > FIXED_POINT_ONE:
        raise AttestationValidationError(
            f"admission: headroom_estimate {response.headroom_estimate} exceeds max 10000"
        )
    for index, per_model in enumerate(response.per_model):
        if not per_model.model:
            raise AttestationValidationError(f"admission: per_model[{index}] model is empty")
        if per_model.headroom_estimate > FIXED_POINT_ONE:
            raise AttestationValidationError(
                f"admission: per_model[{index}] headroom_estimate {per_model.headroom_estimate} "
                "exceeds max 10000"
            )


def canonical_body_bytes(body: CreditAttestationBody) -> bytes:
    """The signed preimage: deterministic serialization of the body."""
    return body.SerializeToString(deterministic=True)


def sign_credit_attestation(private_key: bytes, body: CreditAttestationBody | None) -> bytes:
    """Ed25519 over canonical(body) with a Go-layout 64-byte key (seed ‖ pub). Does not validate the body."""
    if body is None:
        raise AttestationSigningError("admission: cannot sign a nil attestation body")
    if len(private_key) != PRIVATE_KEY_SIZE:
        raise AttestationSigningError(f"admission: private key length {len(private_key)}, want 64")
    return signing_key(bytes(private_key[:32])).sign(canonical_body_bytes(body))


def verify_credit_attestation(public_key: bytes, signed: SignedCreditAttestation | None) -> bool:
    """True iff `signed` carries a body and a 64-byte signature valid under the 32-byte `public_key`."""
    if signed is None or not signed.HasField("body"):
        return False
    if len(public_key) != ID_SIZE or len(signed.tracker_sig) != SIGNATURE_SIZE:
        return False
    return verify(public_key, canonical_body_bytes(signed.body), signed.tracker_sig)
