from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BalanceSnapshotBody(_message.Message):
    __slots__ = ("identity_id", "credits", "chain_tip_hash", "chain_tip_seq", "issued_at", "expires_at")
    IDENTITY_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TIP_HASH_FIELD_NUMBER: _ClassVar[int]
    CHAIN_TIP_SEQ_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    identity_id: bytes
    credits: int
    chain_tip_hash: bytes
    chain_tip_seq: int
    issued_at: int
    expires_at: int
    def __init__(self, identity_id: _Optional[bytes] = ..., credits: _Optional[int] = ..., chain_tip_hash: _Optional[bytes] = ..., chain_tip_seq: _Optional[int] = ..., issued_at: _Optional[int] = ..., expires_at: _Optional[int] = ...) -> None: ...

class SignedBalanceSnapshot(_message.Message):
    __slots__ = ("body", "tracker_sig")
    BODY_FIELD_NUMBER: _ClassVar[int]
    TRACKER_SIG_FIELD_NUMBER: _ClassVar[int]
    body: BalanceSnapshotBody
    tracker_sig: bytes
    def __init__(self, body: _Optional[_Union[BalanceSnapshotBody, _Mapping]] = ..., tracker_sig: _Optional[bytes] = ...) -> None: ...
