"""Ed25519 signing and verification for every subsystem, through libsodium (PyNaCl).

Signatures are deterministic (RFC 8032), so they are byte-identical to those of Go's crypto/ed25519 and of
OpenSSL. `SigningKey` derives libsodium's 64-byte secret (seed ‖ public key) once, so that a signature costs
one libsodium call and the 64 bytes it returns. `verify` never raises: a key or signature of the wrong type or
length, a key that is not a curve point, a non-canonical signature or a bad one is a plain False. libsodium
keeps nothing per public key between calls, so there is no verify-key object to cache.

The libsodium functions are called through PyNaCl's cffi module (`nacl._sodium`, pinned with PyNaCl)
rather than `nacl.signing`, whose objects allocate a signed-message copy and an exception per bad
signature; the lengths libsodium reads are checked here before every call.
"""

from __future__ import annotations

from functools import lru_cache

import nacl.bindings  # noqa: F401  (importing it runs sodium_init(), which libsodium requires first)
from nacl._sodium import ffi, lib

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_BYTES_SIZE = 64
"""Go's `ed25519.PrivateKey` layout and the identity key file: seed (32) ‖ public key (32)."""

_crypto_sign = lib.crypto_sign
_crypto_sign_open = lib.crypto_sign_open
_NULL = ffi.NULL
_new = ffi.new
_buffer = ffi.buffer


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
        seed = bytes(seed)
        public = _new("unsigned char[]", PUBLIC_KEY_SIZE)
        secret = _new("unsigned char[]", KEY_BYTES_SIZE)
        if lib.crypto_sign_seed_keypair(public, secret, seed) != 0:
            raise SigningKeyError("libsodium refused to derive an Ed25519 key pair from the seed")
        self.seed: bytes = seed
        self.public_key: bytes = _buffer(public, PUBLIC_KEY_SIZE)[:]
        self._secret: bytes = _buffer(secret, KEY_BYTES_SIZE)[:]

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
        length = len(message)
        signed = _new("unsigned char[]", length + SIGNATURE_SIZE)
        _crypto_sign(signed, _NULL, message, length, self._secret)
        return _buffer(signed, SIGNATURE_SIZE)[:]

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self.public_key.hex()})"


@lru_cache(maxsize=64)
def signing_key(key: bytes) -> SigningKey:
    """The SigningKey of a 32-byte seed or a 64-byte Go-layout key, derived once per key (cached)."""
    if isinstance(key, bytes) and len(key) == SEED_SIZE:
        return SigningKey(key)
    return SigningKey.from_key_bytes(key)


def sign(key: bytes, message: bytes) -> bytes:
    """The Ed25519 signature of `message` by a 32-byte seed or a 64-byte Go-layout key (seed ‖ public key)."""
    return signing_key(bytes(key)).sign(message)


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
    signed = signature + message
    # libsodium verifies sig ‖ message in place; with NULL output it copies nothing out.
    return _crypto_sign_open(_NULL, _NULL, signed, len(signed), public_key) == 0


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
    signed = signature + bytes(message)
    return _crypto_sign_open(_NULL, _NULL, signed, len(signed), public_key) == 0
