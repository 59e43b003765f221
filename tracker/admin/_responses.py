"""JSON responses of the admin API (Go-compatible encoding from tracker/_go.py), error bodies, hex ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Response, request

from tracker._go import go_json, rfc3339_seconds

JSON_CONTENT_TYPE = "application/json"
BODY_CONSUMED = "admin_request_body_consumed"
"""Key in `quart.g` set by a handler once it has read the whole request body."""


def request_has_body() -> bool:
    """True when the current request announces a body (a non-zero Content-Length, or chunked)."""
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def encode_json(value: object) -> str:
    """Encode like Go's json.Encoder: compact, sorted object keys, HTML-escaped, trailing newline."""
    return go_json(value) + "\n"


def json_response(value: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with Go's encoding conventions."""
    return Response(
        encode_json(value), status=status, headers=dict(headers or {}), content_type=JSON_CONTENT_TYPE
    )


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    """The admin API's error shape: ``{"error": "<message>"}``."""
    return json_response({"error": message}, status=status, headers=headers)


class GoHexError(ValueError):
    """A hex decoding failure, with the message text of Go's encoding/hex."""


def _go_invalid_byte(byte: int) -> GoHexError:
    character = chr(byte)
    # Go's %#U: "U+007A 'z'" for printable runes, bare "U+0000" otherwise.
    quoted = f" '{character}'" if character.isprintable() else ""
    return GoHexError(f"encoding/hex: invalid byte: U+{byte:04X}{quoted}")


_HEX_DIGITS = frozenset(b"0123456789abcdefABCDEF")


def decode_hex_go(text: str) -> bytes:
    """Decode hex exactly as Go's hex.DecodeString does, raising GoHexError with Go's message."""
    raw = text.encode("utf-8", errors="surrogateescape")
    for index in range(0, len(raw) - 1, 2):
        for byte in raw[index : index + 2]:
            if byte not in _HEX_DIGITS:
                raise _go_invalid_byte(byte)
    if len(raw) % 2 == 1:
        if raw[-1] not in _HEX_DIGITS:
            raise _go_invalid_byte(raw[-1])
        raise GoHexError("encoding/hex: odd length hex string")
    return bytes.fromhex(raw.decode("ascii"))


def parse_identity_hex(text: str) -> bytes | None:
    """32 raw bytes from 64 hex characters (either case), or None for anything else."""
    if len(text) != 64:
        return None
    try:
        return decode_hex_go(text)
    except GoHexError:
        return None


__all__ = [
    "BODY_CONSUMED",
    "JSON_CONTENT_TYPE",
    "GoHexError",
    "decode_hex_go",
    "encode_json",
    "error_response",
    "json_response",
    "parse_identity_hex",
    "request_has_body",
    "rfc3339_seconds",
]
