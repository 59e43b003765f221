"""The peer client: heartbeat 3-miss rule, push callbacks (offer, settlement), typed errors."""

from __future__ import annotations

import os

import pytest
import trio

from tests.rpc.harness import EchoHandler, running_server, server_and_peer, wait_until
from tracker._proto.rpc_pb2 import OfferDecision, OfferPush, SettleAck, SettlementPush
from tracker.client import InvalidRequest, NotFound, connect_peer
from tracker.identity import generate_identity
from tracker.rpc import PUSH_TAG_OFFER, PUSH_TAG_SETTLEMENT, RpcServer, RpcStatus
from tracker.rpc._wire import error_response


class _SilentHeartbeatServer(RpcServer):
    """Takes heartbeat frames and never answers them."""

    async def _heartbeat_loop(self, connection, stream, body):  # type: ignore[no-untyped-def]
        while await stream.receive_frame() is not None:
            pass


async def test_three_missed_pongs_tear_the_connection_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RpcServer, "_heartbeat_loop", _SilentHeartbeatServer._heartbeat_loop)
    async with (
        running_server(EchoHandler()) as server,
        connect_peer(
            server.local_address, pin=server.pin, identity=generate_identity(), heartbeat_period_s=0.05
        ) as peer,
    ):
        with trio.fail_after(5):
            assert await peer.wait_closed() == "heartbeat timeout"
        assert peer.pongs == 0


async def test_a_connection_closed_before_the_first_heartbeat_ends_quietly() -> None:
    async with server_and_peer(EchoHandler(), heartbeat_period_s=1.0) as (server, peer):
        await wait_until(lambda: server.peers.get(peer.canonical_id) is not None)
        server.peers.get(peer.canonical_id).driver.close("server says bye")  # type: ignore[union-attr]
        with trio.fail_after(5):
            assert await peer.wait_closed() == "server says bye"
        await trio.sleep(1.0)  # past the first heartbeat tick: the heartbeat task must not raise
    assert peer.closed


async def test_answered_heartbeats_keep_the_connection() -> None:
    async with server_and_peer(EchoHandler(), heartbeat_period_s=0.02) as (_, peer):
        await wait_until(lambda: peer.pongs >= 10)
        assert not peer.closed


async def test_offer_and_settlement_pushes_reach_the_callbacks() -> None:
    offers: list[OfferPush] = []
    settlements: list[SettlementPush] = []
    ephemeral = os.urandom(32)

    async def on_offer(offer: OfferPush) -> OfferDecision:
        offers.append(offer)
        return OfferDecision(accept=True, ephemeral_pubkey=ephemeral)

    async def on_settlement(push: SettlementPush) -> SettleAck:
        settlements.append(push)
        return SettleAck()

    async with server_and_peer(EchoHandler(), on_offer=on_offer, on_settlement=on_settlement) as (
        server,
        peer,
    ):
        offer = OfferPush(consumer_id=b"\x01" * 32, envelope_hash=b"\x02" * 32, model="m", max_input_tokens=5)
        reply = await server.push(peer.canonical_id, PUSH_TAG_OFFER, offer.SerializeToString(), 5.0)
        assert reply is not None
        assert OfferDecision.FromString(reply) == OfferDecision(accept=True, ephemeral_pubkey=ephemeral)
        assert offers == [offer]
        push = SettlementPush(preimage_hash=b"\x03" * 32, preimage_body=b"body")
        reply = await server.push(peer.raw_pub_id, PUSH_TAG_SETTLEMENT, push.SerializeToString(), 5.0)
        assert reply == b""  # SettleAck{} serialises to nothing
        assert settlements == [push]


async def test_push_without_a_handler_and_push_timeouts() -> None:
    async def never(offer: OfferPush) -> OfferDecision:
        await trio.sleep_forever()
        raise AssertionError

    async with server_and_peer(EchoHandler(), on_offer=never) as (server, peer):
        body = OfferPush(model="m").SerializeToString()
        assert await server.push(peer.canonical_id, PUSH_TAG_OFFER, body, 0.2) is None
        settlement = SettlementPush(preimage_hash=b"\x03" * 32).SerializeToString()
        assert await server.push(peer.canonical_id, PUSH_TAG_SETTLEMENT, settlement, 5.0) is None
        assert await server.push(b"\x09" * 32, PUSH_TAG_OFFER, body, 5.0) is None
        assert (await peer.call_raw(3, b"still")).payload == b"\x03still"
        pushes = server.metrics.pushes
        assert pushes.labels(kind="offer", outcome="timeout")._value.get() == 1
        assert pushes.labels(kind="offer", outcome="no_peer")._value.get() == 1
        assert pushes.labels(kind="settlement", outcome="failed")._value.get() == 1


async def test_offer_push_without_a_handler_is_rejected_with_the_plugin_reason() -> None:
    async with server_and_peer(EchoHandler()) as (server, peer):
        reply = await server.push(
            peer.canonical_id, PUSH_TAG_OFFER, OfferPush(model="m").SerializeToString(), 5
        )
        assert reply is not None
        decision = OfferDecision.FromString(reply)
        assert not decision.accept
        assert decision.reject_reason == "trackerclient: server pushed a stream but no handler is registered"


class _StatusHandler(EchoHandler):
    async def handle_rpc(self, peer, method, payload):  # type: ignore[no-untyped-def]
        if method == 7:
            return error_response(RpcStatus.NOT_FOUND, "NOT_FOUND", "unknown").SerializeToString()
        if method == 5:
            return b"\x08\x09"  # status 9: not a status the Go client accepts
        return error_response(RpcStatus.INVALID, "INVALID", "bad").SerializeToString()


async def test_statuses_become_typed_errors() -> None:
    async with server_and_peer(_StatusHandler()) as (_, peer):
        with pytest.raises(NotFound) as not_found:
            await peer.bootstrap_peers.__self__.call(7, OfferPush(), None)  # type: ignore[attr-defined,arg-type]
        assert (not_found.value.code, not_found.value.message) == ("NOT_FOUND", "unknown")
        with pytest.raises(InvalidRequest, match="INVALID INVALID: bad"):
            await peer.stun_allocate()
        from tracker.client import InvalidResponse

        with pytest.raises(InvalidResponse):
            await peer.call(5, OfferPush(), None)  # type: ignore[arg-type]
