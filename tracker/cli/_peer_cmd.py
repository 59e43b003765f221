"""`trio-tracker peer keygen|enroll|balance|advertise`: the operator's shell client of a tracker's plugin RPC
(the reference peer in tracker.client), one JSON object on stdout per command."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from tracker.cli._common import CliExit, CliParser, ExitCode
from tracker.identity import (
    IdentityKeyError,
    TrackerIdentity,
    generate_identity,
    load_identity,
    write_identity,
)

if TYPE_CHECKING:  # the QUIC stack is imported only by the commands that use it
    from tracker.client import PeerClient

_TIER_BITS = {"standard": 0b01, "tee": 0b10}

_KEYGEN_EXIT_CODES = """exit codes:
  0  the key was written and its ids printed
  1  error: FILE exists (use --force) or cannot be written"""

_RPC_EXIT_CODES = """exit codes:
  0  the tracker answered OK; its answer is printed as JSON on stdout
  1  error: bad flag or key file, connection refused or timed out, pin mismatch, or a non-OK answer
     (stderr names the status and code, e.g. "rpc error: NO_CAPACITY NO_CAPACITY: enrollment rate limit…")"""


def register(subcommands: argparse._SubParsersAction[CliParser]) -> None:
    peer_parser: CliParser = subcommands.add_parser(
        "peer",
        help="act as a plugin peer against a tracker (keygen, enroll, balance, advertise)",
        description=(
            "A shell client of a tracker's plugin RPC (QUIC + mutual TLS, ALPN tokenbay/1), speaking\n"
            "what the Go plugin speaks. Connections pin the tracker by --pin (SHA-256 of its certificate's\n"
            "SPKI, as printed by `trio-tracker init` and the tracker's ready line) and authenticate with\n"
            "--key (a 64-byte Ed25519 key file, seed ‖ public key, as written by `peer keygen`)."
        ),
    )
    actions = peer_parser.add_subparsers(title="subcommands", metavar="SUBCOMMAND", parser_class=CliParser)
    peer_parser.set_defaults(handler=lambda args: _print_help(peer_parser))

    keygen = actions.add_parser(
        "keygen",
        help="write a new peer identity key and print its ids",
        description=(
            "Write a new 64-byte Ed25519 key (seed ‖ public key, mode 0600) to FILE and print as JSON its\n"
            "public key, canonical id (SHA-256 of the certificate SPKI) and raw-pub id (SHA-256 of the key)."
        ),
        epilog=_KEYGEN_EXIT_CODES,
    )
    keygen.add_argument("--out", metavar="FILE", required=True, help="where to write the key")
    keygen.add_argument("--force", action="store_true", help="replace an existing FILE")
    keygen.set_defaults(handler=_keygen)

    enroll = _rpc_parser(actions, "enroll", "enrol the key's identity; print the starter grant")
    enroll.add_argument(
        "--role", type=int, default=1, help="role bits: 1 consumer, 2 seeder, 3 both (default 1)"
    )
    enroll.add_argument(
        "--account-fingerprint", metavar="HEX", help="32-byte account fingerprint in hex (default: zeros)"
    )
    enroll.set_defaults(handler=_enroll)

    balance = _rpc_parser(actions, "balance", "print a tracker-signed balance snapshot")
    balance.add_argument(
        "--id", metavar="HEX", help="identity id to ask about (default: the key's raw-pub id)"
    )
    balance.set_defaults(handler=_balance)

    advertise = _rpc_parser(actions, "advertise", "advertise as a seeder (registers on first use)")
    advertise.add_argument("--models", required=True, help="comma-separated model names")
    advertise.add_argument("--headroom", type=float, default=1.0, help="spare capacity in [0, 1] (default 1)")
    advertise.add_argument(
        "--tiers", default="standard", help="comma-separated: standard, tee (default standard)"
    )
    advertise.add_argument("--max-context", type=int, default=0, help="largest context in tokens (default 0)")
    advertise.add_argument("--unavailable", action="store_true", help="advertise as not available")
    advertise.set_defaults(handler=_advertise)


def _rpc_parser(actions: argparse._SubParsersAction[CliParser], name: str, summary: str) -> CliParser:
    parser: CliParser = actions.add_parser(name, help=summary, description=summary, epilog=_RPC_EXIT_CODES)
    parser.add_argument(
        "--tracker", metavar="HOST:PORT", required=True, help="the tracker's server.listen_addr"
    )
    parser.add_argument("--pin", metavar="HEX", required=True, help="the tracker's pin (64 hex digits)")
    parser.add_argument("--key", metavar="FILE", required=True, help="the peer's 64-byte identity key file")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds for the whole call (default 10)")
    return parser


def _print_help(parser: CliParser) -> int:
    parser.print_help()
    return ExitCode.OK


def _print(document: dict[str, object]) -> None:
    print(json.dumps(document, sort_keys=True))


def _ids(identity: TrackerIdentity) -> dict[str, object]:
    from tracker.rpc import raw_pub_id, spki_id_of_public_key

    return {
        "public_key": identity.public_key.hex(),
        "canonical_id": spki_id_of_public_key(identity.public_key).hex(),
        "raw_pub_id": raw_pub_id(identity.public_key).hex(),
    }


def _keygen(args: argparse.Namespace) -> int:
    identity = generate_identity()
    try:
        if args.force and os.path.lexists(args.out):
            os.unlink(args.out)
        write_identity(args.out, identity)
    except FileExistsError:
        raise CliExit(
            ExitCode.ERROR, f"error: {args.out} already exists (pass --force to replace it)"
        ) from None
    except OSError as error:
        raise CliExit(ExitCode.ERROR, f"error: cannot write {args.out}: {error.strerror or error}") from None
    _print({"key_file": os.path.abspath(args.out), **_ids(identity)})
    return ExitCode.OK


def _hex_arg(name: str, value: str, size: int) -> bytes:
    try:
        data = bytes.fromhex(value)
    except ValueError:
        raise CliExit(ExitCode.ERROR, f"error: {name} is not hex") from None
    if len(data) != size:
        raise CliExit(ExitCode.ERROR, f"error: {name} must be {size} bytes ({2 * size} hex digits)")
    return data


def _address(value: str) -> tuple[str, int]:
    host, separator, port = value.rpartition(":")
    if not separator or not port.isdigit() or not host:
        raise CliExit(ExitCode.ERROR, f"error: --tracker {value!r} is not HOST:PORT")
    return host.strip("[]"), int(port)


def _call(args: argparse.Namespace, action: Callable[[PeerClient], Awaitable[dict[str, object]]]) -> int:
    import trio

    from tracker.client import ClientError, RpcCallError, connect_peer

    address = _address(args.tracker)
    pin = _hex_arg("--pin", args.pin, 32)
    try:
        identity = load_identity(args.key)
    except IdentityKeyError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None

    async def run() -> dict[str, object]:
        with trio.fail_after(args.timeout):
            async with connect_peer(
                address, pin=pin, identity=identity, handshake_timeout_s=args.timeout
            ) as peer:
                return await action(peer)

    try:
        document = trio.run(run)
    except RpcCallError as error:
        raise CliExit(ExitCode.ERROR, f"rpc error: {error}") from None
    except ClientError as error:
        raise CliExit(ExitCode.ERROR, f"error: {error}") from None
    except trio.TooSlowError:
        raise CliExit(
            ExitCode.ERROR, f"error: no answer from {args.tracker} within {args.timeout:g} s"
        ) from None
    _print(document)
    return ExitCode.OK


def _enroll(args: argparse.Namespace) -> int:
    fingerprint = (
        _hex_arg("--account-fingerprint", args.account_fingerprint, 32) if args.account_fingerprint else None
    )

    from tracker.ledger import Entry

    async def action(peer: PeerClient) -> dict[str, object]:
        response = await peer.enroll(role=args.role, account_fingerprint=fingerprint)
        entry = Entry.FromString(response.starter_grant_entry)
        return {
            "identity_id": response.identity_id.hex(),
            "starter_grant_credits": response.starter_grant_credits,
            "starter_grant_seq": entry.body.seq,
            "starter_grant_entry": response.starter_grant_entry.hex(),
        }

    return _call(args, action)


def _balance(args: argparse.Namespace) -> int:
    identity_id = _hex_arg("--id", args.id, 32) if args.id else None

    async def action(peer: PeerClient) -> dict[str, object]:
        snapshot = await peer.balance(identity_id)
        body = snapshot.body
        return {
            "identity_id": body.identity_id.hex(),
            "credits": body.credits,
            "chain_tip_hash": body.chain_tip_hash.hex(),
            "chain_tip_seq": body.chain_tip_seq,
            "issued_at": body.issued_at,
            "expires_at": body.expires_at,
            "tracker_sig": snapshot.tracker_sig.hex(),
        }

    return _call(args, action)


def _advertise(args: argparse.Namespace) -> int:
    models = [model.strip() for model in args.models.split(",") if model.strip()]
    tiers = 0
    for name in (tier.strip().lower() for tier in args.tiers.split(",") if tier.strip()):
        if name not in _TIER_BITS:
            raise CliExit(ExitCode.ERROR, f"error: unknown tier {name!r} (known: standard, tee)")
        tiers |= _TIER_BITS[name]

    async def action(peer: PeerClient) -> dict[str, object]:
        await peer.advertise(
            models,
            max_context=args.max_context,
            available=not args.unavailable,
            headroom=args.headroom,
            tiers=tiers,
        )
        return {
            "ok": True,
            "canonical_id": peer.canonical_id.hex(),
            "external_addr": await peer.stun_allocate(),
            "models": models,
            "available": not args.unavailable,
        }

    return _call(args, action)
