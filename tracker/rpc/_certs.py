"""Certificates and peer identity of the plugin RPC (rpc-broker §1.2): the tracker's certificate from its
identity key, self-signed peer certificates, SPKI ids and pins, and the post-handshake identity checks.

Identity ids: the canonical id of a peer is SHA-256 of its certificate's SubjectPublicKeyInfo DER (for
Ed25519: `302a300506032b6570032100 ‖ pub`); the Go plugin also uses SHA-256 of the raw public key.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tracker.identity import TrackerIdentity, self_signed_certificate

PEER_COMMON_NAME = "token-bay-identity"
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
_NOT_BEFORE = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_NOT_AFTER = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


class PeerCertificateError(Exception):
    """The peer's certificate failed a post-handshake check; `reason` is the close reason (rpc-broker §1.2):
    "missing peer cert", "bad SPKI" or "non-ed25519 peer pubkey"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PeerKey:
    """A checked peer public key: the raw Ed25519 key and both ids."""

    public_key: bytes
    canonical_id: bytes  # SHA-256(SPKI DER)
    raw_pub_id: bytes  # SHA-256(raw public key)


def spki_id_of_public_key(public_key: bytes) -> bytes:
    """SHA-256 of the Ed25519 SubjectPublicKeyInfo DER of a raw 32-byte key (the canonical peer id)."""
    return hashlib.sha256(ED25519_SPKI_PREFIX + public_key).digest()


def raw_pub_id(public_key: bytes) -> bytes:
    return hashlib.sha256(public_key).digest()


def certificate_pin(certificate: x509.Certificate) -> bytes:
    """SHA-256 of the certificate's SPKI DER: the pin a plugin configures for a tracker."""
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()


def x509_private_key(identity: TrackerIdentity) -> Ed25519PrivateKey:
    """The identity key as the `cryptography` object TLS and X.509 need (signing elsewhere goes through
    tracker.identity)."""
    return Ed25519PrivateKey.from_private_bytes(identity.seed)


def tracker_certificate(identity: TrackerIdentity) -> x509.Certificate:
    """The tracker's certificate, built from its identity key at start-up (stable SPKI, hence stable pin)."""
    return self_signed_certificate(identity)


def peer_certificate(private_key: CertificateIssuerPrivateKeyTypes) -> x509.Certificate:
    """A plugin-style self-signed certificate (CN token-bay-identity, client and server auth). Peers use
    Ed25519 keys; other key types are accepted so tests can present what the tracker must refuse."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, PEER_COMMON_NAME)])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(1)
        .not_valid_before(_NOT_BEFORE)
        .not_valid_after(_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
        .sign(private_key, algorithm=None if isinstance(private_key, Ed25519PrivateKey) else hashes.SHA256())
    )


def check_peer_certificates(certificates: list[x509.Certificate]) -> PeerKey:
    """The post-handshake checks, in the Go order. Raises PeerCertificateError with the close reason."""
    if len(certificates) != 1:
        raise PeerCertificateError("missing peer cert")
    try:
        public_key = certificates[0].public_key()
        spki = public_key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, TypeError):
        raise PeerCertificateError("bad SPKI") from None
    if not spki:
        raise PeerCertificateError("bad SPKI")
    if not isinstance(public_key, Ed25519PublicKey):
        raise PeerCertificateError("non-ed25519 peer pubkey")
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PeerKey(public_key=raw, canonical_id=hashlib.sha256(spki).digest(), raw_pub_id=raw_pub_id(raw))
