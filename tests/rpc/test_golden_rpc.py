"""RPC shells, the signed envelope and the digest §1.4 frames rebuilt byte for byte from the Go vectors."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tests.conftest import GOLDEN_DIR
from tracker._proto.balance_pb2 import BalanceSnapshotBody, SignedBalanceSnapshot
from tracker._proto.envelope_pb2 import (
    EnvelopeBody,
    EnvelopeSigned,
    ExhaustionProofV1,
    PrivacyTier,
    StopFailure,
    UsageProbe,
)
from tracker._proto.rpc_pb2 import HeartbeatPing, HeartbeatPong, RpcRequest, RpcResponse
from tracker.rpc import RpcMethod, RpcStatus, encode_message, raw_pub_id, spki_id_of_public_key
from tracker.rpc._wire import error_response, ok_response

FIXTURE_SEED = b"token-bay-fixture-seed-v1-000000"
FIXTURE_PUB = "cc8394e64b70c6f9acdfe6a5d66a84b6d355b356e2dc98a6d0362ae2c4cac7b3"


def _golden(name: str) -> bytes:
    return bytes.fromhex((GOLDEN_DIR / name).read_text().strip())


def _fixture_envelope_body() -> EnvelopeBody:
    return EnvelopeBody(
        protocol_version=1,
        consumer_id=b"\x11" * 32,
        model="claude-sonnet-4-6",
        max_input_tokens=4096,
        max_output_tokens=1024,
        tier=PrivacyTier.PRIVACY_TIER_STANDARD,
        body_hash=b"\x22" * 32,
        exhaustion_proof=ExhaustionProofV1(
            stop_failure=StopFailure(
                matcher="rate_limit", at=1714000000, error_shape=b'{"type":"rate_limit_error"}'
            ),
            usage_probe=UsageProbe(at=1714000010, output=b"limit hit"),
            captured_at=1714000020,
            nonce=b"proof-nonce-1234",
        ),
        balance_proof=SignedBalanceSnapshot(
            body=BalanceSnapshotBody(
                identity_id=b"\x33" * 32,
                credits=9999,
                chain_tip_hash=b"\x44" * 32,
                chain_tip_seq=100,
                issued_at=1714000000,
                expires_at=1714000600,
            ),
            tracker_sig=b"\x55" * 64,
        ),
        captured_at=1714000025,
        nonce=b"envelope-nonce12",
    )


def test_rpc_request_shell_matches_go() -> None:
    request = RpcRequest(method=RpcMethod.BROKER_REQUEST, payload=b"fixture")
    assert request.SerializeToString(deterministic=True) == _golden("rpc_request_broker.golden.hex")


def test_rpc_response_shell_matches_go() -> None:
    response = ok_response(b"ok-payload")
    assert response.SerializeToString(deterministic=True) == _golden("rpc_response_broker_ok.golden.hex")
    decoded = RpcResponse.FromString(_golden("rpc_response_broker_ok.golden.hex"))
    assert decoded.status == RpcStatus.OK and decoded.payload == b"ok-payload"


def test_signed_envelope_matches_go_and_verifies() -> None:
    key = Ed25519PrivateKey.from_private_bytes(FIXTURE_SEED)
    body = _fixture_envelope_body()
    body_bytes = body.SerializeToString(deterministic=True)
    signed = EnvelopeSigned(body=body, consumer_sig=key.sign(body_bytes))
    golden = _golden("envelope_signed.golden.hex")
    assert signed.SerializeToString(deterministic=True) == golden
    assert hashlib.sha256(body_bytes).hexdigest() == (
        "4edfe728237cb3ad7c9946d4d413dbb785d79c531d8457de64444b72093752c9"
    )
    decoded = EnvelopeSigned.FromString(golden)
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(FIXTURE_PUB)).verify(
        decoded.consumer_sig, decoded.body.SerializeToString(deterministic=True)
    )


def test_framed_request_and_heartbeat_frames_match_digest() -> None:
    request = RpcRequest(method=RpcMethod.BROKER_REQUEST, payload=b"fixture")
    assert encode_message(request).hex() == "0000000b0802120766697874757265"
    assert encode_message(HeartbeatPing(seq=1, t=1714000000000)).hex() == "0000000908011080e8f192f131"
    assert encode_message(HeartbeatPong(seq=1)).hex() == "000000020801"


def test_method_zero_error_frame_matches_digest() -> None:
    response = error_response(
        RpcStatus.INVALID, "METHOD_ZERO_RESERVED", "method 0 reserved for heartbeat channel"
    )
    assert encode_message(response).hex() == (
        "0000004308021a3f0a144d4554484f445f5a45524f5f524553455256454412276d6574686f64203020726573657276656420"
        "666f7220686561727462656174206368616e6e656c"
    )


def test_fixture_identity_ids() -> None:
    public_key = bytes.fromhex(FIXTURE_PUB)
    assert spki_id_of_public_key(public_key).hex() == (
        "e4f2afb296c94b86828983f95e8ca0f796afbf97ecb3a741c223c2572437429d"
    )
    raw = raw_pub_id(public_key).hex()
    assert raw.startswith("e3e056cb") and raw.endswith("c55980")
