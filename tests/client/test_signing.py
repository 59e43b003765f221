"""The peer's signed preimages: byte layout and signatures."""

from __future__ import annotations

from tests.rpc.test_golden_rpc import FIXTURE_SEED, _fixture_envelope_body, _golden
from tracker.client import enroll_preimage, signed_envelope, signed_usage_report, usage_preimage
from tracker.identity import identity_from_seed
from tracker.ledger import verify_signature
from tracker.rpc import raw_pub_id


def test_usage_preimage_layout() -> None:
    preimage = usage_preimage(b"\x33" * 16, "claude-sonnet-4-6", 4096, 1024)
    assert preimage == (
        b"token-bay/seeder-usage:v1\x00"
        + b"\x33" * 16
        + b"\x00claude-sonnet-4-6\x00"
        + (4096).to_bytes(8, "big")
        + (1024).to_bytes(8, "big")
    )


def test_enroll_preimage_is_99_bytes() -> None:
    assert len(enroll_preimage(b"\x01" * 16, b"\x02" * 32, b"\x03" * 32)) == 99


def test_signed_usage_report_verifies_with_the_identity_key() -> None:
    identity = identity_from_seed(FIXTURE_SEED)
    report = signed_usage_report(identity, b"\x44" * 16, "m", 10, 20)
    preimage = usage_preimage(report.request_id, report.model, report.input_tokens, report.output_tokens)
    assert verify_signature(identity.public_key, preimage, report.seeder_sig)


def test_signed_envelope_reproduces_the_golden_vector() -> None:
    signed = signed_envelope(identity_from_seed(FIXTURE_SEED), _fixture_envelope_body())
    assert signed.SerializeToString(deterministic=True) == _golden("envelope_signed.golden.hex")


def test_signed_envelope_fills_in_the_raw_pub_id() -> None:
    identity = identity_from_seed(FIXTURE_SEED)
    body = _fixture_envelope_body()
    body.consumer_id = b""
    signed = signed_envelope(identity, body)
    assert signed.body.consumer_id == raw_pub_id(identity.public_key)
    assert verify_signature(
        identity.public_key, signed.body.SerializeToString(deterministic=True), signed.consumer_sig
    )
