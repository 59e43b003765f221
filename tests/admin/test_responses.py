"""Go-compatible JSON encoding, hex decoding errors and time formatting of the admin API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tracker._go import format_go_time, rfc3339_seconds
from tracker.admin._responses import GoHexError, decode_hex_go, encode_json, parse_identity_hex


def test_encode_json_is_compact_sorted_html_escaped_with_newline() -> None:
    assert encode_json({"b": 1, "a": "<x>&\u2028"}) == '{"a":"\\u003cx\\u003e\\u0026\\u2028","b":1}\n'


def test_encode_json_turns_non_finite_floats_into_null() -> None:
    assert encode_json({"x": float("nan"), "y": [float("inf"), 1.5]}) == '{"x":null,"y":[null,1.5]}\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("zz", "encoding/hex: invalid byte: U+007A 'z'"),
        ("a", "encoding/hex: odd length hex string"),
        ("abc", "encoding/hex: odd length hex string"),
        ("abg", "encoding/hex: invalid byte: U+0067 'g'"),
        ("0g12", "encoding/hex: invalid byte: U+0067 'g'"),
        ("\x00\x00", "encoding/hex: invalid byte: U+0000"),
        ("é0", "encoding/hex: invalid byte: U+00C3 'Ã'"),
    ],
)
def test_decode_hex_go_errors(text: str, message: str) -> None:
    with pytest.raises(GoHexError) as raised:
        decode_hex_go(text)
    assert str(raised.value) == message


def test_decode_hex_go_accepts_both_cases() -> None:
    assert decode_hex_go("") == b""
    assert decode_hex_go("DEADbeef") == bytes.fromhex("deadbeef")


def test_parse_identity_hex() -> None:
    assert parse_identity_hex("AB" * 32) == b"\xab" * 32
    assert parse_identity_hex("ab" * 31) is None
    assert parse_identity_hex("zz" * 32) is None
    assert parse_identity_hex(" " + "ab" * 31 + "a") is None


def test_time_formats() -> None:
    assert rfc3339_seconds(1778328000.999) == "2026-05-09T12:00:00Z"
    assert rfc3339_seconds(-62135596800.0) == "0001-01-01T00:00:00Z"
    assert rfc3339_seconds(float("nan")) == "0001-01-01T00:00:00Z"
    assert rfc3339_seconds(1e300) == "0001-01-01T00:00:00Z"
    assert format_go_time(datetime(2026, 5, 10, 10, 0, 0, 120000, tzinfo=UTC), nanos=True) == (
        "2026-05-10T10:00:00.12Z"
    )
    assert format_go_time(None) == "0001-01-01T00:00:00Z"
