"""The tracker's RPC methods over real QUIC on 127.0.0.1 against a real ledger file and registry."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import trio

from tests.rpc.harness import wait_until
from tests.rpc.tracker_stack import tracker_stack
from tracker._proto.ledger_pb2 import Entry
from tracker._proto.rpc_pb2 import EnrollRequest, RpcRequest
from tracker.client import (
    InternalError,
    InvalidRequest,
    NoCapacity,
    Unauthenticated,
    connect_peer,
    enroll_preimage,
)
from tracker.identity import generate_identity
from tracker.ledger import EntryKind, verify_balance_snapshot, verify_signature
from tracker.registry import PrivacyTier
from tracker.rpc import (
    RpcListener,
    RpcMethod,
    RpcServiceSettings,
    RpcStatus,
    TrackerRpcService,
    spki_id_of_public_key,
)


async def _starter_grants(stack) -> list:  # type: ignore[no-untyped-def]
    entries = await stack.ledger.entries_since(0)
    return [entry for entry in entries if entry.kind == EntryKind.STARTER_GRANT]


async def test_enrol_twice_mints_one_grant(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        identity = generate_identity()
        async with connect_peer(stack.server.local_address, pin=stack.server.pin, identity=identity) as peer:
            first = await peer.enroll(role=3, account_fingerprint=b"\x07" * 32)
            second = await peer.enroll(role=3, account_fingerprint=b"\x07" * 32)
            snapshot = await peer.balance()
        canonical = spki_id_of_public_key(identity.public_key)
        assert first.identity_id == canonical
        assert first.starter_grant_credits == 1000
        assert first == second
        entry = Entry.FromString(first.starter_grant_entry)
        assert entry.body.kind == EntryKind.STARTER_GRANT and entry.body.consumer_id == canonical
        grants = await _starter_grants(stack)
        assert len(grants) == 1
        assert snapshot.body.credits == 1000
        assert snapshot.body.identity_id == canonical
        stored = stack.identities.lookup(peer.raw_pub_id)
        assert stored is not None and stored.canonical_id == canonical and stored.role == 3


async def test_enrol_uses_the_configured_grant(tmp_path: Path) -> None:
    settings = RpcServiceSettings(starter_grant_credits=250, enroll_rate_per_min_per_ip=100)
    async with (
        tracker_stack(tmp_path, settings) as stack,
        connect_peer(stack.server.local_address, pin=stack.server.pin, identity=generate_identity()) as peer,
    ):
        assert (await peer.enroll()).starter_grant_credits == 250
        assert (await peer.balance()).body.credits == 250


async def test_concurrent_enrolments_of_one_identity_mint_one_grant(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        async with (
            connect_peer(
                stack.server.local_address, pin=stack.server.pin, identity=generate_identity()
            ) as peer,
            trio.open_nursery() as nursery,
        ):
            for _ in range(8):
                nursery.start_soon(peer.enroll)
        assert len(await _starter_grants(stack)) == 1


async def _raw_enroll(peer, request: EnrollRequest):  # type: ignore[no-untyped-def]
    return await peer.call_raw(RpcMethod.ENROLL, request.SerializeToString())


async def test_forged_enrolment_signature_is_rejected(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        identity = generate_identity()
        async with connect_peer(stack.server.local_address, pin=stack.server.pin, identity=identity) as peer:
            nonce, fingerprint = os.urandom(16), b"\x01" * 32
            forged = generate_identity().sign(enroll_preimage(nonce, fingerprint, identity.public_key))
            request = EnrollRequest(
                identity_pubkey=identity.public_key,
                role=1,
                account_fingerprint=fingerprint,
                nonce=nonce,
                consumer_sig=forged,
            )
            response = await _raw_enroll(peer, request)
            assert response.status == RpcStatus.UNAUTHENTICATED
            assert response.error.message == "enrollment signature invalid"
        assert await _starter_grants(stack) == []


async def test_enrolment_with_a_pubkey_not_the_certificates_is_rejected(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        async with connect_peer(
            stack.server.local_address, pin=stack.server.pin, identity=generate_identity()
        ) as peer:
            other = generate_identity()
            nonce, fingerprint = os.urandom(16), b"\x01" * 32
            request = EnrollRequest(
                identity_pubkey=other.public_key,
                role=1,
                account_fingerprint=fingerprint,
                nonce=nonce,
                consumer_sig=other.sign(enroll_preimage(nonce, fingerprint, other.public_key)),
            )
            response = await _raw_enroll(peer, request)
            assert response.status == RpcStatus.UNAUTHENTICATED
            assert "certificate" in response.error.message
        assert await _starter_grants(stack) == []


async def test_enrolment_field_lengths_are_invalid(tmp_path: Path) -> None:
    async with (
        tracker_stack(tmp_path) as stack,
        connect_peer(stack.server.local_address, pin=stack.server.pin, identity=generate_identity()) as peer,
    ):
        response = await _raw_enroll(peer, EnrollRequest(identity_pubkey=b"\x01" * 31))
        assert response.status == RpcStatus.INVALID
        assert response.error.message == "identity_pubkey length 31, want 32"


async def test_enrolment_rate_limit_per_ip_spares_repeats(tmp_path: Path) -> None:
    settings = RpcServiceSettings(enroll_rate_per_min_per_ip=1)
    async with tracker_stack(tmp_path, settings) as stack:
        address, pin = stack.server.local_address, stack.server.pin
        async with connect_peer(address, pin=pin, identity=generate_identity()) as first:
            await first.enroll()
            await first.enroll()  # an idempotent repeat is never limited
        async with connect_peer(address, pin=pin, identity=generate_identity()) as second:
            with pytest.raises(NoCapacity, match="per minute per IP"):
                await second.enroll()
        assert len(await _starter_grants(stack)) == 1


async def test_balance_by_canonical_and_raw_pub_id_agree(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        identity = generate_identity()
        address, pin = stack.server.local_address, stack.server.pin
        async with connect_peer(address, pin=pin, identity=identity) as peer:
            await peer.enroll()
            by_raw = await peer.balance(peer.raw_pub_id)
            by_canonical = await peer.balance(peer.canonical_id)
            assert by_raw.body.credits == by_canonical.body.credits == 1000
            assert verify_balance_snapshot(by_raw, stack.identity.public_key)
        # Resolved through the durable table once the peer is gone, by another peer.
        async with connect_peer(address, pin=pin, identity=generate_identity()) as other:
            assert (await other.balance(peer.raw_pub_id)).body.credits == 1000
            assert (await other.balance(os.urandom(32))).body.credits == 0
            with pytest.raises(InvalidRequest, match="identity_id length 3, want 32"):
                await other.balance(b"abc")


async def test_advertise_registers_the_seeder_at_its_observed_address(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        async with connect_peer(
            stack.server.local_address,
            pin=stack.server.pin,
            identity=generate_identity(),
            heartbeat_period_s=0.05,
        ) as peer:
            await peer.advertise(["claude-sonnet-4-6"], max_context=200_000, headroom=0.5, tiers=0b11)
            record = stack.registry.get(peer.canonical_id)
            assert record is not None
            assert record.available and record.headroom_estimate == 0.5
            assert record.capabilities.models == ["claude-sonnet-4-6"]
            assert record.capabilities.tiers == [PrivacyTier.STANDARD, PrivacyTier.TEE]
            connection = stack.server.peers.get(peer.canonical_id)
            assert connection is not None
            assert record.net_coords.external_addr == connection.peer.address
            assert record.net_coords.external_addr == await peer.stun_allocate()
            before = record.last_heartbeat
            await wait_until(lambda: stack.registry.get(peer.canonical_id).last_heartbeat > before)  # type: ignore[union-attr]
        await wait_until(lambda: not stack.registry.get(peer.canonical_id).available)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("headroom", "tiers", "message"),
    [(math.nan, 1, "invalid headroom"), (1.5, 1, "invalid headroom"), (0.5, 0b100, "unknown tier bits 0x4")],
)
async def test_bad_advertisements_are_invalid(
    tmp_path: Path, headroom: float, tiers: int, message: str
) -> None:
    async with (
        tracker_stack(tmp_path) as stack,
        connect_peer(stack.server.local_address, pin=stack.server.pin, identity=generate_identity()) as peer,
    ):
        with pytest.raises(InvalidRequest, match=message):
            await peer.advertise(["m"], headroom=headroom, tiers=tiers)


async def test_router_codes_and_garbage_payloads(tmp_path: Path) -> None:
    async with (
        tracker_stack(tmp_path) as stack,
        connect_peer(stack.server.local_address, pin=stack.server.pin, identity=generate_identity()) as peer,
    ):
        zero = await peer.call_raw(0, b"")
        assert (zero.status, zero.error.code, zero.error.message) == (
            RpcStatus.INVALID,
            "METHOD_ZERO_RESERVED",
            "method 0 reserved for heartbeat channel",
        )
        unknown = await peer.call_raw(99, b"")
        assert (unknown.status, unknown.error.code, unknown.error.message) == (
            RpcStatus.INVALID,
            "UNKNOWN_METHOD",
            "99",
        )
        garbage = await peer.call_raw(RpcMethod.BALANCE, b"\xff\xff\xff")
        assert garbage.status == RpcStatus.INVALID and garbage.error.code == "INVALID"
        assert garbage.error.message.startswith("BalanceRequest: ")
        assert (await peer.balance()).body.credits == 0


@pytest.mark.parametrize(
    ("method", "rpc"),
    [
        (RpcMethod.BROKER_REQUEST, "broker_request"),
        (RpcMethod.USAGE_REPORT, "usage_report"),
        (RpcMethod.SETTLE, "settle"),
        (RpcMethod.TRANSFER_REQUEST, "transfer_request"),
    ],
)
async def test_unbuilt_methods_answer_not_implemented(tmp_path: Path, method: RpcMethod, rpc: str) -> None:
    async with (
        tracker_stack(tmp_path) as stack,
        connect_peer(stack.server.local_address, pin=stack.server.pin, identity=generate_identity()) as peer,
    ):
        response = await peer.call_raw(method, b"")
        assert (response.status, response.error.code, response.error.message) == (
            RpcStatus.INTERNAL,
            "NOT_IMPLEMENTED",
            f"{rpc} handler awaiting subsystem",
        )


async def test_turn_relay_open_issues_one_token_per_session(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        address, pin = stack.server.local_address, stack.server.pin
        async with connect_peer(address, pin=pin, identity=generate_identity()) as peer:
            session_id = os.urandom(16)
            first = await peer.turn_relay_open(session_id)
            again = await peer.turn_relay_open(session_id)
            assert len(first.token) == 16 and first.token == again.token
            assert first.relay_endpoint == ":3479"
            with pytest.raises(InvalidRequest, match="session_id length 3, want 16"):
                await peer.turn_relay_open(b"abc")
            async with connect_peer(address, pin=pin, identity=generate_identity()) as stranger:
                with pytest.raises(Unauthenticated, match="not party"):
                    await stranger.turn_relay_open(session_id)


async def test_bootstrap_peers_is_signed_by_the_tracker_with_its_spki_id(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        async with connect_peer(
            stack.server.local_address, pin=stack.server.pin, identity=generate_identity()
        ) as peer:
            peer_list = await peer.bootstrap_peers()
        assert peer_list.issuer_id == stack.server.pin
        assert list(peer_list.peers) == []
        assert peer_list.expires_at - peer_list.signed_at == 600
        signature = peer_list.sig
        peer_list.sig = b""
        assert verify_signature(
            stack.identity.public_key, peer_list.SerializeToString(deterministic=True), signature
        )


async def test_handler_failure_is_internal_and_the_connection_survives(tmp_path: Path) -> None:
    async with (
        tracker_stack(tmp_path) as stack,
        connect_peer(stack.server.local_address, pin=stack.server.pin, identity=generate_identity()) as peer,
    ):

        async def broken(peer, payload):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

        stack.service.router._handlers[int(RpcMethod.STUN_ALLOCATE)] = broken
        with pytest.raises(InternalError, match="internal error"):
            await peer.stun_allocate()
        assert (await peer.balance()).body.credits == 0
        raw = await peer.exchange_frame(RpcRequest(method=3, payload=b"\x0a\x01").SerializeToString())
        assert raw.status == RpcStatus.INVALID


async def test_raw_pub_ids_resolve_from_the_durable_table_after_a_restart(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        async with connect_peer(
            stack.server.local_address, pin=stack.server.pin, identity=generate_identity()
        ) as peer:
            await peer.enroll()
        restarted = TrackerRpcService(
            ledger=stack.ledger,
            identities=stack.identities,
            registry=stack.registry,
            tracker_identity=stack.identity,
            tracker_pin=stack.server.pin,
        )
        assert await restarted.resolve(peer.raw_pub_id) == peer.canonical_id
        assert await restarted.resolve(peer.canonical_id) == peer.canonical_id
        unknown = os.urandom(32)
        assert await restarted.resolve(unknown) == unknown


async def test_connected_peers_list_ids_roles_addresses_and_heartbeats(tmp_path: Path) -> None:
    async with tracker_stack(tmp_path) as stack:
        listener = RpcListener(stack.server, stack.service)
        address, pin = stack.server.local_address, stack.server.pin
        async with connect_peer(
            address, pin=pin, identity=generate_identity(), heartbeat_period_s=0.05
        ) as first:
            await first.enroll(role=3)
            await wait_until(lambda: first.pongs >= 1)
            async with connect_peer(address, pin=pin, identity=generate_identity()) as second:
                await wait_until(lambda: listener.connection_count() == 2)
                peers = await listener.connected_peers()
        assert [peer.canonical_id for peer in peers] == [first.canonical_id, second.canonical_id]
        assert [peer.raw_pub_id for peer in peers] == [first.raw_pub_id, second.raw_pub_id]
        assert [peer.role for peer in peers] == [3, None]
        assert peers[0].last_heartbeat is not None and peers[1].last_heartbeat is None
        assert all(peer.address.startswith("127.0.0.1:") for peer in peers)
        assert peers[0].connected_since <= peers[1].connected_since
