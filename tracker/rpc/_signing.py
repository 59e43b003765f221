"""Ed25519 verification for the RPC handlers, in one place (one line to change when the signing module
moves)."""

from __future__ import annotations

from tracker.ledger import verify_signature


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """False (never an exception) for a wrong-length key or signature, or a bad signature."""
    return verify_signature(public_key, message, signature)
