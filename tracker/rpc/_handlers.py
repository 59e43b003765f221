"""The tracker's RPC methods (rpc-broker §3.4 with the spec README's decisions): ENROLL, BALANCE, ADVERTISE,
STUN_ALLOCATE, TURN_RELAY_OPEN (token issuance only), BOOTSTRAP_PEERS, NOT_IMPLEMENTED for TRANSFER_REQUEST;
BROKER_REQUEST, USAGE_REPORT and SETTLE go to `_broker_handlers` when a broker is wired (NOT_IMPLEMENTED
otherwise). Also the peer hooks: heartbeats refresh the
registry, a disconnect marks the seeder unavailable.

Every id a request carries is resolved to the canonical id (SHA-256 of the SPKI) before anything is recorded:
first among connected peers, then in the durable identity table. Bad input is INVALID, never INTERNAL.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import trio

from tracker._proto.rpc_pb2 import (
    Advertisement,
    BalanceRequest,
    BootstrapPeerList,
    EnrollRequest,
    EnrollResponse,
    StunAllocateRequest,
    StunAllocateResponse,
    TransferRequest,
    TurnRelayOpenRequest,
    TurnRelayOpenResponse,
)
from tracker.broker import BrokerService
from tracker.identity import TrackerIdentity, verify
from tracker.ledger import (
    AsyncLedger,
    CommittedEntry,
    IdentityStore,
    PeerIdentity,
    SignedBalanceSnapshot,
    encode_entry,
)
from tracker.registry import Capabilities, NetCoords, PrivacyTier, Registry, SeederRecord, UnknownSeederError
from tracker.rpc._broker_handlers import BrokerHandlers
from tracker.rpc._errors import (
    InvalidArgument,
    NoCapacityError,
    NotImplementedRpc,
    UnauthenticatedError,
)
from tracker.rpc._peers import Peer
from tracker.rpc._rate import RateLimiter
from tracker.rpc._router import MethodHandler, Router, parse_payload, require_length
from tracker.rpc._wire import RpcMethod

logger = logging.getLogger("tracker.rpc")

ENROLL_PREIMAGE_PREFIX = b"token-bay-enroll:v1"
_TIER_BITS = {0b01: PrivacyTier.STANDARD, 0b10: PrivacyTier.TEE}
_KNOWN_TIER_BITS = 0b11
_DEFAULT_BOOTSTRAP_TTL_S = 600
_DEFAULT_RELAY_ENDPOINT = "127.0.0.1:0"
_RESOLVE_CACHE_SIZE = 100_000
MAX_RELAY_SESSIONS = 100_000
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RpcServiceSettings:
    starter_grant_credits: int = 1000
    enroll_rate_per_min_per_ip: float = 1.0
    turn_relay_endpoint: str = ":3479"
    turn_session_ttl_s: float = 30.0
    bootstrap_ttl_s: int = _DEFAULT_BOOTSTRAP_TTL_S
    broker_request_rate_per_sec: float = 2.0

    @classmethod
    def from_config(cls, config: object) -> RpcServiceSettings:
        """From a tracker Config (admission, federation, stun_turn sections)."""
        ttl = config.federation.bootstrap.ttl_seconds  # type: ignore[attr-defined]
        return cls(
            starter_grant_credits=config.admission.starter_grant_credits,  # type: ignore[attr-defined]
            enroll_rate_per_min_per_ip=config.federation.enroll_rate_per_min_per_ip,  # type: ignore[attr-defined]
            turn_relay_endpoint=config.stun_turn.turn_listen_addr,  # type: ignore[attr-defined]
            turn_session_ttl_s=config.stun_turn.session_ttl_seconds,  # type: ignore[attr-defined]
            bootstrap_ttl_s=ttl if ttl > 0 else _DEFAULT_BOOTSTRAP_TTL_S,
            broker_request_rate_per_sec=config.broker.broker_request_rate_per_sec,  # type: ignore[attr-defined]
        )


def enroll_preimage(nonce: bytes, account_fingerprint: bytes, public_key: bytes) -> bytes:
    """What the plugin signs to enrol (99 bytes): "token-bay-enroll:v1" ‖ nonce16 ‖ fingerprint32 ‖ pub32."""
    return ENROLL_PREIMAGE_PREFIX + nonce + account_fingerprint + public_key


@dataclass(slots=True)
class _RelaySession:
    parties: frozenset[bytes]
    token: bytes
    expires_at: float


class TrackerRpcService:
    """The RpcHandler of a running tracker. `identities` is the durable identity table (blocking; used from a
    worker thread); `clock` gives unix seconds; `tracker_pin` is SHA-256 of the tracker certificate's SPKI."""

    def __init__(
        self,
        *,
        ledger: AsyncLedger,
        identities: IdentityStore,
        registry: Registry,
        tracker_identity: TrackerIdentity,
        tracker_pin: bytes,
        settings: RpcServiceSettings | None = None,
        clock: Callable[[], float] = time.time,
        broker: BrokerService | None = None,
    ) -> None:
        self._ledger = ledger
        self._identities = identities
        self._registry = registry
        self._tracker = tracker_identity
        self._pin = tracker_pin
        self.settings = settings or RpcServiceSettings()
        self._clock = clock
        self._enroll_limiter = RateLimiter(self.settings.enroll_rate_per_min_per_ip)
        self._enroll_lock = trio.Lock()
        self._identity_limiter = trio.CapacityLimiter(1)
        self._connected: dict[bytes, bytes] = {}  # raw-pub id -> canonical id of connected peers
        self._resolved: dict[bytes, bytes] = {}  # any id -> canonical id, as last read from the table
        self._roles: dict[bytes, int] = {}  # canonical id -> enrolment role, of peers enrolled or looked up
        self._relay_sessions: dict[bytes, _RelaySession] = {}
        self.broker = (
            None
            if broker is None
            else BrokerHandlers(
                broker,
                resolve=self.resolve,
                tracker_public_key=tracker_identity.public_key,
                rate_per_sec=self.settings.broker_request_rate_per_sec,
                clock=clock,
            )
        )
        self.router = Router(
            {
                RpcMethod.ENROLL: self.enroll,
                RpcMethod.BROKER_REQUEST: (
                    self.broker.broker_request if self.broker else _not_implemented("broker_request")
                ),
                RpcMethod.BALANCE: self.balance,
                RpcMethod.SETTLE: self.broker.settle if self.broker else _not_implemented("settle"),
                RpcMethod.USAGE_REPORT: (
                    self.broker.usage_report if self.broker else _not_implemented("usage_report")
                ),
                RpcMethod.ADVERTISE: self.advertise,
                RpcMethod.TRANSFER_REQUEST: self.transfer_request,
                RpcMethod.STUN_ALLOCATE: self.stun_allocate,
                RpcMethod.TURN_RELAY_OPEN: self.turn_relay_open,
                RpcMethod.BOOTSTRAP_PEERS: self.bootstrap_peers,
            }
        )

    # ---- RpcHandler ---------------------------------------------------------------------------------------

    async def handle_rpc(self, peer: Peer, method: int, payload: bytes) -> bytes:
        return await self.router.dispatch(peer, method, payload)

    def peer_connected(self, peer: Peer) -> None:
        self._connected[peer.raw_pub_id] = peer.canonical_id

    async def enrolled_role(self, canonical_id: bytes) -> int | None:
        """The role `canonical_id` enrolled with; None when it has not enrolled."""
        role = self._roles.get(canonical_id)
        if role is None:
            known = await self._identity_call(self._identities.lookup, canonical_id)
            if known is not None and known.canonical_id == canonical_id:
                role = self._roles[canonical_id] = known.role
        return role

    def peer_disconnected(self, peer: Peer) -> None:
        self._connected.pop(peer.raw_pub_id, None)
        record = self._registry.get(peer.canonical_id)
        if record is not None:
            self._registry.advertise(peer.canonical_id, record.capabilities, False, record.headroom_estimate)

    def heartbeat(self, peer: Peer) -> None:
        with contextlib.suppress(UnknownSeederError):  # not a seeder (yet), or swept
            self._registry.heartbeat(peer.canonical_id, self._clock())

    # ---- identity resolution ------------------------------------------------------------------------------

    async def _identity_call(self, function: Callable[..., _T], *args: object) -> _T:
        return await trio.to_thread.run_sync(function, *args, limiter=self._identity_limiter)

    async def resolve(self, identity_id: bytes) -> bytes:
        """The canonical id of `identity_id` (a canonical or a raw-pub id); unknown ids are returned as
        they are."""
        canonical = self._connected.get(identity_id) or self._resolved.get(identity_id)
        if canonical is not None:
            return canonical
        known = await self._identity_call(self._identities.lookup, identity_id)
        canonical = known.canonical_id if known is not None else identity_id
        self._remember(identity_id, canonical)
        return canonical

    def _remember(self, identity_id: bytes, canonical_id: bytes) -> None:
        # This service is the identity table's only writer, so a cached answer (even "unknown", cached as the
        # id itself) stays right until an enrolment, which updates the cache.
        if len(self._resolved) >= _RESOLVE_CACHE_SIZE:
            self._resolved.clear()
            self._roles.clear()
        self._resolved[identity_id] = canonical_id

    # ---- methods ------------------------------------------------------------------------------------------

    async def enroll(self, peer: Peer, payload: bytes) -> EnrollResponse:
        request = parse_payload(EnrollRequest, payload)
        require_length("identity_pubkey", request.identity_pubkey, 32)
        require_length("account_fingerprint", request.account_fingerprint, 32)
        require_length("nonce", request.nonce, 16)
        require_length("consumer_sig", request.consumer_sig, 64)
        if request.identity_pubkey != peer.public_key:
            raise UnauthenticatedError("identity_pubkey is not the key of the connection's certificate")
        preimage = enroll_preimage(request.nonce, request.account_fingerprint, request.identity_pubkey)
        if not verify(peer.public_key, preimage, request.consumer_sig):
            raise UnauthenticatedError("enrollment signature invalid")
        async with self._enroll_lock:
            granted = await self._identity_call(self._identities.starter_grant_seq, peer.canonical_id)
            if granted is not None:
                entry = await self._ledger.entry_by_seq(granted)
                if entry is None:
                    raise RuntimeError(f"starter grant seq {granted} is missing from the ledger")
            else:
                if not self._enroll_limiter.allow(peer.host, trio.current_time()):
                    raise NoCapacityError(
                        f"enrollment rate limit: {self._enroll_limiter.rate_per_min:g} per minute per IP "
                        "(federation.enroll_rate_per_min_per_ip)"
                    )
                entry = await self._ledger.issue_starter_grant(
                    peer.canonical_id, self.settings.starter_grant_credits
                )
                logger.info(
                    "rpc: enrolled", extra={"peer_id": peer.canonical_id.hex(), "grant_seq": entry.seq}
                )
            stored = await self._identity_call(
                self._identities.record,
                PeerIdentity(
                    canonical_id=peer.canonical_id,
                    raw_pub_id=peer.raw_pub_id,
                    public_key=peer.public_key,
                    role=request.role,
                    account_fingerprint=request.account_fingerprint,
                    enrolled_at=int(self._clock()),
                ),
            )
            self._remember(peer.raw_pub_id, peer.canonical_id)
            self._remember(peer.canonical_id, peer.canonical_id)
            self._roles[peer.canonical_id] = stored.role
        return _enroll_response(peer.canonical_id, entry)

    async def balance(self, peer: Peer, payload: bytes) -> SignedBalanceSnapshot:
        request = parse_payload(BalanceRequest, payload)
        require_length("identity_id", request.identity_id, 32)
        return await self._ledger.signed_balance(await self.resolve(request.identity_id))

    async def advertise(self, peer: Peer, payload: bytes) -> None:
        advertisement = parse_payload(Advertisement, payload)
        headroom = float(advertisement.headroom)
        if math.isnan(headroom) or not 0.0 <= headroom <= 1.0:
            raise InvalidArgument(f"invalid headroom {headroom!r}: want a number in [0, 1]")
        if advertisement.tiers & ~_KNOWN_TIER_BITS:
            raise InvalidArgument(f"unknown tier bits 0x{advertisement.tiers & ~_KNOWN_TIER_BITS:x}")
        if any(not model for model in advertisement.models):
            raise InvalidArgument("empty model name")
        tiers = [tier for bit, tier in _TIER_BITS.items() if advertisement.tiers & bit]
        capabilities = Capabilities(
            models=list(advertisement.models), max_context=advertisement.max_context, tiers=tiers
        )
        if self._registry.get(peer.canonical_id) is None:
            self._registry.register(
                SeederRecord(
                    identity_id=peer.canonical_id,
                    net_coords=NetCoords(external_addr=peer.address),
                    last_heartbeat=self._clock(),
                )
            )
        else:
            self._registry.update_external_addr(peer.canonical_id, peer.address)
        self._registry.advertise(peer.canonical_id, capabilities, advertisement.available, headroom)

    async def transfer_request(self, peer: Peer, payload: bytes) -> None:
        parse_payload(TransferRequest, payload)
        raise NotImplementedRpc("transfer_request")

    async def stun_allocate(self, peer: Peer, payload: bytes) -> StunAllocateResponse:
        if payload:
            parse_payload(StunAllocateRequest, payload)
        return StunAllocateResponse(external_addr=peer.address)

    async def turn_relay_open(self, peer: Peer, payload: bytes) -> TurnRelayOpenResponse:
        """Token issuance only (no relay data plane yet). With a broker the session id is a reservation token
        and both parties of its assignment get the same session; without one every session is the caller's
        own (Go's self-loop mode). A party asking again gets the same token; sessions expire after the TTL."""
        request = parse_payload(TurnRelayOpenRequest, payload)
        if len(request.session_id) != 16:
            raise InvalidArgument(f"session_id length {len(request.session_id)}, want 16")
        now = trio.current_time()
        for session_id in [key for key, value in self._relay_sessions.items() if value.expires_at <= now]:
            del self._relay_sessions[session_id]
        session = self._relay_sessions.get(request.session_id)
        parties = frozenset({peer.canonical_id})
        if self.broker is not None:
            # With a broker, the session id is a reservation token: both parties of the assignment share it.
            assigned = self.broker.broker.inflight.get(request.session_id)
            if assigned is None or not assigned.assigned_seeder:
                raise InvalidArgument("turn_relay_open: unknown reservation_token")
            parties = frozenset({assigned.consumer_id, assigned.assigned_seeder})
            if peer.canonical_id not in parties:
                raise UnauthenticatedError("turn_relay_open: caller not party to reservation")
        if session is None:
            if len(self._relay_sessions) >= MAX_RELAY_SESSIONS:
                raise NoCapacityError(
                    f"turn_relay_open: {MAX_RELAY_SESSIONS} relay sessions open; retry later"
                )
            session = _RelaySession(
                parties=parties,
                token=os.urandom(16),
                expires_at=now + self.settings.turn_session_ttl_s,
            )
            self._relay_sessions[request.session_id] = session
        elif peer.canonical_id not in session.parties:
            raise UnauthenticatedError("turn_relay_open: caller not party to reservation")
        return TurnRelayOpenResponse(
            relay_endpoint=self.settings.turn_relay_endpoint or _DEFAULT_RELAY_ENDPOINT, token=session.token
        )

    async def bootstrap_peers(self, peer: Peer, payload: bytes) -> BootstrapPeerList:
        """Signed by the tracker key with issuer_id = the tracker's SPKI id (what the Go client checks); no
        federation yet, so no peers."""
        signed_at = int(self._clock())
        peer_list = BootstrapPeerList(
            issuer_id=self._pin, signed_at=signed_at, expires_at=signed_at + self.settings.bootstrap_ttl_s
        )
        peer_list.sig = self._tracker.sign(peer_list.SerializeToString(deterministic=True))
        return peer_list


def _not_implemented(rpc: str) -> MethodHandler:
    async def handler(peer: Peer, payload: bytes) -> None:
        raise NotImplementedRpc(rpc)

    return handler


def _enroll_response(identity_id: bytes, entry: CommittedEntry) -> EnrollResponse:
    return EnrollResponse(
        identity_id=identity_id,
        starter_grant_credits=entry.body.cost_credits,
        starter_grant_entry=encode_entry(entry.entry),
    )
