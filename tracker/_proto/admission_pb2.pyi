from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TickSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TICK_SOURCE_UNSPECIFIED: _ClassVar[TickSource]
    TICK_SOURCE_HEURISTIC: _ClassVar[TickSource]
    TICK_SOURCE_USAGE_PROBE: _ClassVar[TickSource]
TICK_SOURCE_UNSPECIFIED: TickSource
TICK_SOURCE_HEURISTIC: TickSource
TICK_SOURCE_USAGE_PROBE: TickSource

class CreditAttestationBody(_message.Message):
    __slots__ = ("identity_id", "issuer_tracker_id", "score", "tenure_days", "settlement_reliability", "dispute_rate", "net_credit_flow_30d", "balance_cushion_log2", "computed_at", "expires_at")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    ISSUER_TRACKER_ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    TENURE_DAYS_FIELD_NUMBER: _ClassVar[int]
    SETTLEMENT_RELIABILITY_FIELD_NUMBER: _ClassVar[int]
    DISPUTE_RATE_FIELD_NUMBER: _ClassVar[int]
    NET_CREDIT_FLOW_30D_FIELD_NUMBER: _ClassVar[int]
    BALANCE_CUSHION_LOG2_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    identity_id: bytes
    issuer_tracker_id: bytes
    score: int
    tenure_days: int
    settlement_reliability: int
    dispute_rate: int
    net_credit_flow_30d: int
    balance_cushion_log2: int
    computed_at: int
    expires_at: int
    def __init__(self, identity_id: _Optional[bytes] = ..., issuer_tracker_id: _Optional[bytes] = ..., score: _Optional[int] = ..., tenure_days: _Optional[int] = ..., settlement_reliability: _Optional[int] = ..., dispute_rate: _Optional[int] = ..., net_credit_flow_30d: _Optional[int] = ..., balance_cushion_log2: _Optional[int] = ..., computed_at: _Optional[int] = ..., expires_at: _Optional[int] = ...) -> None: ...

class SignedCreditAttestation(_message.Message):
    __slots__ = ("body", "tracker_sig")
    BODY_FIELD_NUMBER: _ClassVar[int]
    TRACKER_SIG_FIELD_NUMBER: _ClassVar[int]
    body: CreditAttestationBody
    tracker_sig: bytes
    def __init__(self, body: _Optional[_Union[CreditAttestationBody, _Mapping]] = ..., tracker_sig: _Optional[bytes] = ...) -> None: ...

class FetchHeadroomRequest(_message.Message):
    __slots__ = ("request_nonce", "model_filter")
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FILTER_FIELD_NUMBER: _ClassVar[int]
    request_nonce: int
    model_filter: str
    def __init__(self, request_nonce: _Optional[int] = ..., model_filter: _Optional[str] = ...) -> None: ...

class PerModelHeadroom(_message.Message):
    __slots__ = ("model", "headroom_estimate")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    model: str
    headroom_estimate: int
    def __init__(self, model: _Optional[str] = ..., headroom_estimate: _Optional[int] = ...) -> None: ...

class FetchHeadroomResponse(_message.Message):
    __slots__ = ("request_nonce", "headroom_estimate", "source", "probe_age_s", "can_probe_usage", "per_model")
    REQUEST_NONCE_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_ESTIMATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROBE_AGE_S_FIELD_NUMBER: _ClassVar[int]
    CAN_PROBE_USAGE_FIELD_NUMBER: _ClassVar[int]
    PER_MODEL_FIELD_NUMBER: _ClassVar[int]
    request_nonce: int
    headroom_estimate: int
    source: TickSource
    probe_age_s: int
    can_probe_usage: bool
    per_model: _containers.RepeatedCompositeFieldContainer[PerModelHeadroom]
    def __init__(self, request_nonce: _Optional[int] = ..., headroom_estimate: _Optional[int] = ..., source: _Optional[_Union[TickSource, str]] = ..., probe_age_s: _Optional[int] = ..., can_probe_usage: _Optional[bool] = ..., per_model: _Optional[_Iterable[_Union[PerModelHeadroom, _Mapping]]] = ...) -> None: ...
