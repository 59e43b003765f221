"""Turning an append request into a signed entry ready to be written: per-kind record checks (Go's pre-lock
checks plus ours: ±5 min timestamps, consumer ≠ seeder, unique transfer refs), the tip check, counterparty
signature checks, tracker signing, and the balance arithmetic with its floor of 0."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tracker._proto.ledger_pb2 import EntryBody
from tracker._usage import usage_preimage
from tracker.identity import SigningKey, SigningKeyError
from tracker.ledger._builders import (
    build_starter_grant_entry,
    build_transfer_in_entry,
    build_transfer_out_entry,
    build_usage_entry,
)
from tracker.ledger._errors import (
    EntryValidationError,
    InsufficientBalance,
    LedgerError,
    SignatureError,
    StaleTip,
    TimestampOutOfWindow,
    TransferRefExists,
    UsageReportExists,
)
from tracker.ledger._records import (
    AppendRequest,
    BrokeredUsageRecord,
    StarterGrantRequest,
    TransferInRecord,
    TransferOutRecord,
    UsageRecord,
)
from tracker.ledger._store import LedgerStore
from tracker.ledger._wire import (
    ID_SIZE,
    MAX_INT64,
    PUBLIC_KEY_SIZE,
    canonical_bytes,
    hash_canonical,
    verify_signature,
)

TIMESTAMP_WINDOW_SECONDS = 300
TRACKER_KEY_SIZE = 64


def tracker_signing_key(tracker_key: object) -> SigningKey:
    """The tracker's SigningKey from a TrackerIdentity-like object (`signing_key` or `key_bytes`), a
    SigningKey, or the 64 raw bytes of the Go layout (seed ‖ pub)."""
    if isinstance(tracker_key, SigningKey):
        return tracker_key
    signing_key = getattr(tracker_key, "signing_key", None)
    if isinstance(signing_key, SigningKey):
        return signing_key
    key_bytes = getattr(tracker_key, "key_bytes", tracker_key)
    if not isinstance(key_bytes, bytes | bytearray):
        raise LedgerError("ledger: tracker key must be a TrackerIdentity or 64 raw bytes")
    if len(key_bytes) != TRACKER_KEY_SIZE:
        raise LedgerError(f"ledger: tracker key length {len(key_bytes)}, want {TRACKER_KEY_SIZE}")
    try:
        return SigningKey.from_key_bytes(bytes(key_bytes))
    except SigningKeyError:
        raise LedgerError(
            "ledger: tracker key is inconsistent: its public half does not match its seed"
        ) from None


@dataclass(slots=True)
class PreparedEntry:
    """An entry that passed every check and only needs to be written."""

    body: EntryBody
    canonical: bytes
    entry_hash: bytes
    consumer_sig: bytes
    seeder_sig: bytes
    tracker_sig: bytes
    new_balances: list[tuple[bytes, int]]
    transfer_in_recipient: bytes | None
    seeder_report_id: bytes | None = None


def check_identity_id(name: str, value: object) -> bytes:
    if not isinstance(value, bytes | bytearray) or len(value) != ID_SIZE:
        length = len(value) if isinstance(value, bytes | bytearray) else type(value).__name__
        raise EntryValidationError(f"ledger: {name} length {length}, want {ID_SIZE}")
    return bytes(value)


def _check_amount(amount: object, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise EntryValidationError(f"ledger: {what} amount must be an integer")
    if amount <= 0:
        raise EntryValidationError(f"ledger: {what} amount must be > 0")
    if amount > MAX_INT64:
        raise EntryValidationError(f"ledger: amount {amount} exceeds int64 range")
    return amount


def _check_cost(cost: object) -> None:
    if isinstance(cost, int) and not isinstance(cost, bool) and cost > MAX_INT64:
        raise EntryValidationError(f"ledger: amount {cost} exceeds int64 range")


def _check_distinct_parties(body: EntryBody) -> None:
    if body.consumer_id == body.seeder_id:
        raise EntryValidationError(
            "ledger: usage consumer_id equals seeder_id (an identity cannot pay itself)"
        )


def _with_prefix(prefix: str, build: Callable[[], EntryBody]) -> EntryBody:
    try:
        return build()
    except EntryValidationError as error:
        raise EntryValidationError(f"ledger: {prefix}: {error}") from None


class EntryPreparer:
    """Prepares append requests for one ledger: signs with `key`, reads balances and used transfer refs
    through the store's write connection (inside the caller's transaction)."""

    def __init__(self, key: SigningKey, store: LedgerStore) -> None:
        self._key = key
        self._store = store

    def prepare(self, request: AppendRequest, tip_seq: int, tip_hash: bytes, now: float) -> PreparedEntry:
        """Check `request` against the tip (seq, hash) and the clock `now`, sign it, and compute the new
        balances (read inside the caller's write transaction). Raises the LedgerError that rejects it."""
        if isinstance(request, StarterGrantRequest):
            return self._prepare_starter_grant(request, tip_seq, tip_hash, now)
        if isinstance(request, UsageRecord):
            return self._prepare_usage(request, tip_seq, tip_hash, now)
        if isinstance(request, BrokeredUsageRecord):
            return self._prepare_brokered_usage(request, tip_seq, tip_hash, now)
        if isinstance(request, TransferOutRecord):
            return self._prepare_transfer_out(request, tip_seq, tip_hash, now)
        if isinstance(request, TransferInRecord):
            return self._prepare_transfer_in(request, tip_seq, tip_hash, now)
        raise EntryValidationError(f"ledger: unknown append request type {type(request).__name__}")

    def _prepare_starter_grant(
        self, request: StarterGrantRequest, tip_seq: int, tip_hash: bytes, now: float
    ) -> PreparedEntry:
        if isinstance(request.amount, int) and not isinstance(request.amount, bool) and request.amount == 0:
            raise EntryValidationError("ledger: starter grant amount must be > 0")
        identity_id = check_identity_id("identity_id", request.identity_id)
        amount = _check_amount(request.amount, "starter grant")
        body = _with_prefix(
            "build starter grant",
            lambda: build_starter_grant_entry(
                prev_hash=tip_hash,
                seq=tip_seq + 1,
                consumer_id=identity_id,
                amount=amount,
                timestamp=max(0, int(now)),
            ),
        )
        return self._apply_balances_and_sign(body, b"", b"", [(identity_id, amount)], None)

    def _prepare_usage(self, record: UsageRecord, tip_seq: int, tip_hash: bytes, now: float) -> PreparedEntry:
        if not record.seeder_sig or len(record.seeder_pub) != PUBLIC_KEY_SIZE:
            raise EntryValidationError("ledger: AppendUsage requires seeder sig + pubkey")
        if not record.consumer_sig_missing and (
            not record.consumer_sig or len(record.consumer_pub) != PUBLIC_KEY_SIZE
        ):
            raise EntryValidationError(
                "ledger: AppendUsage requires consumer sig + pubkey (or set ConsumerSigMissing)"
            )
        _check_cost(record.cost_credits)
        body = _with_prefix(
            "build usage",
            lambda: build_usage_entry(
                prev_hash=record.prev_hash,
                seq=record.seq,
                consumer_id=record.consumer_id,
                seeder_id=record.seeder_id,
                model=record.model,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cost_credits=record.cost_credits,
                timestamp=record.timestamp,
                request_id=record.request_id,
                consumer_sig_missing=record.consumer_sig_missing,
            ),
        )
        _check_distinct_parties(body)
        self._check_timestamp(body, now)
        self._check_tip(body, tip_seq, tip_hash)
        canonical = canonical_bytes(body)
        consumer_sig = b""
        if not record.consumer_sig_missing:
            if not verify_signature(record.consumer_pub, canonical, record.consumer_sig):
                raise SignatureError("ledger: consumer_sig invalid")
            consumer_sig = record.consumer_sig
        if not verify_signature(record.seeder_pub, canonical, record.seeder_sig):
            raise SignatureError("ledger: seeder_sig invalid")
        cost = body.cost_credits
        return self._apply_balances_and_sign(
            body,
            consumer_sig,
            record.seeder_sig,
            [(body.consumer_id, -cost), (body.seeder_id, cost)],
            None,
            canonical,
        )

    def _prepare_brokered_usage(
        self, record: BrokeredUsageRecord, tip_seq: int, tip_hash: bytes, now: float
    ) -> PreparedEntry:
        if len(record.seeder_report_id) != 16:
            raise EntryValidationError("ledger: brokered usage: seeder report id must be 16 bytes")
        _check_cost(record.cost_credits)
        body = _with_prefix(
            "build usage",
            lambda: build_usage_entry(
                prev_hash=tip_hash,
                seq=tip_seq + 1,
                consumer_id=record.consumer_id,
                seeder_id=record.seeder_id,
                model=record.model,
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                cost_credits=record.cost_credits,
                timestamp=max(0, int(now)),
                request_id=record.request_id,
                consumer_sig_missing=True,
            ),
        )
        _check_distinct_parties(body)
        existing = self._store.usage_report_seq_in_transaction(body.seeder_id, record.seeder_report_id)
        if existing is not None:
            raise UsageReportExists(existing)
        preimage = usage_preimage(record.seeder_report_id, body.model, body.input_tokens, body.output_tokens)
        if not verify_signature(record.seeder_pub, preimage, record.seeder_sig):
            raise SignatureError("ledger: seeder_sig invalid")
        cost = body.cost_credits
        prepared = self._apply_balances_and_sign(
            body, b"", record.seeder_sig, [(body.consumer_id, -cost), (body.seeder_id, cost)], None
        )
        prepared.seeder_report_id = record.seeder_report_id
        return prepared

    def _prepare_transfer_out(
        self, record: TransferOutRecord, tip_seq: int, tip_hash: bytes, now: float
    ) -> PreparedEntry:
        if not record.consumer_sig or len(record.consumer_pub) != PUBLIC_KEY_SIZE:
            raise EntryValidationError("ledger: AppendTransferOut requires consumer sig + pubkey")
        amount = _check_amount(record.amount, "transfer_out")
        body = _with_prefix(
            "build transfer_out",
            lambda: build_transfer_out_entry(
                prev_hash=record.prev_hash,
                seq=record.seq,
                consumer_id=record.consumer_id,
                amount=amount,
                timestamp=record.timestamp,
                transfer_ref=record.transfer_ref,
            ),
        )
        self._check_timestamp(body, now)
        self._check_tip(body, tip_seq, tip_hash)
        self._check_transfer_ref(body.ref)
        canonical = canonical_bytes(body)
        if not verify_signature(record.consumer_pub, canonical, record.consumer_sig):
            raise SignatureError("ledger: consumer_sig invalid")
        return self._apply_balances_and_sign(
            body, record.consumer_sig, b"", [(body.consumer_id, -amount)], None, canonical
        )

    def _prepare_transfer_in(
        self, record: TransferInRecord, tip_seq: int, tip_hash: bytes, now: float
    ) -> PreparedEntry:
        amount = _check_amount(record.amount, "transfer_in")
        identity_id = check_identity_id("identity_id", record.identity_id)
        body = _with_prefix(
            "build transfer_in",
            lambda: build_transfer_in_entry(
                prev_hash=record.prev_hash,
                seq=record.seq,
                amount=amount,
                timestamp=record.timestamp,
                transfer_ref=record.transfer_ref,
            ),
        )
        self._check_timestamp(body, now)
        self._check_tip(body, tip_seq, tip_hash)
        self._check_transfer_ref(body.ref)
        return self._apply_balances_and_sign(body, b"", b"", [(identity_id, amount)], identity_id)

    def _check_timestamp(self, body: EntryBody, now: float) -> None:
        if abs(body.timestamp - now) > TIMESTAMP_WINDOW_SECONDS:
            raise TimestampOutOfWindow(
                f"ledger: entry timestamp {body.timestamp} is more than {TIMESTAMP_WINDOW_SECONDS} s away "
                f"from the tracker clock ({int(now)})"
            )

    @staticmethod
    def _check_tip(body: EntryBody, tip_seq: int, tip_hash: bytes) -> None:
        if body.seq != tip_seq + 1 or body.prev_hash != tip_hash:
            raise StaleTip(
                f"{StaleTip.BASE_MESSAGE}: got seq={body.seq} prev_hash={body.prev_hash.hex()}, "
                f"tip is seq={tip_seq} hash={tip_hash.hex()}"
            )

    def _check_transfer_ref(self, ref: bytes) -> None:
        existing = self._store.transfer_ref_seq_in_transaction(ref)
        if existing is not None:
            raise TransferRefExists(
                f"ledger: transfer ref already on chain (ref={ref.hex()}, seq={existing})"
            )

    def _apply_balances_and_sign(
        self,
        body: EntryBody,
        consumer_sig: bytes,
        seeder_sig: bytes,
        deltas: list[tuple[bytes, int]],
        transfer_in_recipient: bytes | None,
        canonical: bytes | None = None,
    ) -> PreparedEntry:
        if canonical is None:
            canonical = canonical_bytes(body)
        new_balances = []
        for identity_id, delta in deltas:
            current = self._store.credits_in_transaction(identity_id) or 0
            new = current + delta
            if new < 0:
                raise InsufficientBalance(identity_id, current, delta)
            if new > MAX_INT64:
                raise EntryValidationError(
                    f"ledger: balance of {identity_id.hex()} would exceed the int64 range "
                    f"({current} + {delta})"
                )
            new_balances.append((identity_id, new))
        return PreparedEntry(
            body=body,
            canonical=canonical,
            entry_hash=hash_canonical(canonical),
            consumer_sig=consumer_sig,
            seeder_sig=seeder_sig,
            tracker_sig=self._key.sign(canonical),
            new_balances=new_balances,
            transfer_in_recipient=transfer_in_recipient,
        )
