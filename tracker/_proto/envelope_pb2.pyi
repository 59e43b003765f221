from tracker._proto import balance_pb2 as _balance_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PrivacyTier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRIVACY_TIER_UNSPECIFIED: _ClassVar[PrivacyTier]
    PRIVACY_TIER_STANDARD: _ClassVar[PrivacyTier]
    PRIVACY_TIER_TEE: _ClassVar[PrivacyTier]
PRIVACY_TIER_UNSPECIFIED: PrivacyTier
PRIVACY_TIER_STANDARD: PrivacyTier
PRIVACY_TIER_TEE: PrivacyTier

class StopFailure(_message.Message):
    __slots__ = ("matcher", "at", "error_shape")
    MATCHER_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_SHAPE_FIELD_NUMBER: _ClassVar[int]
    matcher: str
    at: int
    error_shape: bytes
    def __init__(self, matcher: _Optional[str] = ..., at: _Optional[int] = ..., error_shape: _Optional[bytes] = ...) -> None: ...

class UsageProbe(_message.Message):
    __slots__ = ("at", "output")
    AT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    at: int
    output: bytes
    def __init__(self, at: _Optional[int] = ..., output: _Optional[bytes] = ...) -> None: ...

class ExhaustionProofV1(_message.Message):
    __slots__ = ("stop_failure", "usage_probe", "captured_at", "nonce")
    STOP_FAILURE_FIELD_NUMBER: _ClassVar[int]
    USAGE_PROBE_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    stop_failure: StopFailure
    usage_probe: UsageProbe
    captured_at: int
    nonce: bytes
    def __init__(self, stop_failure: _Optional[_Union[StopFailure, _Mapping]] = ..., usage_probe: _Optional[_Union[UsageProbe, _Mapping]] = ..., captured_at: _Optional[int] = ..., nonce: _Optional[bytes] = ...) -> None: ...

class EnvelopeBody(_message.Message):
    __slots__ = ("protocol_version", "consumer_id", "model", "max_input_tokens", "max_output_tokens", "tier", "body_hash", "exhaustion_proof", "balance_proof", "captured_at", "nonce")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    BODY_HASH_FIELD_NUMBER: _ClassVar[int]
    EXHAUSTION_PROOF_FIELD_NUMBER: _ClassVar[int]
    BALANCE_PROOF_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    consumer_id: bytes
    model: str
    max_input_tokens: int
    max_output_tokens: int
    tier: PrivacyTier
    body_hash: bytes
    exhaustion_proof: ExhaustionProofV1
    balance_proof: _balance_pb2.SignedBalanceSnapshot
    captured_at: int
    nonce: bytes
    def __init__(self, protocol_version: _Optional[int] = ..., consumer_id: _Optional[bytes] = ..., model: _Optional[str] = ..., max_input_tokens: _Optional[int] = ..., max_output_tokens: _Optional[int] = ..., tier: _Optional[_Union[PrivacyTier, str]] = ..., body_hash: _Optional[bytes] = ..., exhaustion_proof: _Optional[_Union[ExhaustionProofV1, _Mapping]] = ..., balance_proof: _Optional[_Union[_balance_pb2.SignedBalanceSnapshot, _Mapping]] = ..., captured_at: _Optional[int] = ..., nonce: _Optional[bytes] = ...) -> None: ...

class EnvelopeSigned(_message.Message):
    __slots__ = ("body", "consumer_sig")
    BODY_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_SIG_FIELD_NUMBER: _ClassVar[int]
    body: EnvelopeBody
    consumer_sig: bytes
    def __init__(self, body: _Optional[_Union[EnvelopeBody, _Mapping]] = ..., consumer_sig: _Optional[bytes] = ...) -> None: ...
