"""The reference peer: a Trio client of the plugin RPC that speaks what the Go plugin speaks (same
certificates, ALPN, framing, heartbeat cadence, enrolment preimage and ids), over the tracker's own
transport code in client mode.

    async with connect_peer(("127.0.0.1", 7000), pin=pin, identity=key) as peer:
        enrolled = await peer.enroll(role=1, account_fingerprint=fp)
        snapshot = await peer.balance()
"""

from __future__ import annotations

import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import trio
from aioquic.quic.configuration import QuicConfiguration
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from google.protobuf.message import DecodeError, Message

from tracker._proto import rpc_pb2
from tracker._proto.balance_pb2 import SignedBalanceSnapshot
from tracker._proto.envelope_pb2 import EnvelopeSigned
from tracker._proto.rpc_pb2 import (
    Advertisement,
    BalanceRequest,
    BootstrapPeerList,
    BootstrapPeersRequest,
    BrokerRequestResponse,
    EnrollRequest,
    EnrollResponse,
    HeartbeatPing,
    HeartbeatPong,
    OfferDecision,
    OfferPush,
    RpcRequest,
    RpcResponse,
    SettleAck,
    SettlementPush,
    SettleRequest,
    StunAllocateRequest,
    StunAllocateResponse,
    TransferProof,
    TransferRequest,
    TurnRelayOpenRequest,
    TurnRelayOpenResponse,
    UsageReport,
)
from tracker.client._errors import (
    ERROR_BY_STATUS,
    ConnectError,
    ConnectionLost,
    InvalidResponse,
    PinMismatch,
)
from tracker.identity import TrackerIdentity
from tracker.rpc import (
    ALPN,
    DEFAULT_MAX_FRAME_SIZE,
    PUSH_TAG_OFFER,
    PUSH_TAG_SETTLEMENT,
    ConnectionLimits,
    PeerCertificateError,
    QuicConnectionDriver,
    QuicStream,
    RpcMethod,
    RpcStatus,
    StreamClosed,
    TrackerQuicConnection,
    UdpEndpoint,
    bind_udp,
    certificate_pin,
    check_peer_certificates,
    enroll_preimage,
    peer_certificate,
    peer_certificates,
    raw_pub_id,
    spki_id_of_public_key,
    x509_private_key,
)

logger = logging.getLogger("tracker.client")

HEARTBEAT_PERIOD_S = 15.0
HEARTBEAT_MISSES = 3
HANDSHAKE_TIMEOUT_S = 10.0
CLIENT_IDLE_TIMEOUT_S = 30.0
CLIENT_MAX_INCOMING_STREAMS = 100

OfferHandler = Callable[[OfferPush], Awaitable[OfferDecision]]
SettlementHandler = Callable[[SettlementPush], Awaitable[SettleAck | None]]


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """The certificate and key the client presents. `certificate=None` presents none (tests of refusal)."""

    certificate: x509.Certificate | None
    private_key: CertificateIssuerPrivateKeyTypes | None

    @classmethod
    def for_identity(cls, identity: TrackerIdentity) -> ClientCredentials:
        private_key = x509_private_key(identity)
        return cls(peer_certificate(private_key), private_key)


class PeerClient:
    """One connected peer. Obtain it from `connect_peer`; every RPC method opens its own stream."""

    def __init__(
        self,
        driver: QuicConnectionDriver,
        identity: TrackerIdentity,
        *,
        max_frame_size: int,
        on_offer: OfferHandler | None,
        on_settlement: SettlementHandler | None,
    ) -> None:
        self._driver = driver
        self.identity = identity
        self._max_frame_size = max_frame_size
        self._on_offer = on_offer
        self._on_settlement = on_settlement
        self.last_pong = trio.current_time()
        self.pongs = 0
        self.max_pong_delay = 0.0  # seconds from a ping to the pong carrying its seq
        self._ping_sent_at: dict[int, float] = {}

    @property
    def canonical_id(self) -> bytes:
        return spki_id_of_public_key(self.identity.public_key)

    @property
    def raw_pub_id(self) -> bytes:
        return raw_pub_id(self.identity.public_key)

    @property
    def closed(self) -> bool:
        return self._driver.closing.is_set()

    @property
    def close_reason(self) -> str:
        return self._driver.close_reason or (self._driver.local_close_reason or "")

    @property
    def close_error_code(self) -> int | None:
        return self._driver.close_error_code

    async def wait_closed(self) -> str:
        """Wait until the connection is terminated; returns the close reason."""
        await self._driver.terminated.wait()
        return self.close_reason

    def close(self, reason: str = "client close") -> None:
        self._driver.close(reason)

    # ---- raw calls ----------------------------------------------------------------------------------------

    def open_stream(self) -> QuicStream:
        return self._driver.open_stream()

    async def call_raw(self, method: int, payload: bytes) -> RpcResponse:
        """Send one RpcRequest on a new stream and return the decoded RpcResponse (any status)."""
        request = RpcRequest(method=cast(rpc_pb2.RpcMethod, method), payload=payload)
        return await self.exchange_frame(request.SerializeToString(deterministic=True))

    async def exchange_frame(self, body: bytes) -> RpcResponse:
        """Send one frame + FIN on a new stream and decode the one reply frame as an RpcResponse."""
        try:
            stream = self._driver.open_stream()
            stream.send_frame(body, end_stream=True)
            reply = await stream.receive_frame()
        except StreamClosed as error:
            raise self._lost(str(error)) from None
        if reply is None:
            raise self._lost("stream closed without a response")
        response = RpcResponse()
        try:
            response.ParseFromString(reply)
        except DecodeError as error:
            raise InvalidResponse(0, "DECODE", str(error)) from None
        return response

    def _lost(self, detail: str) -> ConnectionLost:
        return ConnectionLost(
            f"rpc: {detail} ({self.close_reason or 'connection open'})",
            error_code=self._driver.close_error_code,
            reason=self.close_reason,
        )

    async def call(self, method: RpcMethod, request: Message, response_type: type[Message] | None) -> Message:
        """One unary RPC: OK → the decoded payload (an empty payload decodes to the default message);
        otherwise the typed RpcCallError of the status."""
        response = await self.call_raw(int(method), request.SerializeToString(deterministic=True))
        if int(response.status) != RpcStatus.OK:
            if (
                response.status not in ERROR_BY_STATUS
                or not response.HasField("error")
                or not response.error.code
            ):
                raise InvalidResponse(response.status, response.error.code, response.error.message)
            raise ERROR_BY_STATUS[response.status](
                response.status, response.error.code, response.error.message
            )
        if response_type is None:
            return RpcResponse()
        message = response_type()
        try:
            message.ParseFromString(response.payload)
        except DecodeError as error:
            raise InvalidResponse(response.status, "DECODE", str(error)) from None
        return message

    # ---- one method per RPC -------------------------------------------------------------------------------

    async def enroll(
        self, *, role: int = 1, account_fingerprint: bytes | None = None, nonce: bytes | None = None
    ) -> EnrollResponse:
        fingerprint = account_fingerprint if account_fingerprint is not None else bytes(32)
        nonce = nonce if nonce is not None else os.urandom(16)
        public_key = self.identity.public_key
        request = EnrollRequest(
            identity_pubkey=public_key,
            role=role,
            account_fingerprint=fingerprint,
            nonce=nonce,
            consumer_sig=self.identity.sign(enroll_preimage(nonce, fingerprint, public_key)),
        )
        return await self.call(RpcMethod.ENROLL, request, EnrollResponse)  # type: ignore[return-value]

    async def balance(self, identity_id: bytes | None = None) -> SignedBalanceSnapshot:
        """The signed balance of `identity_id` (default: our raw-pub id, as the Go plugin asks)."""
        request = BalanceRequest(identity_id=identity_id if identity_id is not None else self.raw_pub_id)
        return await self.call(RpcMethod.BALANCE, request, SignedBalanceSnapshot)  # type: ignore[return-value]

    async def advertise(
        self,
        models: list[str],
        *,
        max_context: int = 0,
        available: bool = True,
        headroom: float = 1.0,
        tiers: int = 1,
    ) -> None:
        request = Advertisement(
            models=models, max_context=max_context, available=available, headroom=headroom, tiers=tiers
        )
        await self.call(RpcMethod.ADVERTISE, request, None)

    async def stun_allocate(self) -> str:
        response = await self.call(RpcMethod.STUN_ALLOCATE, StunAllocateRequest(), StunAllocateResponse)
        return response.external_addr  # type: ignore[attr-defined,no-any-return]

    async def turn_relay_open(self, session_id: bytes) -> TurnRelayOpenResponse:
        request = TurnRelayOpenRequest(session_id=session_id)
        return await self.call(RpcMethod.TURN_RELAY_OPEN, request, TurnRelayOpenResponse)  # type: ignore[return-value]

    async def bootstrap_peers(self) -> BootstrapPeerList:
        request = BootstrapPeersRequest()
        return await self.call(RpcMethod.BOOTSTRAP_PEERS, request, BootstrapPeerList)  # type: ignore[return-value]

    async def broker_request(self, envelope: EnvelopeSigned) -> BrokerRequestResponse:
        return await self.call(RpcMethod.BROKER_REQUEST, envelope, BrokerRequestResponse)  # type: ignore[return-value]

    async def usage_report(self, report: UsageReport) -> None:
        await self.call(RpcMethod.USAGE_REPORT, report, None)

    async def settle(self, preimage_hash: bytes, consumer_sig: bytes) -> None:
        await self.call(
            RpcMethod.SETTLE, SettleRequest(preimage_hash=preimage_hash, consumer_sig=consumer_sig), None
        )

    async def transfer_request(self, request: TransferRequest) -> TransferProof:
        return await self.call(RpcMethod.TRANSFER_REQUEST, request, TransferProof)  # type: ignore[return-value]

    # ---- background tasks ---------------------------------------------------------------------------------

    async def _heartbeat(self, period_s: float, misses: int) -> None:
        """A ping every `period_s` on our heartbeat stream (opened at the first tick, as the plugin writes
        nothing before it); the connection is torn down when no pong came for `misses` × `period_s`."""
        stream: QuicStream | None = None
        seq = 0
        async with trio.open_nursery() as nursery:
            while True:
                await trio.sleep(period_s)
                if self._driver.closing.is_set():
                    return  # closed by either side: `closed` and `close_reason` tell the owner
                if stream is None:
                    stream = self._driver.open_stream()
                    nursery.start_soon(self._read_pongs, stream)
                seq += 1
                ping = HeartbeatPing(seq=seq, t=int(time.time() * 1000))
                stream.send_frame(ping.SerializeToString(deterministic=True))
                self._ping_sent_at[seq] = trio.current_time()
                self._ping_sent_at.pop(seq - misses - 1, None)
                if trio.current_time() - self.last_pong > misses * period_s:
                    logger.warning(
                        "client: no pong for too many heartbeats; closing", extra={"missed": misses}
                    )
                    self._driver.close("heartbeat timeout")
                    return

    async def _read_pongs(self, stream: QuicStream) -> None:
        while True:
            try:
                body = await stream.receive_frame()
            except StreamClosed:
                return
            if body is None:
                return
            pong = HeartbeatPong()
            try:
                pong.ParseFromString(body)
            except DecodeError:
                continue
            self.pongs += 1
            self.last_pong = trio.current_time()
            sent_at = self._ping_sent_at.pop(pong.seq, None)
            if sent_at is not None:
                self.max_pong_delay = max(self.max_pong_delay, self.last_pong - sent_at)

    async def _serve_pushes(self) -> None:
        async with trio.open_nursery() as nursery:
            async for stream in self._driver.incoming:
                nursery.start_soon(self._serve_push, stream)

    async def _serve_push(self, stream: QuicStream) -> None:
        try:
            tag = await stream.receive_tag()
            body = await stream.receive_frame()
        except (StreamClosed, Exception):
            stream.abort()
            return
        if body is None:
            stream.finish()
            return
        reply: Message | None = None
        try:
            if tag == PUSH_TAG_OFFER:
                offer = OfferPush.FromString(body)
                if self._on_offer is None:
                    reply = OfferDecision(
                        accept=False,
                        reject_reason="trackerclient: server pushed a stream but no handler is registered",
                    )
                else:
                    reply = await self._on_offer(offer)
            elif tag == PUSH_TAG_SETTLEMENT and self._on_settlement is not None:
                reply = await self._on_settlement(SettlementPush.FromString(body))
        except DecodeError:
            reply = (
                OfferDecision(accept=False, reject_reason="trackerclient: invalid push shape")
                if tag == 1
                else None
            )
        if reply is not None:
            stream.send_frame(reply.SerializeToString(deterministic=True), end_stream=True)
        else:
            stream.finish()


def client_configuration(credentials: ClientCredentials, alpn: str) -> QuicConfiguration:
    """The plugin's TLS: ALPN, our certificate, no chain verification of the tracker (the pin is checked
    after the handshake), no tickets, no 0-RTT."""
    return QuicConfiguration(
        is_client=True,
        alpn_protocols=[alpn],
        certificate=credentials.certificate,
        private_key=credentials.private_key,
        verify_mode=ssl.CERT_NONE,
        idle_timeout=CLIENT_IDLE_TIMEOUT_S,
    )


@asynccontextmanager
async def connect_peer(
    address: tuple[str, int],
    *,
    pin: bytes,
    identity: TrackerIdentity,
    credentials: ClientCredentials | None = None,
    alpn: str = ALPN,
    heartbeat_period_s: float = HEARTBEAT_PERIOD_S,
    heartbeat_misses: int = HEARTBEAT_MISSES,
    handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    on_offer: OfferHandler | None = None,
    on_settlement: SettlementHandler | None = None,
) -> AsyncIterator[PeerClient]:
    """Connect to a tracker, check its pin, heartbeat in the background, and yield a PeerClient. On exit the
    connection is closed with "client close". Raises ConnectError (handshake refused or timed out) or
    PinMismatch. An exception raised in the body comes out as itself, not inside an exception group."""
    credentials = credentials or ClientCredentials.for_identity(identity)
    host, port = address
    sock = bind_udp("::" if ":" in host else "0.0.0.0", 0)
    udp = UdpEndpoint(sock)
    quic = TrackerQuicConnection(
        configuration=client_configuration(credentials, alpn),
        max_incoming_streams=CLIENT_MAX_INCOMING_STREAMS,
    )
    driver = QuicConnectionDriver(quic, udp.sendto, ConnectionLimits.for_frame_size(max_frame_size))
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(udp.receive_loop, driver.datagram_received)
            nursery.start_soon(driver.run)
            driver.connect((host, port))
            refusal = await _handshake(driver, pin, f"{host}:{port}", handshake_timeout_s)
            if refusal is not None:
                with trio.CancelScope(deadline=trio.current_time() + 1.0):
                    await driver.terminated.wait()
                nursery.cancel_scope.cancel()
                raise refusal
            client = PeerClient(
                driver,
                identity,
                max_frame_size=max_frame_size,
                on_offer=on_offer,
                on_settlement=on_settlement,
            )
            nursery.start_soon(client._serve_pushes)
            nursery.start_soon(client._heartbeat, heartbeat_period_s, heartbeat_misses)
            try:
                yield client
            finally:
                driver.close("client close")
                with trio.CancelScope(shield=True, deadline=trio.current_time() + 1.0):
                    await driver.terminated.wait()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        raise _sole_exception(group) from None
    finally:
        sock.close()


def _sole_exception(group: BaseExceptionGroup) -> BaseException:
    """The one exception inside (nested) groups, or the group itself when there are several."""
    leaves: list[BaseException] = []

    def collect(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                collect(inner)
        else:
            leaves.append(error)

    collect(group)
    return leaves[0] if len(leaves) == 1 else group


async def _handshake(
    driver: QuicConnectionDriver, pin: bytes, target: str, timeout_s: float
) -> ConnectError | None:
    """Wait for the handshake and check the tracker's certificate and pin; the error to raise, or None."""
    with trio.move_on_after(timeout_s):
        async with trio.open_nursery() as waiters:
            waiters.start_soon(_cancel_when, driver.handshake_complete, waiters.cancel_scope)
            waiters.start_soon(_cancel_when, driver.closing, waiters.cancel_scope)
    if not driver.handshake_complete.is_set() or driver.closing.is_set():
        driver.close("handshake timeout")
        return ConnectError(
            f"connect to {target} failed: {driver.close_reason or 'handshake timed out'}",
            error_code=driver.close_error_code,
            reason=driver.close_reason,
        )
    certificates = peer_certificates(driver.quic)
    try:
        check_peer_certificates(certificates)
    except PeerCertificateError as error:
        driver.close("bad tracker certificate")
        return ConnectError(f"tracker certificate refused: {error.reason}")
    actual = certificate_pin(certificates[0])
    if actual != pin:
        driver.close("pin mismatch")
        return PinMismatch(f"tracker at {target} has pin {actual.hex()}, want {pin.hex()}")
    return None


async def _cancel_when(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()
