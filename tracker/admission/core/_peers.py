"""Which trackers' attestations admission trusts: the peer set (who may issue) and the operator blocklist."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from tracker.admission._errors import BlocklistEntryError

_ID_SIZE = 32


class PeerSet(Protocol):
    """Answers whether an issuer (a tracker's raw Ed25519 public key) is a known federation peer."""

    def contains(self, issuer_id: bytes) -> bool: ...


class StaticPeerSet:
    """A fixed set of peer ids. The default (empty) set trusts no issuer, like the Go default."""

    def __init__(self, peer_ids: Iterable[bytes] = ()) -> None:
        self._peers = {bytes(peer) for peer in peer_ids}

    def contains(self, issuer_id: bytes) -> bool:
        return issuer_id in self._peers

    def add(self, peer_id: bytes) -> None:
        self._peers.add(bytes(peer_id))

    def remove(self, peer_id: bytes) -> None:
        self._peers.discard(bytes(peer_id))


class AllowAllPeerSet:
    """Trusts every issuer (tests and single-operator deployments); the blocklist still applies."""

    def contains(self, issuer_id: bytes) -> bool:
        return True


def parse_peer_id(text: str) -> bytes:
    """Hex (either case) of a 32-byte id → bytes. Raises ValueError with an operator-readable message."""
    try:
        raw = bytes.fromhex(text.strip())
    except ValueError:
        raise ValueError(f"peer id {text!r} is not hex") from None
    if len(raw) != _ID_SIZE:
        raise ValueError(f"peer id {text!r} is {len(raw)} bytes, want 32 (64 hex characters)")
    return raw


def parse_blocklist(entries: Iterable[str] | None) -> set[bytes]:
    """The `attestation_peer_blocklist` config list → a set of peer ids. Raises BlocklistEntryError."""
    blocked: set[bytes] = set()
    for index, entry in enumerate(entries or ()):
        try:
            blocked.add(parse_peer_id(entry))
        except ValueError as error:
            raise BlocklistEntryError(f"admission.attestation_peer_blocklist[{index}]: {error}") from None
    return blocked
