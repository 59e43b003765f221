"""Ed25519 signing and verification for every subsystem, through libsodium (PyNaCl).

Signatures are deterministic (RFC 8032), so they are byte-identical to those of Go's crypto/ed25519 and of
OpenSSL. `SigningKey` derives libsodium's 64-byte secret (seed ‖ public key) once, so that a signature costs
one libsodium call and the 64 bytes it returns. `verify` never raises: a key or signature of the wrong type or
length, a key that is not a curve point, a non-canonical signature or a bad one is a plain False. libsodium
keeps nothing per public key between calls, so there is no verify-key object to cache.

PyNaCl's low-level `nacl.bindings` functions are used rather than the `nacl.signing` objects (one wrapper
object less per call). They pass pointers straight to libsodium, so the lengths it reads are checked here
before every call.
"""

from __future__ import annotations

from functools import lru_cache

from nacl.bindings import crypto_sign, crypto_sign_open, crypto_sign_seed_keypair
from nacl.exceptions import BadSignatureError

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_BYTES_SIZE = 64
"""Go's `ed25519.PrivateKey` layout and the identity key file: seed (32) ‖ public key (32)."""


class SigningKeyError(ValueError):
    """A seed or Go-layout key that is not a usable Ed25519 private key (wrong length or type, or a public
    half that does not match the seed)."""


class SigningKey:
    """An Ed25519 private key ready to sign. Immutable and safe to share between threads."""

    __slots__ = ("_secret", "public_key", "seed")

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, bytes | bytearray | memoryview) or len(seed) != SEED_SIZE:
            size = len(seed) if isinstance(seed, bytes | bytearray | memoryview) else type(seed).__name__
            raise SigningKeyError(f"Ed25519 seed must be {SEED_SIZE} bytes, got {size}")
        self.seed: bytes = bytes(seed)
        public_key, secret = crypto_sign_seed_keypair(self.seed)
        self.public_key: bytes = public_key
        self._secret: bytes = secret  # libsodium's secret key: seed ‖ public key

    @classmethod
    def from_key_bytes(cls, key_bytes: bytes) -> SigningKey:
        """From the 64-byte Go layout (seed ‖ public key); raises SigningKeyError when the public half does
        not match the seed."""
        if not isinstance(key_bytes, bytes | bytearray | memoryview) or len(key_bytes) != KEY_BYTES_SIZE:
            size = len(key_bytes) if isinstance(key_bytes, bytes | bytearray | memoryview) else "not bytes"
            raise SigningKeyError(
                f"Ed25519 key must be {KEY_BYTES_SIZE} bytes (seed ‖ public key), got {size}"
            )
        key = cls(bytes(key_bytes[:SEED_SIZE]))
        if key.public_key != bytes(key_bytes[SEED_SIZE:]):
            raise SigningKeyError("Ed25519 key is inconsistent: its public half does not match its seed")
        return key

    @property
    def key_bytes(self) -> bytes:
        """The 64-byte Go layout: seed ‖ public key."""
        return self._secret

    def sign(self, message: bytes) -> bytes:
        """The 64-byte Ed25519 signature of `message` (bytes-like)."""
        if type(message) is not bytes:
            message = bytes(message)
        return crypto_sign(message, self._secret)[:SIGNATURE_SIZE]

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self.public_key.hex()})"


@lru_cache(maxsize=64)
def signing_key(key: bytes) -> SigningKey:
    """The SigningKey of a 32-byte seed or a 64-byte Go-layout key, derived once per key (cached)."""
    if isinstance(key, bytes) and len(key) == SEED_SIZE:
        return SigningKey(key)
    return SigningKey.from_key_bytes(key)


def sign(key: bytes, message: bytes) -> bytes:
    """The Ed25519 signature of `message` by a 32-byte seed or a 64-byte Go-layout key (seed ‖ public key).
    Raises SigningKeyError for anything else."""
    if type(key) is not bytes:
        if not isinstance(key, bytearray | memoryview):
            raise SigningKeyError(f"Ed25519 key must be bytes, got {type(key).__name__}")
        key = bytes(key)
    return signing_key(key).sign(message)


def verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff `signature` is a valid Ed25519 signature of `message` under the raw 32-byte `public_key`.
    Never raises: wrong types or lengths, keys that are not curve points and bad signatures give False."""
    if (
        type(public_key) is not bytes
        or type(signature) is not bytes
        or type(message) is not bytes
        or len(public_key) != PUBLIC_KEY_SIZE
        or len(signature) != SIGNATURE_SIZE
    ):
        return _verify_coerced(public_key, message, signature)
    try:
        crypto_sign_open(signature + message, public_key)
    except BadSignatureError:
        return False
    return True


_BYTES_LIKE = (bytes, bytearray, memoryview)


def _verify_coerced(public_key: object, message: object, signature: object) -> bool:
    """Slow path of `verify`: bytes-like arguments that are not `bytes`, and everything it rejects."""
    if not (
        isinstance(public_key, _BYTES_LIKE)
        and isinstance(message, _BYTES_LIKE)
        and isinstance(signature, _BYTES_LIKE)
    ):
        return False
    public_key, signature = bytes(public_key), bytes(signature)
    if len(public_key) != PUBLIC_KEY_SIZE or len(signature) != SIGNATURE_SIZE:
        return False
    return verify(public_key, bytes(message), signature)
