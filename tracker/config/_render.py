"""YAML output: `render_yaml` (the resolved config, for `config show` and `init`) and
`render_defaults_template` (every field with its default and a comment, for `config defaults`).

Strings are always double-quoted (so `yes`, `1:30`, `:3478` or `null` stay strings); the output parses back
with our own parser to an equal Config.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from tracker.config._schema import Config

_INDENT = "  "
_PRINTABLE = re.compile("[\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_SHORT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\x00": "\\0"}


def quote(text: str) -> str:
    """A YAML double-quoted scalar whose value is exactly `text`."""
    parts = ['"']
    for char in text:
        if char in _SHORT_ESCAPES:
            parts.append(_SHORT_ESCAPES[char])
        elif _PRINTABLE.match(char) and char not in "\u2028\u2029":
            parts.append(char)
        elif ord(char) <= 0xFF:
            parts.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            parts.append(f"\\u{ord(char):04x}")
        else:
            parts.append(f"\\U{ord(char):08x}")
    parts.append('"')
    return "".join(parts)


def scalar(value: Any) -> str:
    """The YAML text of a leaf value."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    return str(value)


def _render_mapping(section: Any, depth: int, lines: list[str], comment_for: Any, path: str) -> None:
    pad = _INDENT * depth
    for schema_field in dataclasses.fields(section):
        name = schema_field.name
        value = getattr(section, name)
        dotted = f"{path}.{name}" if path else name
        comment = comment_for(dotted) if comment_for else None
        suffix = f"  # {comment}" if comment else ""
        if dataclasses.is_dataclass(value):
            lines.append(f"{pad}{name}:{suffix}")
            _render_mapping(value, depth + 1, lines, comment_for, dotted)
        elif isinstance(value, dict):
            if not value:
                lines.append(f"{pad}{name}: {{}}{suffix}")
                continue
            lines.append(f"{pad}{name}:{suffix}")
            for key, item in value.items():
                lines.append(f"{pad}{_INDENT}{quote(key)}:")
                _render_mapping(item, depth + 2, lines, None, "")
        elif isinstance(value, list):
            if not value:
                lines.append(f"{pad}{name}: []{suffix}")
                continue
            lines.append(f"{pad}{name}:{suffix}")
            for item in value:
                if dataclasses.is_dataclass(item):
                    item_lines: list[str] = []
                    _render_mapping(item, depth + 2, item_lines, None, "")
                    first = item_lines[0][len(_INDENT) * (depth + 2) :]
                    lines.append(f"{pad}{_INDENT}- {first}")
                    lines.extend(item_lines[1:])
                else:
                    lines.append(f"{pad}{_INDENT}- {scalar(item)}")
        else:
            lines.append(f"{pad}{name}: {scalar(value)}{suffix}")


def render_yaml(cfg: Config, header: str | None = None) -> str:
    """`cfg` as a YAML document (every field, schema order) that `parse` reads back to an equal Config.
    `header` (plain text) is emitted as leading `#` comment lines."""
    lines: list[str] = []
    if header:
        lines.extend(f"# {line}".rstrip() for line in header.splitlines())
    _render_mapping(cfg, 0, lines, None, "")
    return "\n".join(lines) + "\n"


_REQUIRED_FIELDS = {
    "data_dir": "REQUIRED: absolute path of the data directory (derived paths below live in it)",
    "server.listen_addr": "REQUIRED: host:port of the plugin (QUIC) listener",
    "server.identity_key_path": "REQUIRED: 64-byte Ed25519 identity key file (trio-tracker init writes one)",
    "server.tls_cert_path": "REQUIRED: TLS certificate (PEM)",
    "server.tls_key_path": "REQUIRED: TLS private key (PEM)",
    "ledger.storage_path": "REQUIRED: SQLite file of the credit ledger",
}
_NOTES = {
    "log_level": "debug | info | warn | error",
    "admin.listen_addr": "host:port of the admin HTTP API (no TLS: keep it on loopback)",
    "metrics.listen_addr": "host:port of the Prometheus /metrics endpoint",
    "broker.headroom_threshold": "ratio in [0, 1]",
    "broker.score_weights": "must sum to 1.0 ± 0.001; all four zero = use the defaults",
    "admission.score_weights": "must sum to 1.0 ± 0.001; all five zero = use the defaults",
    "admission.pressure_admit_threshold": "demand/supply ratio; must be < pressure_reject_threshold",
    "federation.listen_addr": 'host:port for QUIC peering; "" = no peering listener',
    "federation.peers": "allowlist: - {tracker_id: <64 hex>, pubkey: <64 hex>, addr: host:port, region: ...}",
    "federation.health": "uptime_weight + rev_gossip_weight must sum to 1.0",
    "reputation.storage_path": '"" = ${data_dir}/reputation.sqlite',
    "admission.tlog_path": '"" = ${data_dir}/admission.tlog (its directory must exist)',
    "admission.snapshot_path_prefix": '"" = ${data_dir}/admission.snapshot',
    "admission.attestation_peer_blocklist": "tracker ids whose attestations are refused",
    "pricing.models": "credits per token; a non-empty table REPLACES the default table",
    "stun_turn.turn_relay_max_kbps": "kbps",
}
_UNIT_SUFFIXES = (
    ("_ms", "milliseconds"),
    ("_seconds", "seconds"),
    ("_s", "seconds"),
    ("_minutes", "minutes"),
    ("_minute", "per minute"),
    ("_hours", "hours"),
    ("_days", "days"),
    ("_per_hour", "per hour"),
    ("_per_sec", "per second"),
    ("_per_min_per_ip", "per minute per IP"),
    ("_qps", "per second"),
)


def _template_comment(dotted: str) -> str | None:
    if dotted in _REQUIRED_FIELDS:
        return _REQUIRED_FIELDS[dotted]
    if dotted in _NOTES:
        return _NOTES[dotted]
    for suffix, unit in _UNIT_SUFFIXES:
        if dotted.endswith(suffix):
            return unit
    return None


def render_defaults_template() -> str:
    """A commented YAML template with every field at its default. Required fields are empty and marked
    REQUIRED; once they are filled in, the template passes `config validate`."""
    template = Config()
    template.federation.peers = []
    template.admission.attestation_peer_blocklist = []
    lines = [
        "# trio-tracker configuration: every field with its default value.",
        "# Fields marked REQUIRED have no default; fill them in before use.",
        '# A field left at 0 or "" takes its default. Durations are integers whose unit is in the key',
        "# suffix (_ms, _s, _minutes, _hours, _days). Unknown keys are rejected.",
        "",
    ]
    _render_mapping(template, 0, lines, _template_comment, "")
    return "\n".join(lines) + "\n"
