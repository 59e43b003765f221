"""Structural validation of entry bodies (Go ValidateEntryBody) and the per-kind signature matrix
(Go VerifyAll)."""

from __future__ import annotations

from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.ledger._errors import EntryValidationError, SignatureError
from tracker.ledger._wire import (
    FLAG_CONSUMER_SIG_MISSING,
    HASH_SIZE,
    ID_SIZE,
    MAX_MODEL_BYTES,
    REF_SIZE,
    REQUEST_ID_SIZE,
    ZERO_ID,
    ZERO_REF,
    ZERO_REQUEST_ID,
    EntryKind,
    canonical_bytes,
    verify_signature,
)

_KIND_VALUES = frozenset(int(kind) for kind in EntryKind)


def _fail(message: str) -> EntryValidationError:
    return EntryValidationError(f"proto: {message}")


def _model_byte_length(model: str) -> int:
    try:
        return len(model.encode("utf-8"))
    except UnicodeEncodeError:
        raise _fail("model is not valid UTF-8") from None


def validate_entry_body(body: EntryBody | None) -> None:
    """Raise EntryValidationError naming the first failing field, in the Go check order; None when valid."""
    if body is None:
        raise _fail("nil EntryBody")
    if len(body.prev_hash) != HASH_SIZE:
        raise _fail(f"prev_hash length {len(body.prev_hash)}, want {HASH_SIZE}")
    if len(body.ref) != REF_SIZE:
        raise _fail(f"ref length {len(body.ref)}, want {REF_SIZE}")
    if body.flags & ~FLAG_CONSUMER_SIG_MISSING:
        raise _fail(f"flags = {body.flags:#x}, unknown bits set")
    kind = int(body.kind)
    if kind not in _KIND_VALUES:
        raise _fail(f"kind = {kind}, must be USAGE, TRANSFER_OUT, TRANSFER_IN, or STARTER_GRANT")
    if kind == EntryKind.USAGE:
        _validate_usage(body)
    elif kind == EntryKind.TRANSFER_OUT:
        _check_id_length("consumer_id", body.consumer_id)
        _check_zero("seeder_id", body.seeder_id, ZERO_ID)
        _check_no_model(body)
        _check_zero("request_id", body.request_id, ZERO_REQUEST_ID)
        _check_no_tokens(body)
        _check_no_flags(body)
    elif kind == EntryKind.TRANSFER_IN:
        _check_zero("consumer_id", body.consumer_id, ZERO_ID)
        _check_zero("seeder_id", body.seeder_id, ZERO_ID)
        _check_no_model(body)
        _check_zero("request_id", body.request_id, ZERO_REQUEST_ID)
        _check_no_tokens(body)
        _check_no_flags(body)
    else:  # STARTER_GRANT
        _check_id_length("consumer_id", body.consumer_id)
        _check_zero("seeder_id", body.seeder_id, ZERO_ID)
        _check_no_model(body)
        _check_zero("request_id", body.request_id, ZERO_REQUEST_ID)
        _check_zero("ref", body.ref, ZERO_REF)
        _check_no_tokens(body)
        _check_no_flags(body)


def _validate_usage(body: EntryBody) -> None:
    _check_id_length("consumer_id", body.consumer_id)
    _check_id_length("seeder_id", body.seeder_id)
    if not body.model:
        raise _fail("usage model is empty")
    model_length = _model_byte_length(body.model)
    if model_length > MAX_MODEL_BYTES:
        raise _fail(f"usage model length {model_length} bytes, max {MAX_MODEL_BYTES}")
    if len(body.request_id) != REQUEST_ID_SIZE:
        raise _fail(f"request_id length {len(body.request_id)}, want {REQUEST_ID_SIZE}")


def _check_id_length(field: str, value: bytes) -> None:
    if len(value) != ID_SIZE:
        raise _fail(f"{field} length {len(value)}, want {ID_SIZE}")


def _check_zero(field: str, value: bytes, zero: bytes) -> None:
    if value != zero:
        raise _fail(f"{field} must be {len(zero)} zero bytes for this kind (got {len(value)} bytes)")


def _check_no_model(body: EntryBody) -> None:
    if body.model:
        raise _fail("model must be empty for this kind")


def _check_no_tokens(body: EntryBody) -> None:
    if body.input_tokens or body.output_tokens:
        raise _fail("input/output tokens must be 0 for this kind")


def _check_no_flags(body: EntryBody) -> None:
    if body.flags:
        raise _fail(f"flags = {body.flags:#x}, must be 0 for this kind")


def verify_all(
    entry: Entry | None,
    *,
    consumer_public_key: bytes = b"",
    seeder_public_key: bytes = b"",
    tracker_public_key: bytes = b"",
) -> None:
    """The per-kind signature matrix: raise SignatureError on the first missing, stray or invalid signature.
    Assumes validate_entry_body already passed."""
    if entry is None or not entry.HasField("body"):
        raise SignatureError("entry: nil entry or body")
    body = entry.body
    canonical = canonical_bytes(body)
    if not entry.tracker_sig:
        raise SignatureError("entry: tracker_sig is required")
    if len(tracker_public_key) != 32:
        raise SignatureError("entry: tracker pubkey missing")
    if not verify_signature(tracker_public_key, canonical, entry.tracker_sig):
        raise SignatureError("entry: tracker_sig invalid")
    kind = int(body.kind)
    if kind == EntryKind.USAGE:
        if not entry.seeder_sig:
            raise SignatureError("entry: usage seeder_sig is required")
        if len(seeder_public_key) != 32:
            raise SignatureError("entry: seeder pubkey missing")
        if not verify_signature(seeder_public_key, canonical, entry.seeder_sig):
            raise SignatureError("entry: seeder_sig invalid")
        if body.flags & FLAG_CONSUMER_SIG_MISSING:
            if entry.consumer_sig:
                raise SignatureError("entry: consumer_sig must be empty when consumer_sig_missing flag set")
            return
        if not entry.consumer_sig:
            raise SignatureError("entry: consumer_sig required (or set consumer_sig_missing flag)")
        _verify_consumer(consumer_public_key, canonical, entry.consumer_sig)
    elif kind == EntryKind.TRANSFER_OUT:
        if body.flags & FLAG_CONSUMER_SIG_MISSING:
            raise SignatureError("entry: transfer_out cannot set consumer_sig_missing")
        if not entry.consumer_sig:
            raise SignatureError("entry: transfer_out consumer_sig required")
        _verify_consumer(consumer_public_key, canonical, entry.consumer_sig)
        if entry.seeder_sig:
            raise SignatureError("entry: transfer_out seeder_sig must be empty")
    elif kind in (EntryKind.TRANSFER_IN, EntryKind.STARTER_GRANT):
        if entry.consumer_sig:
            raise SignatureError("entry: consumer_sig must be empty for this kind")
        if entry.seeder_sig:
            raise SignatureError("entry: seeder_sig must be empty for this kind")
    else:
        raise SignatureError(f"entry: unknown kind {kind}")


def _verify_consumer(consumer_public_key: bytes, canonical: bytes, signature: bytes) -> None:
    if len(consumer_public_key) != 32:
        raise SignatureError("entry: consumer pubkey missing")
    if not verify_signature(consumer_public_key, canonical, signature):
        raise SignatureError("entry: consumer_sig invalid")
