"""JSON response helpers for the admin API: Go-compatible encoding, error bodies, id and time formatting."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from quart import Response, request

JSON_CONTENT_TYPE = "application/json"
BODY_CONSUMED = "admin_request_body_consumed"
"""Key in `quart.g` set by a handler once it has read the whole request body."""


def request_has_body() -> bool:
    """True when the current request announces a body (a non-zero Content-Length, or chunked)."""
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


# Go's encoding/json escapes these so a JSON body is safe to embed in HTML.
_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _without_non_finite(value: Any) -> Any:
    """Replace NaN/±inf (not representable in JSON) by null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _without_non_finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_non_finite(item) for item in value]
    return value


def encode_json(value: Any) -> str:
    """Encode like Go's json.Encoder: compact, sorted object keys, HTML-escaped, trailing newline."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(
            _without_non_finite(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    for raw, escaped in _HTML_ESCAPES.items():
        if raw in text:
            text = text.replace(raw, escaped)
    return text + "\n"


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


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def unix_to_datetime(unix_seconds: float) -> datetime | None:
    """A UTC datetime for unix seconds; None (Go's zero time) when non-finite or outside years 1..9999."""
    if not math.isfinite(unix_seconds):
        return None
    try:
        return _UNIX_EPOCH + timedelta(seconds=unix_seconds)
    except OverflowError:
        return None


def rfc3339_seconds(unix_seconds: float) -> str:
    """UTC RFC 3339 at second precision with a ``Z`` suffix (Go's time.RFC3339 on a UTC time)."""
    if not math.isfinite(unix_seconds):
        return format_go_time(None)
    return format_go_time(unix_to_datetime(math.floor(unix_seconds)))


def format_go_time(moment: datetime | None, *, nanos: bool = False) -> str:
    """Format like Go's time.Format(RFC3339[Nano]) on a UTC time; None is Go's zero time."""
    if moment is None:
        return "0001-01-01T00:00:00Z"
    moment = moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    text = (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"
    )
    if nanos and moment.microsecond:
        text += ("." + f"{moment.microsecond:06d}").rstrip("0")
    return text + "Z"
