"""Broker-request envelopes: structural validation (rpc-broker §5.1, first violation wins, texts start with
"proto: "), the envelope hash, and the nonce replay cache with bounded memory."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from tracker._proto.envelope_pb2 import EnvelopeBody

PRIVACY_TIERS = (1, 2)  # STANDARD, TEE
PROOF_SKEW_S = 60


class EnvelopeInvalid(Exception):
    """The envelope body violates §5.1; the message is the Go text ("proto: …")."""


def validate_envelope_body(body: EnvelopeBody | None) -> None:
    if body is None:
        raise EnvelopeInvalid("proto: nil envelope body")
    if body.protocol_version != 1:
        raise EnvelopeInvalid(f"proto: protocol_version {body.protocol_version}, want 1")
    if len(body.consumer_id) != 32:
        raise EnvelopeInvalid(f"proto: consumer_id length {len(body.consumer_id)}, want 32")
    if not body.model:
        raise EnvelopeInvalid("proto: model empty")
    if len(body.body_hash) != 32:
        raise EnvelopeInvalid(f"proto: body_hash length {len(body.body_hash)}, want 32")
    if int(body.tier) not in PRIVACY_TIERS:
        raise EnvelopeInvalid(f"proto: tier {int(body.tier)} not STANDARD or TEE")
    if not body.HasField("exhaustion_proof"):
        raise EnvelopeInvalid("proto: exhaustion_proof missing")
    proof = body.exhaustion_proof
    if not proof.HasField("stop_failure") or not proof.HasField("usage_probe"):
        raise EnvelopeInvalid("proto: exhaustion proof: both signals required")
    if proof.stop_failure.matcher != "rate_limit":
        raise EnvelopeInvalid(
            f"proto: exhaustion proof: matcher {proof.stop_failure.matcher!r}, want rate_limit"
        )
    if proof.stop_failure.at == 0 or proof.usage_probe.at == 0:
        raise EnvelopeInvalid("proto: exhaustion proof: signal timestamps must be non-zero")
    if abs(proof.stop_failure.at - proof.usage_probe.at) > PROOF_SKEW_S:
        raise EnvelopeInvalid(f"proto: exhaustion proof: signals more than {PROOF_SKEW_S} s apart")
    if proof.captured_at == 0:
        raise EnvelopeInvalid("proto: exhaustion proof: captured_at zero")
    if len(proof.nonce) != 16:
        raise EnvelopeInvalid(f"proto: exhaustion proof: nonce length {len(proof.nonce)}, want 16")
    if not body.HasField("balance_proof"):
        raise EnvelopeInvalid("proto: balance_proof missing")
    if body.captured_at == 0:
        raise EnvelopeInvalid("proto: captured_at zero")
    if len(body.nonce) != 16:
        raise EnvelopeInvalid(f"proto: nonce length {len(body.nonce)}, want 16")


def envelope_hash(body: EnvelopeBody) -> bytes:
    """SHA-256 of the body's deterministic bytes (the offer's envelope_hash)."""
    return hashlib.sha256(body.SerializeToString(deterministic=True)).digest()


class ReplayCache:
    """Nonces seen within the freshness window. An entry older than the window can never be replayed (its
    envelope is no longer fresh), so it is forgotten; when `capacity` live nonces are held, `check_and_add`
    refuses new ones (fail closed) rather than forget a live one."""

    def __init__(self, window_s: float, capacity: int = 1_000_000) -> None:
        self._window = window_s
        self._capacity = capacity
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # key -> time added (insertion order)

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        horizon = now - 2 * self._window  # captured_at may be up to one window ahead of the clock
        while self._seen:
            key, added = next(iter(self._seen.items()))
            if added > horizon:
                break
            del self._seen[key]

    def check_and_add(self, consumer_id: bytes, nonce: bytes, now: float) -> bool:
        """True (and remembered) the first time; False for a replay, or when the cache is full."""
        self._expire(now)
        key = consumer_id + nonce
        if key in self._seen or len(self._seen) >= self._capacity:
            return False
        self._seen[key] = now
        return True
