"""`trio-tracker init` in-process: the files it writes, refusal to overwrite, --force."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tracker.config import load
from tracker.config._go_text import split_host_port
from tracker.identity import load_identity

from .test_cli_config import run_main


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_writes_a_runnable_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"
    code, out, err = run_main("init", "--data-dir", str(data_dir))
    assert (code, err) == (0, "")
    config_path = data_dir / "tracker.yaml"
    assert out.rstrip("\n").endswith(f"trio-tracker run --config {config_path}")

    key_path = data_dir / "identity.key"
    assert len(key_path.read_bytes()) == 64
    assert _mode(key_path) == 0o600
    identity = load_identity(key_path)
    assert identity.tracker_id.hex() in out

    config = load(config_path)
    assert config.data_dir == str(data_dir)
    assert config.server.identity_key_path == str(key_path)
    for path in (
        config.server.tls_cert_path,
        config.server.tls_key_path,
        config.ledger.storage_path,
        config.admission.tlog_path,
        config.reputation.storage_path,
    ):
        assert os.path.isabs(path) and path.startswith(str(data_dir) + "/")
    listeners = [
        config.server.listen_addr,
        config.admin.listen_addr,
        config.metrics.listen_addr,
        config.stun_turn.stun_listen_addr,
        config.stun_turn.turn_listen_addr,
    ]
    hosts_ports = [split_host_port(address) for address in listeners]
    assert {host for host, _ in hosts_ports} == {"127.0.0.1"}
    ports = [int(port) for _, port in hosts_ports]
    assert len(set(ports)) == 5 and all(0 < port < 65536 for port in ports)

    certificate = x509.load_pem_x509_certificate(Path(config.server.tls_cert_path).read_bytes())
    assert certificate.subject.rfc4514_string() == "CN=token-bay-tracker"
    assert certificate.issuer == certificate.subject
    assert certificate.serial_number == 1
    assert certificate.not_valid_before_utc.year == 1970
    assert (certificate.not_valid_after_utc.year, certificate.not_valid_after_utc.month) == (9999, 12)
    assert certificate.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == identity.public_key
    certificate.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes)  # self-signed

    key_file = Path(config.server.tls_key_path)
    assert _mode(key_file) == 0o600
    tls_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert tls_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) == identity.public_key

    assert run_main("config", "validate", "--config", str(config_path))[0] == 0


@pytest.mark.parametrize("existing", ["identity.key", "tracker.yaml"])
def test_init_refuses_to_overwrite_without_force(tmp_path: Path, existing: str) -> None:
    (tmp_path / existing).write_bytes(b"keep me")
    code, out, err = run_main("init", "--data-dir", str(tmp_path))
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "--force" in err and existing in err
    assert (tmp_path / existing).read_bytes() == b"keep me"


def test_init_force_replaces_key_and_config(tmp_path: Path) -> None:
    assert run_main("init", "--data-dir", str(tmp_path))[0] == 0
    first_key = (tmp_path / "identity.key").read_bytes()
    assert run_main("init", "--data-dir", str(tmp_path))[0] == 1
    assert (tmp_path / "identity.key").read_bytes() == first_key
    assert run_main("init", "--data-dir", str(tmp_path), "--force")[0] == 0
    assert (tmp_path / "identity.key").read_bytes() != first_key
    assert _mode(tmp_path / "identity.key") == 0o600
    assert run_main("config", "validate", "--config", str(tmp_path / "tracker.yaml"))[0] == 0


def test_init_relative_data_dir_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_main("init", "--data-dir", "rel")[0] == 0
    assert load(tmp_path / "rel" / "tracker.yaml").data_dir == str(tmp_path / "rel")


def test_init_on_a_regular_file_fails_with_one_line(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    code, out, err = run_main("init", "--data-dir", str(target))
    assert (code, out) == (1, "")
    assert err.startswith("error: cannot initialise ") and err.count("\n") == 1


def test_init_empty_data_dir_is_refused() -> None:
    assert run_main("init", "--data-dir", "") == (1, "", "error: --data-dir must not be empty\n")
