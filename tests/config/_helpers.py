"""Shared helpers of the config tests: the spec's "valid config" and fixture paths."""

from __future__ import annotations

from pathlib import Path

from tracker.config import Config, apply_defaults

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def valid_config(directory: Path) -> Config:
    """Defaults + data_dir = `directory` + the required server/ledger fields under it (spec §1.6)."""
    root = str(directory)
    config = Config(data_dir=root)
    config.server.listen_addr = "0.0.0.0:7777"
    config.server.identity_key_path = root + "/identity.key"
    config.server.tls_cert_path = root + "/cert.pem"
    config.server.tls_key_path = root + "/cert.key"
    config.ledger.storage_path = root + "/ledger.sqlite"
    return apply_defaults(config)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


REQUIRED_YAML = """\
data_dir: {data_dir}
server:
  listen_addr: "0.0.0.0:7777"
  identity_key_path: {data_dir}/identity.key
  tls_cert_path: {data_dir}/cert.pem
  tls_key_path: {data_dir}/cert.key
ledger:
  storage_path: {data_dir}/ledger.sqlite
"""
