from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ENTRY_KIND_UNSPECIFIED: _ClassVar[EntryKind]
    ENTRY_KIND_USAGE: _ClassVar[EntryKind]
    ENTRY_KIND_TRANSFER_OUT: _ClassVar[EntryKind]
    ENTRY_KIND_TRANSFER_IN: _ClassVar[EntryKind]
    ENTRY_KIND_STARTER_GRANT: _ClassVar[EntryKind]
ENTRY_KIND_UNSPECIFIED: EntryKind
ENTRY_KIND_USAGE: EntryKind
ENTRY_KIND_TRANSFER_OUT: EntryKind
ENTRY_KIND_TRANSFER_IN: EntryKind
ENTRY_KIND_STARTER_GRANT: EntryKind

class EntryBody(_message.Message):
    __slots__ = ("prev_hash", "seq", "kind", "consumer_id", "seeder_id", "model", "input_tokens", "output_tokens", "cost_credits", "timestamp", "request_id", "flags", "ref")
    PREV_HASH_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    SEEDER_ID_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    COST_CREDITS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    prev_hash: bytes
    seq: int
    kind: EntryKind
    consumer_id: bytes
    seeder_id: bytes
    model: str
    input_tokens: int
    output_tokens: int
    cost_credits: int
    timestamp: int
    request_id: bytes
    flags: int
    ref: bytes
    def __init__(self, prev_hash: _Optional[bytes] = ..., seq: _Optional[int] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., consumer_id: _Optional[bytes] = ..., seeder_id: _Optional[bytes] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cost_credits: _Optional[int] = ..., timestamp: _Optional[int] = ..., request_id: _Optional[bytes] = ..., flags: _Optional[int] = ..., ref: _Optional[bytes] = ...) -> None: ...

class Entry(_message.Message):
    __slots__ = ("body", "consumer_sig", "seeder_sig", "tracker_sig")
    BODY_FIELD_NUMBER: _ClassVar[int]
    CONSUMER_SIG_FIELD_NUMBER: _ClassVar[int]
    SEEDER_SIG_FIELD_NUMBER: _ClassVar[int]
    TRACKER_SIG_FIELD_NUMBER: _ClassVar[int]
    body: EntryBody
    consumer_sig: bytes
    seeder_sig: bytes
    tracker_sig: bytes
    def __init__(self, body: _Optional[_Union[EntryBody, _Mapping]] = ..., consumer_sig: _Optional[bytes] = ..., seeder_sig: _Optional[bytes] = ..., tracker_sig: _Optional[bytes] = ...) -> None: ...
