"""The self-signed TLS certificate derived from the identity key (the Go tracker's layout: CN
token-bay-tracker, serial 1, valid from the Unix epoch to 9999-12-31 23:59:59 UTC, Ed25519)."""

from __future__ import annotations

import datetime
import os

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from tracker.identity._key_file import TrackerIdentity

CERT_COMMON_NAME = "token-bay-tracker"
_NOT_BEFORE = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)


def self_signed_certificate(identity: TrackerIdentity) -> x509.Certificate:
    """The tracker's certificate: subject = issuer = CN token-bay-tracker, signed by the identity key."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CERT_COMMON_NAME)])
    private_key = _x509_private_key(identity)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(1)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .sign(private_key, algorithm=None)
    )


def _x509_private_key(identity: TrackerIdentity) -> Ed25519PrivateKey:
    """The identity key as the `cryptography` object X.509 building needs (signing elsewhere is libsodium)."""
    return Ed25519PrivateKey.from_private_bytes(identity.seed)


def _write_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Write `data` to `path` with `mode` through a fsynced temporary file and an atomic rename."""
    temporary = f"{os.fspath(path)}.tmp"
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(descriptor, mode)
        os.write(descriptor, data)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)


def write_self_signed_cert(
    identity: TrackerIdentity, cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]
) -> x509.Certificate:
    """Write the certificate (PEM, 0644) and the identity's private key (PKCS#8 PEM, 0600); replaces
    existing files. Returns the certificate."""
    certificate = self_signed_certificate(identity)
    key_pem = _x509_private_key(identity).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _write_file(key_path, key_pem, 0o600)
    _write_file(cert_path, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return certificate


def write_text_file(path: str | os.PathLike[str], text: str, mode: int = 0o644) -> None:
    """Atomically write a UTF-8 text file (fsynced temporary + rename)."""
    _write_file(path, text.encode("utf-8"), mode)
