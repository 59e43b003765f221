"""The reference peer client of the plugin RPC (Trio): `connect_peer(...)` → `PeerClient`, one method per RPC,
typed errors, heartbeats with the 3-miss rule, push callbacks. Imports the transport from tracker.rpc; never
the ledger, registry or admission."""

from tracker.client._brokered import ConsumerPeer, SeederPeer, envelope_body
from tracker.client._client import (
    HEARTBEAT_MISSES,
    HEARTBEAT_PERIOD_S,
    ClientCredentials,
    PeerClient,
    client_configuration,
    connect_peer,
)
from tracker.client._errors import (
    ClientError,
    ConnectError,
    ConnectionLost,
    Frozen,
    InternalError,
    InvalidRequest,
    InvalidResponse,
    NoCapacity,
    NotFound,
    PinMismatch,
    RpcCallError,
    Unauthenticated,
)
from tracker.client._signing import signed_envelope, signed_usage_report, usage_preimage
from tracker.rpc import enroll_preimage

__all__ = [
    "HEARTBEAT_MISSES",
    "HEARTBEAT_PERIOD_S",
    "ClientCredentials",
    "ClientError",
    "ConnectError",
    "ConnectionLost",
    "ConsumerPeer",
    "Frozen",
    "InternalError",
    "InvalidRequest",
    "InvalidResponse",
    "NoCapacity",
    "NotFound",
    "PeerClient",
    "PinMismatch",
    "RpcCallError",
    "SeederPeer",
    "Unauthenticated",
    "client_configuration",
    "connect_peer",
    "enroll_preimage",
    "envelope_body",
    "signed_envelope",
    "signed_usage_report",
    "usage_preimage",
]
