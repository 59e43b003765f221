"""Hourly Merkle root computation and its 62-byte signed preimage (Go ledger rollup, §5.12)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

MERKLE_ROOT_DOMAIN = b"token-bay/merkle-root\x00"
SECONDS_PER_HOUR = 3600


def merkle_root(leaves: Sequence[bytes]) -> bytes | None:
    """Root over `leaves` in the given order: None for no leaves, the leaf itself for one; otherwise pairwise
    SHA-256(left ‖ right), duplicating the last node of every odd-sized level. No domain prefixes."""
    if not leaves:
        return None
    level = list(leaves)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level), 2)]
    return level[0]


def merkle_root_preimage(hour: int, root: bytes) -> bytes:
    """The bytes the tracker signs for an hourly root: domain ‖ NUL ‖ hour (uint64 big-endian) ‖ root."""
    return MERKLE_ROOT_DOMAIN + hour.to_bytes(8, "big") + root
