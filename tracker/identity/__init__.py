"""The tracker's Ed25519 identity: the 64-byte key file (seed ‖ public key, Go layout), TrackerID, the Ed25519
sign/verify every subsystem uses (libsodium through PyNaCl), and the self-signed TLS certificate derived from
the key.

Layout: `_key_file.py` (key file, TrackerIdentity), `_signing.py` (sign/verify), `_tls.py` (certificate
and key PEM files, atomic writes).
Rules: imports nothing from other tracker packages (config, ledger and admission depend on it, not the other
way round).
"""

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
from tracker.identity._tls import self_signed_certificate, write_self_signed_cert, write_text_file

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
    "self_signed_certificate",
    "sign",
    "signing_key",
    "verify",
    "write_identity",
    "write_self_signed_cert",
    "write_text_file",
]
