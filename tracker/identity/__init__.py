"""The tracker's Ed25519 identity: the 64-byte key file (seed ‖ public key, Go layout) and TrackerID, and the
Ed25519 sign/verify every subsystem uses (libsodium through PyNaCl). Imports nothing from other tracker
packages."""

from tracker.identity._key_file import (
    IDENTITY_KEY_FILE_SIZE,
    IdentityKeyError,
    TrackerIdentity,
    generate_identity,
    identity_from_seed,
    load_identity,
    write_identity,
)
from tracker.identity._signing import (
    PUBLIC_KEY_SIZE,
    SIGNATURE_SIZE,
    SigningKey,
    SigningKeyError,
    sign,
    signing_key,
    verify,
)

__all__ = [
    "IDENTITY_KEY_FILE_SIZE",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "IdentityKeyError",
    "SigningKey",
    "SigningKeyError",
    "TrackerIdentity",
    "generate_identity",
    "identity_from_seed",
    "load_identity",
    "sign",
    "signing_key",
    "verify",
    "write_identity",
]
