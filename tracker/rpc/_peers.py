"""The live peer table: every connected peer indexed by its canonical id (SHA-256 of SPKI) and by its raw-pub
id (SHA-256 of the public key). A reconnecting identity supersedes its old connection; a connection's teardown
removes only its own entries (the Go tracker's reconnect clobber, rpc-broker §1.5, fixed)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from tracker.rpc._certs import PeerKey
from tracker.rpc._connection import QuicConnectionDriver


@dataclass(frozen=True, slots=True)
class Peer:
    """Who is on the other end of a connection, as the transport established it."""

    canonical_id: bytes
    raw_pub_id: bytes
    public_key: bytes
    host: str
    port: int
    connected_at: float  # unix seconds

    @classmethod
    def from_key(cls, key: PeerKey, address: tuple[str, int], now: float | None = None) -> Peer:
        return cls(
            canonical_id=key.canonical_id,
            raw_pub_id=key.raw_pub_id,
            public_key=key.public_key,
            host=address[0],
            port=address[1],
            connected_at=time.time() if now is None else now,
        )

    @property
    def address(self) -> str:
        """host:port, IPv6 as [addr]:port (the QUIC-observed remote address)."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


@dataclass(eq=False, slots=True)
class PeerConnection:
    peer: Peer
    driver: QuicConnectionDriver
    last_heartbeat: float | None = None
    in_flight: int = 0
    extra: dict[str, object] = field(default_factory=dict)


class PeerTable:
    def __init__(self) -> None:
        self._by_id: dict[bytes, PeerConnection] = {}

    def add(self, connection: PeerConnection) -> PeerConnection | None:
        """Index `connection` under both ids; returns the connection it superseded, if any."""
        previous = self._by_id.get(connection.peer.canonical_id)
        self._by_id[connection.peer.canonical_id] = connection
        self._by_id[connection.peer.raw_pub_id] = connection
        return previous if previous is not connection else None

    def remove(self, connection: PeerConnection) -> bool:
        """Drop `connection`'s entries if they still point to it; True when they did."""
        removed = False
        for key in (connection.peer.canonical_id, connection.peer.raw_pub_id):
            if self._by_id.get(key) is connection:
                del self._by_id[key]
                removed = True
        return removed

    def get(self, identity_id: bytes) -> PeerConnection | None:
        """The live connection of a peer by either of its ids."""
        return self._by_id.get(identity_id)

    def connections(self) -> list[PeerConnection]:
        seen: dict[int, PeerConnection] = {}
        for connection in self._by_id.values():
            seen[id(connection)] = connection
        return list(seen.values())

    def __len__(self) -> int:
        return len(self.connections())
