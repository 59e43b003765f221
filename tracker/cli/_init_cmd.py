"""`trio-tracker init`: create a runnable data directory (identity key, TLS cert/key, tracker.yaml)."""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import socket
from pathlib import Path

from tracker.cli._common import CliExit, CliParser, ExitCode
from tracker.cli._config_loading import load_config_for_cli
from tracker.config import Config, apply_defaults, render_yaml
from tracker.identity import generate_identity, write_identity, write_self_signed_cert, write_text_file

DEFAULT_DATA_DIR = "data"
CONFIG_FILE_NAME = "tracker.yaml"
IDENTITY_KEY_FILE_NAME = "identity.key"
TLS_CERT_FILE_NAME = "tls.crt"
TLS_KEY_FILE_NAME = "tls.key"
LEDGER_FILE_NAME = "ledger.sqlite"
_LOOPBACK = "127.0.0.1"
_PORT_RANGE_START, _PORT_RANGE_END = 20000, 32768
_PORT_ATTEMPTS = 200

_INIT_EXIT_CODES = """exit codes:
  0  the data directory was created; the next command to run is printed
  1  error: the key or config already exists (use --force), or DIR cannot be created or written
  2, 3  the written config failed to parse or validate (a bug; please report it)"""


def register(subcommands: argparse._SubParsersAction) -> None:
    parser: CliParser = subcommands.add_parser(
        "init",
        help="create a data directory with an identity key, TLS cert and tracker.yaml",
        description=(
            "Create a runnable data directory:\n"
            f"  {IDENTITY_KEY_FILE_NAME}   64-byte Ed25519 identity key (seed ‖ public key), mode 0600\n"
            f"  {TLS_CERT_FILE_NAME}        self-signed certificate of that identity (CN token-bay-tracker)\n"
            f"  {TLS_KEY_FILE_NAME}        its private key (PKCS#8 PEM), mode 0600\n"
            f"  {CONFIG_FILE_NAME}   config with absolute paths and loopback listeners on free ports\n"
            "Refuses to overwrite an existing identity key or config unless --force is given (which\n"
            "REPLACES the identity: entries signed by the old key stay signed by it)."
        ),
        epilog=_INIT_EXIT_CODES,
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        default=DEFAULT_DATA_DIR,
        help=f"directory to create or fill (default: ./{DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--force", action="store_true", help="overwrite an existing identity key, TLS files and config"
    )
    parser.set_defaults(handler=_init)


def _free_loopback_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 for both TCP and UDP right now. Candidates come from below
    Linux's ephemeral range (32768+), so outgoing connections are unlikely to take them before `run`;
    the sockets are held until all are chosen, so the ports differ."""
    held: list[socket.socket] = []
    ports: list[int] = []
    candidates = random.sample(range(_PORT_RANGE_START, _PORT_RANGE_END), _PORT_ATTEMPTS)
    try:
        for candidate in [*candidates, *([0] * _PORT_ATTEMPTS)]:
            if len(ports) == count:
                break
            tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            held.append(tcp)
            try:
                tcp.bind((_LOOPBACK, candidate))
                port = tcp.getsockname()[1]
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(udp)
                udp.bind((_LOOPBACK, port))
            except OSError:
                continue
            ports.append(port)
    finally:
        for held_socket in held:
            held_socket.close()
    if len(ports) < count:
        raise OSError(f"could not find {count} free loopback ports")
    return ports


def build_init_config(data_dir: str, ports: list[int]) -> Config:
    """The config `init` writes for the absolute `data_dir`, listeners on 127.0.0.1 at `ports`
    (server, admin, metrics, STUN, TURN)."""
    server_port, admin_port, metrics_port, stun_port, turn_port = ports
    config = Config(data_dir=data_dir)
    config.server.listen_addr = f"{_LOOPBACK}:{server_port}"
    config.server.identity_key_path = os.path.join(data_dir, IDENTITY_KEY_FILE_NAME)
    config.server.tls_cert_path = os.path.join(data_dir, TLS_CERT_FILE_NAME)
    config.server.tls_key_path = os.path.join(data_dir, TLS_KEY_FILE_NAME)
    config.admin.listen_addr = f"{_LOOPBACK}:{admin_port}"
    config.metrics.listen_addr = f"{_LOOPBACK}:{metrics_port}"
    config.stun_turn.stun_listen_addr = f"{_LOOPBACK}:{stun_port}"
    config.stun_turn.turn_listen_addr = f"{_LOOPBACK}:{turn_port}"
    config.ledger.storage_path = os.path.join(data_dir, LEDGER_FILE_NAME)
    return apply_defaults(config)


def _init(args: argparse.Namespace) -> int:
    if not args.data_dir:
        raise CliExit(ExitCode.ERROR, "error: --data-dir must not be empty")
    data_dir = os.path.abspath(args.data_dir)
    config_path = os.path.join(data_dir, CONFIG_FILE_NAME)
    key_path = os.path.join(data_dir, IDENTITY_KEY_FILE_NAME)
    if not args.force:
        for existing in (key_path, config_path):
            if os.path.lexists(existing):
                raise CliExit(
                    ExitCode.ERROR,
                    f"error: {existing} already exists; not overwriting it "
                    "(pass --force to replace the identity key and config)",
                )
    try:
        Path(data_dir).mkdir(parents=True, exist_ok=True, mode=0o700)
        config = build_init_config(data_dir, _free_loopback_ports(5))
        identity = generate_identity()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(key_path)
        write_identity(key_path, identity)
        certificate = write_self_signed_cert(
            identity, config.server.tls_cert_path, config.server.tls_key_path
        )
        header = (
            "trio-tracker configuration written by `trio-tracker init`.\n"
            "Every field is listed with its value; see `trio-tracker config defaults` for what each means."
        )
        write_text_file(config_path, render_yaml(config, header=header))
    except OSError as error:
        target = error.filename or data_dir
        reason = error.strerror or str(error)
        raise CliExit(ExitCode.ERROR, f"error: cannot initialise {data_dir}: {target}: {reason}") from None
    load_config_for_cli(config_path)  # the written file must pass `config validate`
    print(f"initialised {data_dir}")
    print(f"  identity key  {key_path}")
    print(f"  tracker id    {identity.tracker_id.hex()}")
    pin = _certificate_pin(certificate)
    print(f"  pin           {pin.hex()}  (SHA-256 of the TLS SPKI; plugins pin this)")
    print(f"  TLS cert/key  {config.server.tls_cert_path} {config.server.tls_key_path}")
    print(f"  config        {config_path}")
    print("next, start the tracker with:")
    print(f"  trio-tracker run --config {config_path}")
    return ExitCode.OK


def _certificate_pin(certificate: object) -> bytes:
    from tracker.rpc import certificate_pin  # the QUIC stack is imported only when needed

    return certificate_pin(certificate)  # type: ignore[arg-type]
