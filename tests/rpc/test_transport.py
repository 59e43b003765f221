"""The QUIC transport over real UDP on 127.0.0.1: handshakes and refusals, the stream model, framing limits,
concurrency, heartbeats, supersede-on-reconnect and disconnects (handler: a recording echo)."""

from __future__ import annotations

import logging

import pytest
import trio
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.rpc.harness import EchoHandler, running_server, server_and_peer, wait_until
from tracker._proto.rpc_pb2 import RpcRequest, RpcResponse
from tracker.client import ClientCredentials, ConnectError, PinMismatch, connect_peer
from tracker.identity import generate_identity
from tracker.rpc import RpcServerSettings, RpcStatus, StreamClosed, peer_certificate, spki_id_of_public_key

CRYPTO_ERROR_NO_APPLICATION_PROTOCOL = 0x100 + 120


async def test_good_pin_handshake_and_a_call() -> None:
    handler = EchoHandler()
    async with running_server(handler) as server:
        identity = generate_identity()
        async with connect_peer(server.local_address, pin=server.pin, identity=identity) as peer:
            response = await peer.call_raw(3, b"hello")
            assert response.status == RpcStatus.OK
            assert response.payload == b"\x03hello"
            await wait_until(lambda: len(handler.connected) == 1)
            connected = handler.connected[0]
            assert connected.canonical_id == spki_id_of_public_key(identity.public_key)
            assert connected.public_key == identity.public_key
            assert connected.host == "127.0.0.1"
            assert server.peers.get(peer.raw_pub_id) is server.peers.get(peer.canonical_id)


async def test_wrong_pin_is_refused_by_the_client() -> None:
    async with running_server(EchoHandler()) as server:
        try:
            async with connect_peer(server.local_address, pin=b"\x00" * 32, identity=generate_identity()):
                raise AssertionError("connected despite a wrong pin")
        except PinMismatch as error:
            assert server.pin.hex() in str(error)


async def test_wrong_alpn_is_refused_by_the_server() -> None:
    async with running_server(EchoHandler()) as server:
        try:
            async with connect_peer(
                server.local_address, pin=server.pin, identity=generate_identity(), alpn="tokenbay/2"
            ):
                raise AssertionError("connected with a wrong ALPN")
        except ConnectError as error:
            assert error.error_code == CRYPTO_ERROR_NO_APPLICATION_PROTOCOL
        await wait_until(lambda: server.metrics.handshakes.labels(result="failed")._value.get() == 1)


async def _refusal_reason(credentials: ClientCredentials) -> str:
    handler = EchoHandler()
    async with running_server(handler) as server:
        async with connect_peer(
            server.local_address, pin=server.pin, identity=generate_identity(), credentials=credentials
        ) as peer:
            with trio.fail_after(5):
                reason = await peer.wait_closed()
        assert handler.connected == []
        assert server.metrics.handshakes.labels(result="refused")._value.get() == 1
        return reason


async def test_client_without_certificate_is_refused() -> None:
    assert await _refusal_reason(ClientCredentials(None, None)) == "missing peer cert"


async def test_rsa_client_certificate_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert await _refusal_reason(ClientCredentials(peer_certificate(key), key)) == "non-ed25519 peer pubkey"


async def test_ten_identities_connect_concurrently() -> None:
    handler = EchoHandler()
    async with running_server(handler) as server:
        answers: list[bytes] = []

        async def one(index: int) -> None:
            async with connect_peer(
                server.local_address, pin=server.pin, identity=generate_identity()
            ) as peer:
                response = await peer.call_raw(1, bytes([index]))
                answers.append(response.payload)

        async with trio.open_nursery() as nursery:
            for index in range(10):
                nursery.start_soon(one, index)
        assert sorted(answers) == [b"\x01" + bytes([index]) for index in range(10)]
        assert len({peer.canonical_id for peer in handler.connected}) == 10


async def test_heartbeats_are_answered() -> None:
    handler = EchoHandler()
    async with (
        running_server(handler) as server,
        connect_peer(
            server.local_address, pin=server.pin, identity=generate_identity(), heartbeat_period_s=0.05
        ) as peer,
    ):
        await wait_until(lambda: peer.pongs >= 3)
        assert handler.heartbeats >= 3
        assert not peer.closed


async def test_a_peer_that_disconnects_ends_its_heartbeat_stream_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = EchoHandler()
    async with running_server(handler) as server:
        async with connect_peer(
            server.local_address, pin=server.pin, identity=generate_identity(), heartbeat_period_s=0.05
        ) as peer:
            await wait_until(lambda: peer.pongs >= 2)
        await wait_until(lambda: len(handler.disconnected) == 1)
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


async def test_rpc_raced_onto_stream_zero_gets_its_real_answer() -> None:
    async with server_and_peer(EchoHandler()) as (_server, peer):
        stream = peer.open_stream()
        assert stream.stream_id == 0
        stream.send_frame(RpcRequest(method=3, payload=b"raced").SerializeToString(), end_stream=True)
        reply = await stream.receive_frame()
        assert reply is not None
        response = await peer.call_raw(3, b"next")
        assert response.payload == b"\x03next"
    from tracker._proto.rpc_pb2 import RpcResponse

    raced = RpcResponse.FromString(reply)
    assert raced.status == RpcStatus.OK and raced.payload == b"\x03raced"


async def test_garbage_frame_then_a_good_call_on_the_same_connection() -> None:
    async with server_and_peer(EchoHandler()) as (_server, peer):
        response = await peer.exchange_frame(b"\xff\xff\xff\xff")
        assert response.status == RpcStatus.INVALID
        assert response.error.code == "FRAME"
        assert response.error.message.startswith("server: unmarshal: ")
        assert (await peer.call_raw(3, b"ok")).payload == b"\x03ok"


async def test_oversized_header_is_answered_with_frame_before_the_body() -> None:
    async with server_and_peer(EchoHandler()) as (_server, peer):
        stream = peer.open_stream()
        stream.send((2 << 20).to_bytes(4, "big") + b"\x00" * 1000)  # no FIN: the body never comes
        with trio.fail_after(5):
            reply = await stream.receive_frame()
        response = RpcResponse.FromString(reply or b"")
        assert response.status == RpcStatus.INVALID
        assert response.error.code == "FRAME"
        assert response.error.message == "server: frame exceeds max size: 2097152 > 1048576"
        assert (await peer.call_raw(3, b"after")).payload == b"\x03after"


async def test_1100_concurrent_rpcs_on_one_connection() -> None:
    async with server_and_peer(EchoHandler(), RpcServerSettings(max_incoming_streams=1024)) as (_, peer):
        answers: dict[int, bytes] = {}

        async def call(index: int) -> None:
            answers[index] = (await peer.call_raw(3, index.to_bytes(2, "big"))).payload

        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for index in range(1100):
                    nursery.start_soon(call, index)
        assert answers == {index: b"\x03" + index.to_bytes(2, "big") for index in range(1100)}


async def test_reconnect_supersedes_the_old_connection() -> None:
    handler = EchoHandler()
    identity = generate_identity()
    async with running_server(handler) as server:
        async with connect_peer(server.local_address, pin=server.pin, identity=identity) as old:
            await old.call_raw(3, b"old")
            async with connect_peer(server.local_address, pin=server.pin, identity=identity) as new:
                with trio.fail_after(5):
                    assert await old.wait_closed() == "superseded"
                await trio.sleep(0.1)  # the old connection's teardown has run on the server
                assert server.peers.get(new.canonical_id) is not None
                assert (await new.call_raw(3, b"new")).payload == b"\x03new"
                assert handler.disconnected == []
        await wait_until(lambda: len(handler.disconnected) == 1)


async def test_disconnect_is_reported_once() -> None:
    handler = EchoHandler()
    async with running_server(handler) as server:
        async with connect_peer(server.local_address, pin=server.pin, identity=generate_identity()) as peer:
            await peer.call_raw(3, b"x")
        await wait_until(lambda: len(handler.disconnected) == 1)
        assert len(server.peers) == 0


async def test_drain_closes_connections_with_server_close() -> None:
    async with server_and_peer(EchoHandler()) as (server, peer):
        await peer.call_raw(3, b"x")
        await server.drain(1.0)
        with trio.fail_after(5):
            assert await peer.wait_closed() == "server close"
        assert peer.close_error_code == 0


async def test_unidirectional_streams_are_stopped_and_the_connection_survives() -> None:
    async with server_and_peer(EchoHandler()) as (_, peer):
        quic = peer._driver.quic
        stream_id = quic.get_next_available_stream_id(is_unidirectional=True)
        peer._driver._call(
            lambda connection: connection.send_stream_data(stream_id, b"\x00\x00\x00\x01x", True)
        )
        assert (await peer.call_raw(3, b"after")).payload == b"\x03after"


async def test_a_handshake_that_never_completes_times_out() -> None:
    settings = RpcServerSettings(handshake_timeout_s=0.3)
    async with running_server(EchoHandler(), settings) as server:
        from tracker.client import client_configuration
        from tracker.rpc import TrackerQuicConnection, bind_udp

        sock = bind_udp("127.0.0.1", 0)
        try:
            configuration = client_configuration(
                ClientCredentials.for_identity(generate_identity()), "tokenbay/1"
            )
            quic = TrackerQuicConnection(configuration=configuration, max_incoming_streams=100)
            quic.connect(server.local_address, now=trio.current_time())
            for data, address in quic.datagrams_to_send(now=trio.current_time()):
                sock.sendto(data, address)  # the first flight only: the client then goes silent
            await wait_until(lambda: server.connection_count == 1)
            await wait_until(lambda: server.connection_count == 0, timeout=10)
            assert server.metrics.handshakes.labels(result="timeout")._value.get() == 1
        finally:
            sock.close()


async def test_buffered_bytes_are_capped_per_stream_and_per_connection() -> None:
    frame_limit = 16 * 1024
    async with server_and_peer(EchoHandler(), RpcServerSettings(max_frame_size=frame_limit)) as (
        _server,
        peer,
    ):
        # One stream: a whole frame followed by more bytes than one frame may buffer → that stream is reset.
        flooded = peer.open_stream()
        flooded.send(frame_limit.to_bytes(4, "big") + b"\x00" * (2 * frame_limit))
        with trio.fail_after(5):
            try:
                reply = await flooded.receive_frame()
            except StreamClosed:
                reply = None
        assert reply is None or RpcResponse.FromString(reply).status != RpcStatus.OK
        assert (await peer.call_raw(3, b"alive")).payload == b"\x03alive"
        # Many streams each holding an unfinished frame: past the connection's cap the connection is closed.
        for _ in range(12):
            stream = peer.open_stream()
            stream.send(frame_limit.to_bytes(4, "big") + b"\x00" * (frame_limit - 1))
        with trio.fail_after(10):
            assert await peer.wait_closed() == "buffer limit exceeded"


async def test_idle_timeout_comes_from_the_settings() -> None:
    handler = EchoHandler()
    async with server_and_peer(handler, RpcServerSettings(idle_timeout_s=0.5), heartbeat_period_s=3600) as (
        server,
        peer,
    ):
        await peer.call_raw(3, b"x")
        await wait_until(lambda: len(handler.disconnected) == 1, timeout=10)
        await wait_until(lambda: server.connection_count == 0)


async def test_stream_limit_comes_from_the_settings_and_excess_calls_wait() -> None:
    async with server_and_peer(EchoHandler(), RpcServerSettings(max_incoming_streams=16)) as (server, peer):
        handler_release = trio.Event()
        server.handler.release = handler_release  # type: ignore[attr-defined]
        answered: list[int] = []

        async def call(index: int) -> None:
            await peer.call_raw(3, bytes([index]))
            answered.append(index)

        async with trio.open_nursery() as nursery:
            for index in range(40):
                nursery.start_soon(call, index)
            await trio.sleep(0.3)
            in_flight = server.peers.get(peer.canonical_id).in_flight  # type: ignore[union-attr]
            assert in_flight <= 16
            handler_release.set()
        assert sorted(answered) == list(range(40))


async def test_drain_lets_an_in_flight_rpc_finish_within_the_grace_period() -> None:
    handler = EchoHandler()
    async with server_and_peer(handler) as (server, peer):
        handler.release = trio.Event()
        answers: list[bytes] = []

        async def call() -> None:
            answers.append((await peer.call_raw(3, b"slow")).payload)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(call)
            await wait_until(lambda: server.peers.get(peer.canonical_id).in_flight == 1)  # type: ignore[union-attr]
            nursery.start_soon(server.drain, 5.0)
            await trio.sleep(0.2)
            assert not peer.closed
            handler.release.set()
        assert answers == [b"\x03slow"]
        with trio.fail_after(5):
            assert await peer.wait_closed() == "server close"
