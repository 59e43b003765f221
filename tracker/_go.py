"""Go-compatible text encodings shared by the admin API, the admission audit records and the CLI: JSON as Go's
`encoding/json` writes it, and times as Go's `time.Format(RFC3339[Nano])` on a UTC time. The one place these
rules live; it imports nothing from the tracker."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

__all__ = ["format_go_time", "go_json", "rfc3339_seconds", "unix_to_datetime"]

# Go's encoding/json escapes these so a JSON body is safe to embed in HTML.
_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _without_non_finite(value: object) -> object:
    """Replace NaN/±inf (not representable in JSON) by null, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {key: _without_non_finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_without_non_finite(item) for item in value]
    return value


def go_json(value: object) -> str:
    """Encode like Go's json.Marshal: compact, sorted object keys, HTML-escaped, no trailing newline."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:
        text = json.dumps(
            _without_non_finite(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    for raw, escaped in _HTML_ESCAPES.items():
        if raw in text:
            text = text.replace(raw, escaped)
    return text


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
