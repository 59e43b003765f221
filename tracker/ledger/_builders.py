"""Entry body builders, one per kind (Go entry.Build*): fill the zero slots, range-check, then validate."""

from __future__ import annotations

from typing import cast

from tracker._proto import ledger_pb2
from tracker._proto.ledger_pb2 import EntryBody
from tracker.ledger._errors import EntryValidationError
from tracker.ledger._validate import validate_entry_body
from tracker.ledger._wire import (
    FLAG_CONSUMER_SIG_MISSING,
    MAX_INT64,
    MAX_UINT32,
    ZERO_ID,
    ZERO_REF,
    ZERO_REQUEST_ID,
    EntryKind,
)


def _proto_kind(kind: EntryKind) -> ledger_pb2.EntryKind:
    """Our EntryKind as the generated enum type (same wire values; only the static type differs)."""
    return cast("ledger_pb2.EntryKind", kind)


def _check_range(builder: str, field: str, value: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise EntryValidationError(
            f"entry: {builder}: {field} must be an integer, got {type(value).__name__}"
        )
    if value < 0 or value > maximum:
        raise EntryValidationError(f"entry: {builder}: {field} {value} out of range 0..{maximum}")


def _check_bytes(builder: str, field: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise EntryValidationError(f"entry: {builder}: {field} must be bytes, got {type(value).__name__}")
    return bytes(value)


def _finish(builder: str, body: EntryBody) -> EntryBody:
    try:
        validate_entry_body(body)
    except EntryValidationError as error:
        raise EntryValidationError(f"entry: {builder}: {error}") from None
    return body


def _common_ranges(builder: str, seq: int, cost: int, timestamp: int) -> None:
    # SQLite stores these as signed 64-bit integers, so values >= 2^63 can never be written.
    _check_range(builder, "seq", seq, MAX_INT64)
    _check_range(builder, "cost_credits", cost, MAX_INT64)
    _check_range(builder, "timestamp", timestamp, MAX_INT64)


def build_usage_entry(
    *,
    prev_hash: bytes,
    seq: int,
    consumer_id: bytes,
    seeder_id: bytes,
    model: str | bytes,
    input_tokens: int,
    output_tokens: int,
    cost_credits: int,
    timestamp: int,
    request_id: bytes,
    consumer_sig_missing: bool,
) -> EntryBody:
    builder = "BuildUsageEntry"
    if isinstance(model, bytes | bytearray):
        try:
            model = bytes(model).decode("utf-8")
        except UnicodeDecodeError:
            raise EntryValidationError(f"entry: {builder}: model is not valid UTF-8") from None
    if not isinstance(model, str):
        raise EntryValidationError(f"entry: {builder}: model must be a string")
    if not model:
        raise EntryValidationError(f"entry: {builder}: model is empty")
    try:
        model.encode("utf-8")
    except UnicodeEncodeError:
        raise EntryValidationError(f"entry: {builder}: model is not valid UTF-8") from None
    _common_ranges(builder, seq, cost_credits, timestamp)
    _check_range(builder, "input_tokens", input_tokens, MAX_UINT32)
    _check_range(builder, "output_tokens", output_tokens, MAX_UINT32)
    body = EntryBody(
        prev_hash=_check_bytes(builder, "prev_hash", prev_hash),
        seq=seq,
        kind=_proto_kind(EntryKind.USAGE),
        consumer_id=_check_bytes(builder, "consumer_id", consumer_id),
        seeder_id=_check_bytes(builder, "seeder_id", seeder_id),
        model=model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_credits=cost_credits,
        timestamp=timestamp,
        request_id=_check_bytes(builder, "request_id", request_id),
        flags=FLAG_CONSUMER_SIG_MISSING if consumer_sig_missing else 0,
        ref=ZERO_REF,
    )
    return _finish(builder, body)


def _credit_entry(
    builder: str,
    kind: EntryKind,
    *,
    prev_hash: bytes,
    seq: int,
    consumer_id: bytes,
    amount: int,
    timestamp: int,
    transfer_ref: bytes | None,
) -> EntryBody:
    """A transfer or starter-grant body: no seeder, model, tokens or request id; no ref for a grant."""
    _common_ranges(builder, seq, amount, timestamp)
    body = EntryBody(
        prev_hash=_check_bytes(builder, "prev_hash", prev_hash),
        seq=seq,
        kind=_proto_kind(kind),
        consumer_id=_check_bytes(builder, "consumer_id", consumer_id),
        seeder_id=ZERO_ID,
        cost_credits=amount,
        timestamp=timestamp,
        request_id=ZERO_REQUEST_ID,
        ref=ZERO_REF if transfer_ref is None else _check_bytes(builder, "transfer_ref", transfer_ref),
    )
    return _finish(builder, body)


def build_transfer_out_entry(
    *, prev_hash: bytes, seq: int, consumer_id: bytes, amount: int, timestamp: int, transfer_ref: bytes
) -> EntryBody:
    return _credit_entry(
        "BuildTransferOutEntry",
        EntryKind.TRANSFER_OUT,
        prev_hash=prev_hash,
        seq=seq,
        consumer_id=consumer_id,
        amount=amount,
        timestamp=timestamp,
        transfer_ref=transfer_ref,
    )


def build_transfer_in_entry(
    *, prev_hash: bytes, seq: int, amount: int, timestamp: int, transfer_ref: bytes
) -> EntryBody:
    return _credit_entry(
        "BuildTransferInEntry",
        EntryKind.TRANSFER_IN,
        prev_hash=prev_hash,
        seq=seq,
        consumer_id=ZERO_ID,
        amount=amount,
        timestamp=timestamp,
        transfer_ref=transfer_ref,
    )


def build_starter_grant_entry(
    *, prev_hash: bytes, seq: int, consumer_id: bytes, amount: int, timestamp: int
) -> EntryBody:
    return _credit_entry(
        "BuildStarterGrantEntry",
        EntryKind.STARTER_GRANT,
        prev_hash=prev_hash,
        seq=seq,
        consumer_id=consumer_id,
        amount=amount,
        timestamp=timestamp,
        transfer_ref=None,
    )
