"""The plugin RPC: QUIC + mutual TLS transport (aioquic's sans-IO connection driven by Trio), framing, the
stream model, the live peer table, and the router with its handlers.

Layout: `_wire` (frames, shells, classification; pure), `_aioquic` (the only module touching aioquic's private
attributes), `_certs` (certificates, ids, identity checks), `_connection` (one connection under Trio),
`_endpoint` (the UDP socket and routing by connection id), `_server` (sessions, streams, pushes), `_peers`,
`_metrics`, `_router` + `_handlers` + `_broker_handlers` (methods → subsystems). The transport modules import
no ledger, registry or broker; only `_handlers`, `_broker_handlers` and `_listener` do.
"""

from tracker.rpc._aioquic import (
    AIOQUIC_VERSION,
    AioquicPrivateApiError,
    TrackerQuicConnection,
    check_private_api,
    peer_certificates,
)
from tracker.rpc._certs import (
    PeerCertificateError,
    PeerKey,
    certificate_pin,
    check_peer_certificates,
    peer_certificate,
    raw_pub_id,
    spki_id_of_public_key,
    tracker_certificate,
    x509_private_key,
)
from tracker.rpc._connection import ConnectionLimits, QuicConnectionDriver, QuicStream, StreamClosed
from tracker.rpc._endpoint import UdpEndpoint, bind_udp
from tracker.rpc._errors import (
    FrozenError,
    InvalidArgument,
    NoCapacityError,
    NotFoundError,
    NotImplementedRpc,
    RpcFailure,
    UnauthenticatedError,
)
from tracker.rpc._handlers import RpcServiceSettings, TrackerRpcService, enroll_preimage
from tracker.rpc._listener import ConnectedPeer, RpcListener, open_rpc_listener
from tracker.rpc._metrics import RpcMetrics
from tracker.rpc._peers import Peer, PeerConnection, PeerTable
from tracker.rpc._router import Router
from tracker.rpc._server import ALPN, RpcHandler, RpcServer, RpcServerSettings
from tracker.rpc._wire import (
    DEFAULT_MAX_FRAME_SIZE,
    PUSH_TAG_OFFER,
    PUSH_TAG_SETTLEMENT,
    FrameReader,
    FrameTooLarge,
    RpcMethod,
    RpcStatus,
    encode_frame,
    encode_message,
    is_heartbeat_frame,
)

__all__ = [
    "AIOQUIC_VERSION",
    "ALPN",
    "DEFAULT_MAX_FRAME_SIZE",
    "PUSH_TAG_OFFER",
    "PUSH_TAG_SETTLEMENT",
    "AioquicPrivateApiError",
    "ConnectedPeer",
    "ConnectionLimits",
    "FrameReader",
    "FrameTooLarge",
    "FrozenError",
    "InvalidArgument",
    "NoCapacityError",
    "NotFoundError",
    "NotImplementedRpc",
    "Peer",
    "PeerCertificateError",
    "PeerConnection",
    "PeerKey",
    "PeerTable",
    "QuicConnectionDriver",
    "QuicStream",
    "Router",
    "RpcFailure",
    "RpcHandler",
    "RpcListener",
    "RpcMethod",
    "RpcMetrics",
    "RpcServer",
    "RpcServerSettings",
    "RpcServiceSettings",
    "RpcStatus",
    "StreamClosed",
    "TrackerQuicConnection",
    "TrackerRpcService",
    "UdpEndpoint",
    "UnauthenticatedError",
    "bind_udp",
    "certificate_pin",
    "check_peer_certificates",
    "check_private_api",
    "encode_frame",
    "encode_message",
    "enroll_preimage",
    "is_heartbeat_frame",
    "open_rpc_listener",
    "peer_certificate",
    "peer_certificates",
    "raw_pub_id",
    "spki_id_of_public_key",
    "tracker_certificate",
    "x509_private_key",
]
