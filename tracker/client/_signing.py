"""What a peer signs, byte for byte as the Go plugin builds it: the enrolment preimage (tracker.rpc), the
seeder's usage preimage, and the consumer's broker-request envelope (consumer_id = SHA-256 of the raw public
key, as the plugin puts it)."""

from __future__ import annotations

from tracker._proto.envelope_pb2 import EnvelopeBody, EnvelopeSigned
from tracker._proto.rpc_pb2 import UsageReport
from tracker._usage import USAGE_PREIMAGE_PREFIX, usage_preimage
from tracker.identity import TrackerIdentity
from tracker.rpc import raw_pub_id

__all__ = ["USAGE_PREIMAGE_PREFIX", "signed_envelope", "signed_usage_report", "usage_preimage"]


def signed_usage_report(
    identity: TrackerIdentity, request_id: bytes, model: str, input_tokens: int, output_tokens: int
) -> UsageReport:
    """A seeder's UsageReport signed with its identity key over the usage preimage."""
    return UsageReport(
        request_id=request_id,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        model=model,
        seeder_sig=identity.sign(usage_preimage(request_id, model, input_tokens, output_tokens)),
    )


def signed_envelope(identity: TrackerIdentity, body: EnvelopeBody) -> EnvelopeSigned:
    """`body` with consumer_id set to our raw-pub id (when empty), signed over its deterministic bytes."""
    signed_body = EnvelopeBody()
    signed_body.CopyFrom(body)
    if not signed_body.consumer_id:
        signed_body.consumer_id = raw_pub_id(identity.public_key)
    signature = identity.sign(signed_body.SerializeToString(deterministic=True))
    return EnvelopeSigned(body=signed_body, consumer_sig=signature)
