"""The seeder's usage preimage, byte for byte as the Go plugin builds it (seederflow): what a seeder signs
with its identity key to report a served request, and what the ledger re-verifies. A leaf: imports nothing
from the tracker, so the ledger and the peer client share it."""

from __future__ import annotations

import struct

USAGE_PREIMAGE_PREFIX = b"token-bay/seeder-usage:v1"
_TOKENS = struct.Struct(">QQ")


def usage_preimage(request_id: bytes, model: str, input_tokens: int, output_tokens: int) -> bytes:
    """ "token-bay/seeder-usage:v1" 0x00 ‖ request_id16 ‖ 0x00 ‖ model ‖ 0x00 ‖ in u64 BE ‖ out u64 BE."""
    return (
        USAGE_PREIMAGE_PREFIX
        + b"\x00"
        + request_id
        + b"\x00"
        + model.encode("utf-8")
        + b"\x00"
        + _TOKENS.pack(input_tokens, output_tokens)
    )
