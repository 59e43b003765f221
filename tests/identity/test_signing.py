"""Ed25519 through libsodium: byte-identical to OpenSSL (`cryptography`) and to the Go golden vectors, and a
verify that answers False, never raises, for anything malformed."""

from __future__ import annotations

import hashlib
import random

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.conftest import GOLDEN_DIR
from tracker.identity import (
    SigningKey,
    SigningKeyError,
    identity_from_seed,
    sign,
    signing_key,
    verify,
)

FIXTURE_SEED = b"token-bay-fixture-seed-v1-000000"
FIXTURE_PUBLIC_KEY = "cc8394e6"  # first bytes of the documented fixture public key
# Ed25519 group order L; a signature whose S half is >= L is non-canonical and must be rejected.
GROUP_ORDER = 2**252 + 27742317777372353535851937790883648493


def _openssl_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except InvalidSignature:
        return False
    return True


def test_random_messages_sign_identically_and_cross_verify_with_openssl() -> None:
    rng = random.Random(20261129)
    for round_index in range(300):
        seed = rng.randbytes(32)
        message = rng.randbytes(rng.choice((0, 1, 31, 64, 200, 1000, rng.randrange(4096))))
        ours = SigningKey(seed)
        openssl = Ed25519PrivateKey.from_private_bytes(seed)
        openssl_public = openssl.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        assert ours.public_key == openssl_public, round_index
        signature = ours.sign(message)
        assert signature == openssl.sign(message), round_index
        assert len(signature) == 64
        assert _openssl_verify(openssl_public, message, signature)
        assert verify(ours.public_key, message, openssl.sign(message))
        tampered = bytearray(message or b"\x00")
        tampered[rng.randrange(len(tampered))] ^= 1 << rng.randrange(8)
        assert not verify(ours.public_key, bytes(tampered), signature)
        assert not _openssl_verify(openssl_public, bytes(tampered), signature)


def test_sign_accepts_a_seed_or_the_go_layout_key_and_both_match() -> None:
    key = SigningKey(FIXTURE_SEED)
    assert key.public_key.hex().startswith(FIXTURE_PUBLIC_KEY)
    assert key.key_bytes == FIXTURE_SEED + key.public_key
    assert sign(FIXTURE_SEED, b"m") == sign(key.key_bytes, b"m") == key.sign(b"m")
    assert signing_key(FIXTURE_SEED) is signing_key(FIXTURE_SEED)
    assert SigningKey.from_key_bytes(key.key_bytes).sign(b"m") == key.sign(b"m")
    assert key.sign(bytearray(b"m")) == key.sign(memoryview(b"m")) == key.sign(b"m")


def test_identity_signs_with_the_same_key() -> None:
    identity = identity_from_seed(FIXTURE_SEED)
    assert identity.public_key == SigningKey(FIXTURE_SEED).public_key
    assert verify(identity.public_key, b"hello", identity.sign(b"hello"))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"", "length 0"),
        (b"\x00" * 31, "got 31"),
        (b"\x00" * 33, "got 33"),
        ("x" * 32, "got str"),
    ],
)
def test_bad_seeds_are_refused_with_a_typed_error(key: object, message: str) -> None:
    with pytest.raises(SigningKeyError, match=message if message != "length 0" else "got 0"):
        SigningKey(key)  # type: ignore[arg-type]


def test_an_inconsistent_go_layout_key_is_refused() -> None:
    key = SigningKey(FIXTURE_SEED)
    with pytest.raises(SigningKeyError, match="public half does not match"):
        SigningKey.from_key_bytes(FIXTURE_SEED + bytes(32))
    with pytest.raises(SigningKeyError, match="64 bytes"):
        SigningKey.from_key_bytes(key.key_bytes[:63])
    with pytest.raises(SigningKeyError):
        sign(b"\x01" * 40, b"m")
    with pytest.raises(SigningKeyError, match="must be bytes, got int"):
        sign(32, b"m")  # type: ignore[arg-type]  (bytes(32) would be an all-zero seed)
    assert sign(bytearray(FIXTURE_SEED), b"m") == key.sign(b"m")


def _not_a_point() -> bytes:
    """A 32-byte encoding with no curve point: y such that (y² − 1)/(d·y² + 1) is not a square mod p."""
    prime = 2**255 - 19
    d = -121665 * pow(121666, -1, prime) % prime
    for y in range(2, 1000):
        u, v = (y * y - 1) % prime, (d * y * y + 1) % prime
        x_squared = u * pow(v, -1, prime) % prime
        if pow(x_squared, (prime - 1) // 2, prime) == prime - 1:
            return y.to_bytes(32, "little")
    raise AssertionError("no non-point found")


def _malformed_cases() -> list[tuple[str, object, object, object]]:
    key = SigningKey(FIXTURE_SEED)
    message = b"a message"
    good = key.sign(message)
    s_value = int.from_bytes(good[32:], "little")
    non_canonical = good[:32] + (s_value + GROUP_ORDER).to_bytes(32, "little")
    return [
        ("key too short", key.public_key[:31], message, good),
        ("key too long", key.public_key + b"\x00", message, good),
        ("empty key", b"", message, good),
        ("signature too short", key.public_key, message, good[:63]),
        ("signature too long", key.public_key, message, good + b"\x00"),
        ("empty signature", key.public_key, message, b""),
        ("all-zero signature", key.public_key, message, bytes(64)),
        ("all-zero key (small order)", bytes(32), message, good),
        ("identity point key", b"\x01" + bytes(31), message, good),
        ("key not on the curve", _not_a_point(), message, good),
        ("non-canonical S", key.public_key, message, non_canonical),
        ("flipped R bit", key.public_key, message, bytes([good[0] ^ 1]) + good[1:]),
        ("other key", SigningKey(bytes(32)).public_key, message, good),
        ("key is str", key.public_key.hex()[:32], message, good),
        ("key is None", None, message, good),
        ("signature is None", key.public_key, message, None),
        ("message is None", key.public_key, None, good),
        ("key is an int", 32, message, good),
        ("signature is an int", key.public_key, message, 64),
    ]


@pytest.mark.parametrize(("case", "public_key", "message", "signature"), _malformed_cases())
def test_verify_answers_false_for_malformed_input_and_never_raises(
    case: str, public_key: object, message: object, signature: object
) -> None:
    assert verify(public_key, message, signature) is False, case  # type: ignore[arg-type]


def test_verify_accepts_bytes_like_arguments() -> None:
    key = SigningKey(FIXTURE_SEED)
    signature = key.sign(b"abc")
    assert verify(bytearray(key.public_key), memoryview(b"abc"), bytearray(signature)) is True


def test_envelope_golden_signature_is_reproduced_byte_for_byte() -> None:
    """EnvelopeSigned = field 1 body (length-delimited) ‖ field 2 consumer_sig (64 bytes), signed with the
    fixture seed over the body bytes."""
    wire = bytes.fromhex((GOLDEN_DIR / "envelope_signed.golden.hex").read_text().strip())
    assert wire[0] == 0x0A
    body_length = (wire[1] & 0x7F) | (wire[2] << 7)
    body = wire[3 : 3 + body_length]
    assert wire[3 + body_length : 3 + body_length + 2] == b"\x12\x40"
    golden_signature = wire[3 + body_length + 2 :]
    assert len(golden_signature) == 64
    assert hashlib.sha256(body).hexdigest() == (
        "4edfe728237cb3ad7c9946d4d413dbb785d79c531d8457de64444b72093752c9"
    )
    key = SigningKey(FIXTURE_SEED)
    assert key.sign(body) == golden_signature
    assert b"\x0a" + wire[1:3] + body + b"\x12\x40" + key.sign(body) == wire
    assert verify(key.public_key, body, golden_signature)
    assert not verify(key.public_key, body[:-1], golden_signature)
