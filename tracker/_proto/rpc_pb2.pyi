from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class RpcMethod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RPC_METHOD_UNSPECIFIED: _ClassVar[RpcMethod]
    RPC_METHOD_ENROLL: _ClassVar[RpcMethod]
    RPC_METHOD_BROKER_REQUEST: _ClassVar[RpcMethod]
    RPC_METHOD_BALANCE: _ClassVar[RpcMethod]
    RPC_METHOD_SETTLE: _ClassVar[RpcMethod]
    RPC_METHOD_USAGE_REPORT: _ClassVar[RpcMethod]
    RPC_METHOD_ADVERTISE: _ClassVar[RpcMethod]
    RPC_METHOD_TRANSFER_REQUEST: _ClassVar[RpcMethod]
    RPC_METHOD_STUN_ALLOCATE: _ClassVar[RpcMethod]
    RPC_METHOD_TURN_RELAY_OPEN: _ClassVar[RpcMethod]
    RPC_METHOD_BOOTSTRAP_PEERS: _ClassVar[RpcMethod]

class RpcStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RPC_STATUS_UNSPECIFIED: _ClassVar[RpcStatus]
    RPC_STATUS_OK: _ClassVar[RpcStatus]
    RPC_STATUS_INVALID: _ClassVar[RpcStatus]
    RPC_STATUS_NO_CAPACITY: _ClassVar[RpcStatus]
    RPC_STATUS_FROZEN: _ClassVar[RpcStatus]
    RPC_STATUS_INTERNAL: _ClassVar[RpcStatus]
    RPC_STATUS_UNAUTHENTICATED: _ClassVar[RpcStatus]
    RPC_STATUS_NOT_FOUND: _ClassVar[RpcStatus]

class PositionBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POSITION_BAND_UNSPECIFIED: _ClassVar[PositionBand]
    POSITION_BAND_1_TO_10: _ClassVar[PositionBand]
    POSITION_BAND_11_TO_50: _ClassVar[PositionBand]
    POSITION_BAND_51_TO_200: _ClassVar[PositionBand]
    POSITION_BAND_200_PLUS: _ClassVar[PositionBand]

class EtaBand(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ETA_BAND_UNSPECIFIED: _ClassVar[EtaBand]
    ETA_BAND_LT_30S: _ClassVar[EtaBand]
    ETA_BAND_30S_TO_2M: _ClassVar[EtaBand]
    ETA_BAND_2M_TO_5M: _ClassVar[EtaBand]
    ETA_BAND_5M_PLUS: _ClassVar[EtaBand]

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REJECT_REASON_UNSPECIFIED: _ClassVar[RejectReason]
    REJECT_REASON_REGION_OVERLOADED: _ClassVar[RejectReason]
    REJECT_REASON_QUEUE_TIMEOUT: _ClassVar[RejectReason]
RPC_METHOD_UNSPECIFIED: RpcMethod
RPC_METHOD_ENROLL: RpcMethod
RPC_METHOD_BROKER_REQUEST: RpcMethod
RPC_METHOD_BALANCE: RpcMethod
RPC_METHOD_SETTLE: RpcMethod
RPC_METHOD_USAGE_REPORT: RpcMethod
RPC_METHOD_ADVERTISE: RpcMethod
RPC_METHOD_TRANSFER_REQUEST: RpcMethod
RPC_METHOD_STUN_ALLOCATE: RpcMethod
RPC_METHOD_TURN_RELAY_OPEN: RpcMethod
RPC_METHOD_BOOTSTRAP_PEERS: RpcMethod
RPC_STATUS_UNSPECIFIED: RpcStatus
RPC_STATUS_OK: RpcStatus
RPC_STATUS_INVALID: RpcStatus
RPC_STATUS_NO_CAPACITY: RpcStatus
RPC_STATUS_FROZEN: RpcStatus
RPC_STATUS_INTERNAL: RpcStatus
RPC_STATUS_UNAUTHENTICATED: RpcStatus
RPC_STATUS_NOT_FOUND: RpcStatus
POSITION_BAND_UNSPECIFIED: PositionBand
POSITION_BAND_1_TO_10: PositionBand
POSITION_BAND_11_TO_50: PositionBand
POSITION_BAND_51_TO_200: PositionBand
POSITION_BAND_200_PLUS: PositionBand
ETA_BAND_UNSPECIFIED: EtaBand
ETA_BAND_LT_30S: EtaBand
ETA_BAND_30S_TO_2M: EtaBand
ETA_BAND_2M_TO_5M: EtaBand
ETA_BAND_5M_PLUS: EtaBand
REJECT_REASON_UNSPECIFIED: RejectReason
REJECT_REASON_REGION_OVERLOADED: RejectReason
REJECT_REASON_QUEUE_TIMEOUT: RejectReason

class RpcRequest(_message.Message):
    __slots__ = ("method", "payload")
    METHOD_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    method: RpcMethod
    payload: bytes
    def __init__(self, method: _Optional[_Union[RpcMethod, str]] = ..., payload: _Optional[bytes] = ...) -> None: ...

class RpcError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class RpcResponse(_message.Message):
    __slots__ = ("status", "payload", "error")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    status: RpcStatus
    payload: bytes
    error: RpcError
    def __init__(self, status: _Optional[_Union[RpcStatus, str]] = ..., payload: _Optional[bytes] = ..., error: _Optional[_Union[RpcError, _Mapping]] = ...) -> None: ...

class EnrollRequest(_message.Message):
    __slots__ = ("identity_pubkey", "role", "account_fingerprint", "nonce", "consumer_sig")
    IDENTITY_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_SIG_FIELD_NUMBER: _ClassVar[int]
    identity_pubkey: bytes
    role: int
    account_fingerprint: bytes
    nonce: bytes
    consumer_sig: bytes
    def __init__(self, identity_pubkey: _Optional[bytes] = ..., role: _Optional[int] = ..., account_fingerprint: _Optional[bytes] = ..., nonce: _Optional[bytes] = ..., consumer_sig: _Optional[bytes] = ...) -> None: ...

class EnrollResponse(_message.Message):
    __slots__ = ("identity_id", "starter_grant_credits", "starter_grant_entry")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    STARTER_GRANT_CREDITS_FIELD_NUMBER: _ClassVar[int]
    STARTER_GRANT_ENTRY_FIELD_NUMBER: _ClassVar[int]
    identity_id: bytes
    starter_grant_credits: int
    starter_grant_entry: bytes
    def __init__(self, identity_id: _Optional[bytes] = ..., starter_grant_credits: _Optional[int] = ..., starter_grant_entry: _Optional[bytes] = ...) -> None: ...

class BalanceRequest(_message.Message):
    __slots__ = ("identity_id",)
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    identity_id: bytes
    def __init__(self, identity_id: _Optional[bytes] = ...) -> None: ...

class SeederAssignment(_message.Message):
    __slots__ = ("seeder_addr", "seeder_pubkey", "reservation_token")
    SEEDER_ADDR_FIELD_NUMBER: _ClassVar[int]
    SEEDER_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_TOKEN_FIELD_NUMBER: _ClassVar[int]
    seeder_addr: bytes
    seeder_pubkey: bytes
    reservation_token: bytes
    def __init__(self, seeder_addr: _Optional[bytes] = ..., seeder_pubkey: _Optional[bytes] = ..., reservation_token: _Optional[bytes] = ...) -> None: ...

class NoCapacity(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class Queued(_message.Message):
    __slots__ = ("request_id", "position_band", "eta_band")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    POSITION_BAND_FIELD_NUMBER: _ClassVar[int]
    ETA_BAND_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    position_band: PositionBand
    eta_band: EtaBand
    def __init__(self, request_id: _Optional[bytes] = ..., position_band: _Optional[_Union[PositionBand, str]] = ..., eta_band: _Optional[_Union[EtaBand, str]] = ...) -> None: ...

class Rejected(_message.Message):
    __slots__ = ("reason", "retry_after_s")
    REASON_FIELD_NUMBER: _ClassVar[int]
    RETRY_AFTER_S_FIELD_NUMBER: _ClassVar[int]
    reason: RejectReason
    retry_after_s: int
    def __init__(self, reason: _Optional[_Union[RejectReason, str]] = ..., retry_after_s: _Optional[int] = ...) -> None: ...

class BrokerRequestResponse(_message.Message):
    __slots__ = ("seeder_assignment", "no_capacity", "queued", "rejected")
    SEEDER_ASSIGNMENT_FIELD_NUMBER: _ClassVar[int]
    NO_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    seeder_assignment: SeederAssignment
    no_capacity: NoCapacity
    queued: Queued
    rejected: Rejected
    def __init__(self, seeder_assignment: _Optional[_Union[SeederAssignment, _Mapping]] = ..., no_capacity: _Optional[_Union[NoCapacity, _Mapping]] = ..., queued: _Optional[_Union[Queued, _Mapping]] = ..., rejected: _Optional[_Union[Rejected, _Mapping]] = ...) -> None: ...

class SettleRequest(_message.Message):
    __slots__ = ("preimage_hash", "consumer_sig")
    PREIMAGE_HASH_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_SIG_FIELD_NUMBER: _ClassVar[int]
    preimage_hash: bytes
    consumer_sig: bytes
    def __init__(self, preimage_hash: _Optional[bytes] = ..., consumer_sig: _Optional[bytes] = ...) -> None: ...

class SettleAck(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UsageReport(_message.Message):
    __slots__ = ("request_id", "input_tokens", "output_tokens", "model", "seeder_sig")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SEEDER_SIG_FIELD_NUMBER: _ClassVar[int]
    request_id: bytes
    input_tokens: int
    output_tokens: int
    model: str
    seeder_sig: bytes
    def __init__(self, request_id: _Optional[bytes] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., model: _Optional[str] = ..., seeder_sig: _Optional[bytes] = ...) -> None: ...

class UsageAck(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Advertisement(_message.Message):
    __slots__ = ("models", "max_context", "available", "headroom", "tiers")
    MODELS_FIELD_NUMBER: _ClassVar[int]
    MAX_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedScalarFieldContainer[str]
    max_context: int
    available: bool
    headroom: float
    tiers: int
    def __init__(self, models: _Optional[_Iterable[str]] = ..., max_context: _Optional[int] = ..., available: _Optional[bool] = ..., headroom: _Optional[float] = ..., tiers: _Optional[int] = ...) -> None: ...

class AdvertiseAck(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TransferRequest(_message.Message):
    __slots__ = ("identity_id", "amount", "dest_region", "nonce", "source_tracker_id", "consumer_sig", "consumer_pub", "timestamp")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DEST_REGION_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TRACKER_ID_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_SIG_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_PUB_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    identity_id: bytes
    amount: int
    dest_region: str
    nonce: bytes
    source_tracker_id: bytes
    consumer_sig: bytes
    consumer_pub: bytes
    timestamp: int
    def __init__(self, identity_id: _Optional[bytes] = ..., amount: _Optional[int] = ..., dest_region: _Optional[str] = ..., nonce: _Optional[bytes] = ..., source_tracker_id: _Optional[bytes] = ..., consumer_sig: _Optional[bytes] = ..., consumer_pub: _Optional[bytes] = ..., timestamp: _Optional[int] = ...) -> None: ...

class TransferProof(_message.Message):
    __slots__ = ("source_chain_tip_hash", "source_seq", "tracker_sig")
    SOURCE_CHAIN_TIP_HASH_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SEQ_FIELD_NUMBER: _ClassVar[int]
    TRACKER_SIG_FIELD_NUMBER: _ClassVar[int]
    source_chain_tip_hash: bytes
    source_seq: int
    tracker_sig: bytes
    def __init__(self, source_chain_tip_hash: _Optional[bytes] = ..., source_seq: _Optional[int] = ..., tracker_sig: _Optional[bytes] = ...) -> None: ...

class StunAllocateRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StunAllocateResponse(_message.Message):
    __slots__ = ("external_addr",)
    EXTERNAL_ADDR_FIELD_NUMBER: _ClassVar[int]
    external_addr: str
    def __init__(self, external_addr: _Optional[str] = ...) -> None: ...

class TurnRelayOpenRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: bytes
    def __init__(self, session_id: _Optional[bytes] = ...) -> None: ...

class TurnRelayOpenResponse(_message.Message):
    __slots__ = ("relay_endpoint", "token")
    RELAY_ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    relay_endpoint: str
    token: bytes
    def __init__(self, relay_endpoint: _Optional[str] = ..., token: _Optional[bytes] = ...) -> None: ...

class BootstrapPeersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class BootstrapPeer(_message.Message):
    __slots__ = ("tracker_id", "addr", "region_hint", "health_score", "last_seen")
    TRACKER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDR_FIELD_NUMBER: _ClassVar[int]
    REGION_HINT_FIELD_NUMBER: _ClassVar[int]
    HEALTH_SCORE_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    tracker_id: bytes
    addr: str
    region_hint: str
    health_score: float
    last_seen: int
    def __init__(self, tracker_id: _Optional[bytes] = ..., addr: _Optional[str] = ..., region_hint: _Optional[str] = ..., health_score: _Optional[float] = ..., last_seen: _Optional[int] = ...) -> None: ...

class BootstrapPeerList(_message.Message):
    __slots__ = ("issuer_id", "signed_at", "expires_at", "peers", "sig")
    ISSUER_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    SIG_FIELD_NUMBER: _ClassVar[int]
    issuer_id: bytes
    signed_at: int
    expires_at: int
    peers: _containers.RepeatedCompositeFieldContainer[BootstrapPeer]
    sig: bytes
    def __init__(self, issuer_id: _Optional[bytes] = ..., signed_at: _Optional[int] = ..., expires_at: _Optional[int] = ..., peers: _Optional[_Iterable[_Union[BootstrapPeer, _Mapping]]] = ..., sig: _Optional[bytes] = ...) -> None: ...

class HeartbeatPing(_message.Message):
    __slots__ = ("seq", "t")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    T_FIELD_NUMBER: _ClassVar[int]
    seq: int
    t: int
    def __init__(self, seq: _Optional[int] = ..., t: _Optional[int] = ...) -> None: ...

class HeartbeatPong(_message.Message):
    __slots__ = ("seq",)
    SEQ_FIELD_NUMBER: _ClassVar[int]
    seq: int
    def __init__(self, seq: _Optional[int] = ...) -> None: ...

class OfferPush(_message.Message):
    __slots__ = ("consumer_id", "envelope_hash", "model", "max_input_tokens", "max_output_tokens")
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    ENVELOPE_HASH_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MAX_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MAX_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    consumer_id: bytes
    envelope_hash: bytes
    model: str
    max_input_tokens: int
    max_output_tokens: int
    def __init__(self, consumer_id: _Optional[bytes] = ..., envelope_hash: _Optional[bytes] = ..., model: _Optional[str] = ..., max_input_tokens: _Optional[int] = ..., max_output_tokens: _Optional[int] = ...) -> None: ...

class OfferDecision(_message.Message):
    __slots__ = ("accept", "ephemeral_pubkey", "reject_reason")
    ACCEPT_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_PUBKEY_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    accept: bool
    ephemeral_pubkey: bytes
    reject_reason: str
    def __init__(self, accept: _Optional[bool] = ..., ephemeral_pubkey: _Optional[bytes] = ..., reject_reason: _Optional[str] = ...) -> None: ...

class SettlementPush(_message.Message):
    __slots__ = ("preimage_hash", "preimage_body")
    PREIMAGE_HASH_FIELD_NUMBER: _ClassVar[int]
    PREIMAGE_BODY_FIELD_NUMBER: _ClassVar[int]
    preimage_hash: bytes
    preimage_body: bytes
    def __init__(self, preimage_hash: _Optional[bytes] = ..., preimage_body: _Optional[bytes] = ...) -> None: ...
