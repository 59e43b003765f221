"""The tracker's Ed25519 identity: the 64-byte key file (seed ‖ public key, Go layout) and TrackerID."""

from tracker.identity._key_file import (
    IDENTITY_KEY_FILE_SIZE,
    IdentityKeyError,
    TrackerIdentity,
    generate_identity,
    identity_from_seed,
    load_identity,
    write_identity,
)

__all__ = [
    "IDENTITY_KEY_FILE_SIZE",
    "IdentityKeyError",
    "TrackerIdentity",
    "generate_identity",
    "identity_from_seed",
    "load_identity",
    "write_identity",
]
