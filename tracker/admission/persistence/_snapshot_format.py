"""Admission snapshot byte format (admission.md §8.1), byte-identical to the Go tracker. All integers are
little-endian (unlike the tlog).

    u32 magic "SMDA" | u32 version 1 | u64 seq | u64 ts | u32 consumer_count | consumer entries (1848 B each)
    | u32 seeder_count | seeder entries (134 B each) | u32 CRC-32C of everything before it

Consumer entries interleave the three day-bucket arrays per day index (settlement[i], dispute[i], flow[i]);
every time field is unix seconds with the Go zero time stored as -62135596800. Decoding never raises anything
but SnapshotFormatError on bad bytes.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracker.admission._errors import SnapshotError, SnapshotFormatError
from tracker.admission.core._state import (
    DAY_BUCKET_COUNT,
    MINUTE_BUCKET_COUNT,
    ZERO_TIME,
    BucketArray,
    ConsumerCreditState,
    MinuteBucket,
    SeederHeartbeatState,
)
from tracker.admission.persistence._tlog_format import crc32c, crc32c_of_range

__all__ = [
    "CONSUMER_ENTRY_SIZE",
    "SEEDER_ENTRY_SIZE",
    "SNAPSHOT_FORMAT_VERSION",
    "SNAPSHOT_MAGIC",
    "SnapshotData",
    "SnapshotError",
    "SnapshotFormatError",
    "SnapshotLayout",
    "decode_seeders",
    "decode_snapshot",
    "encode_snapshot",
    "snapshot_layout",
]

SNAPSHOT_MAGIC = 0x41444D53  # bytes on disk: 53 4D 44 41 ("SMDA")
SNAPSHOT_FORMAT_VERSION = 1
CONSUMER_ENTRY_SIZE = 1848
SEEDER_ENTRY_SIZE = 134
_MIN_SIZE = 28
_U64 = 0xFFFFFFFFFFFFFFFF

_HEADER = struct.Struct("<IIQQ")  # magic, version, seq, ts
_U32 = struct.Struct("<I")
_CONSUMER_HEAD = struct.Struct("<32sqq")  # id, first_seen_at, last_balance_seen
_BUCKET = struct.Struct("<IIIq")
_TRIPLET = struct.Struct("<IIIqIIIqIIIq")
_SEEDER = struct.Struct("<32s20IqIBqB")
_BUCKETS_OFFSET = _CONSUMER_HEAD.size  # 48
_BUCKET_SIZE = _BUCKET.size  # 20
_TRIPLET_SIZE = 3 * _BUCKET_SIZE
_UNSET_BUCKET = _BUCKET.pack(0, 0, 0, ZERO_TIME)
_UNSET_TRIPLET = _UNSET_BUCKET * 3
_UNSET_BUCKETS = _UNSET_TRIPLET * DAY_BUCKET_COUNT
_EMPTY_CONSUMER_TAIL = _UNSET_BUCKETS
_CHUNK_DAYS = 5  # decode checks the day triplets in chunks of this many days first
_CHUNK_STARTS = range(0, DAY_BUCKET_COUNT, _CHUNK_DAYS)
assert DAY_BUCKET_COUNT % _CHUNK_DAYS == 0
_ARRAYS = (BucketArray.SETTLEMENT, BucketArray.DISPUTE, BucketArray.FLOW)

assert _BUCKETS_OFFSET + len(_UNSET_BUCKETS) == CONSUMER_ENTRY_SIZE
assert _SEEDER.size == SEEDER_ENTRY_SIZE


@dataclass(slots=True)
class SnapshotData:
    """A decoded snapshot: the persisted position `seq`, its creation time `ts`, and the state maps."""

    seq: int
    ts: int
    consumers: dict[bytes, ConsumerCreditState] = field(default_factory=dict)
    seeders: dict[bytes, SeederHeartbeatState] = field(default_factory=dict)
    trailing_bytes: int = 0  # bytes between the last entry and the trailer (Go ignores them; inspect reports)


def encode_snapshot(
    seq: int,
    ts: int,
    consumers: dict[bytes, ConsumerCreditState],
    seeders: dict[bytes, SeederHeartbeatState],
) -> bytes:
    """The complete snapshot file bytes (trailer CRC included)."""
    consumer_count = len(consumers)
    seeder_count = len(seeders)
    consumers_start = _HEADER.size + 4
    seeders_start = consumers_start + consumer_count * CONSUMER_ENTRY_SIZE + 4
    total = seeders_start + seeder_count * SEEDER_ENTRY_SIZE
    out = bytearray(total)
    _HEADER.pack_into(out, 0, SNAPSHOT_MAGIC, SNAPSHOT_FORMAT_VERSION, seq & _U64, ts & _U64)
    _U32.pack_into(out, _HEADER.size, consumer_count)
    # Fill all bucket regions with the unset pattern in one go, then patch the written buckets.
    pack_head = _CONSUMER_HEAD.pack_into
    pack_bucket = _BUCKET.pack_into
    offset = consumers_start
    for consumer_id, state in consumers.items():
        _check_id(consumer_id, "consumer")
        pack_head(out, offset, consumer_id, state.first_seen_at, state.last_balance_seen)
        buckets_at = offset + _BUCKETS_OFFSET
        out[buckets_at : buckets_at + len(_UNSET_BUCKETS)] = _UNSET_BUCKETS
        for which, index, bucket in state.written_buckets():
            pack_bucket(
                out,
                buckets_at + index * _TRIPLET_SIZE + int(which) * _BUCKET_SIZE,
                bucket.total,
                bucket.a,
                bucket.b,
                bucket.day_stamp,
            )
        offset += CONSUMER_ENTRY_SIZE
    _U32.pack_into(out, offset, seeder_count)
    offset += 4
    for seeder_id, seeder in seeders.items():
        _check_id(seeder_id, "seeder")
        minute_values: list[int] = []
        for index in range(MINUTE_BUCKET_COUNT):
            minute = seeder.bucket(index)
            minute_values.append(minute.expected)
            minute_values.append(minute.actual)
        _SEEDER.pack_into(
            out,
            offset,
            seeder_id,
            *minute_values,
            seeder.last_bucket_roll_at,
            seeder.last_headroom_estimate & 0xFFFFFFFF,
            seeder.last_headroom_source & 0xFF,
            seeder.last_headroom_ts,
            1 if seeder.can_probe_usage else 0,
        )
        offset += SEEDER_ENTRY_SIZE
    out += _U32.pack(crc32c(bytes(out)))
    return bytes(out)


def _check_id(identity: bytes, what: str) -> None:
    if len(identity) != 32:
        raise SnapshotError(f"admission/snapshot: {what} id must be 32 bytes, got {len(identity)}")


ConsumerFactory = Callable[[int, int, list[tuple[int, int, int, int, int]]], Any]
"""Builds the value stored for one consumer from (first_seen_at, last_balance_seen, written buckets as
(code = array * 30 + index, total, a, b, day_stamp))."""


@dataclass(slots=True)
class SnapshotLayout:
    """Where the parts of a validated snapshot are."""

    seq: int
    ts: int
    consumers_at: int
    consumer_count: int
    seeders_at: int
    seeder_count: int
    trailing_bytes: int


def snapshot_layout(data: bytes | mmap.mmap) -> SnapshotLayout:
    """Check magic, version, trailer CRC and that both declared counts fit; raises SnapshotFormatError."""
    size = len(data)
    if size < _MIN_SIZE:
        raise SnapshotFormatError(f"admission/snapshot: too short ({size} bytes)")
    magic, version, seq, ts = _HEADER.unpack_from(data, 0)
    if magic != SNAPSHOT_MAGIC:
        raise SnapshotFormatError(f"admission/snapshot: bad magic 0x{magic:08x}")
    if version != SNAPSHOT_FORMAT_VERSION:
        raise SnapshotFormatError(f"admission/snapshot: unsupported format_version {version}")
    body_end = size - 4
    (stored_crc,) = _U32.unpack_from(data, body_end)
    if crc32c_of_range(data, 0, body_end) != stored_crc:
        raise SnapshotFormatError("admission/snapshot: trailer CRC mismatch")
    if ts >= 1 << 63:
        ts -= 1 << 64
    consumer_count, consumers_at = _count(data, _HEADER.size, body_end, CONSUMER_ENTRY_SIZE, "consumer")
    seeders_offset = consumers_at + consumer_count * CONSUMER_ENTRY_SIZE
    seeder_count, seeders_at = _count(data, seeders_offset, body_end, SEEDER_ENTRY_SIZE, "seeder")
    return SnapshotLayout(
        seq=seq,
        ts=ts,
        consumers_at=consumers_at,
        consumer_count=consumer_count,
        seeders_at=seeders_at,
        seeder_count=seeder_count,
        trailing_bytes=body_end - seeders_at - seeder_count * SEEDER_ENTRY_SIZE,
    )


def _count(
    data: bytes | mmap.mmap, offset: int, body_end: int, entry_size: int, what: str
) -> tuple[int, int]:
    """(count, offset of the first entry) of the u32-counted array at `offset`, checked to fit."""
    if body_end - offset < 4:
        raise SnapshotFormatError(f"admission/snapshot: {what} count truncated")
    (count,) = _U32.unpack_from(data, offset)
    start = offset + 4
    if count * entry_size > body_end - start:
        raise SnapshotFormatError(
            f"admission/snapshot: {what} state truncated ({count} {what}s declared, "
            f"{(body_end - start) // entry_size} fit)"
        )
    return count, start


def decode_seeders(data: bytes | mmap.mmap, layout: SnapshotLayout) -> dict[bytes, SeederHeartbeatState]:
    seeders: dict[bytes, SeederHeartbeatState] = {}
    offset = layout.seeders_at
    for _ in range(layout.seeder_count):
        values = _SEEDER.unpack_from(data, offset)
        seeder = SeederHeartbeatState(
            last_bucket_roll_at=values[21],
            last_headroom_estimate=values[22],
            last_headroom_source=values[23],
            last_headroom_ts=values[24],
            can_probe_usage=values[25] != 0,
        )
        for index in range(MINUTE_BUCKET_COUNT):
            seeder.set_bucket(index, MinuteBucket(values[1 + 2 * index], values[2 + 2 * index]))
        seeders[values[0]] = seeder
        offset += SEEDER_ENTRY_SIZE
    return seeders


def decode_snapshot(data: bytes, consumer_factory: ConsumerFactory | None = None) -> SnapshotData:
    """Parse snapshot bytes; raises SnapshotFormatError (never IndexError / struct.error) on bad input."""
    data = bytes(data)
    layout = snapshot_layout(data)
    consumers: dict[bytes, Any] = {}
    make_consumer = consumer_factory if consumer_factory is not None else ConsumerCreditState.from_buckets
    unpack_head = _CONSUMER_HEAD.unpack_from
    unpack_triplet = _TRIPLET.unpack_from
    unset_buckets = _UNSET_BUCKETS
    unset_triplet = _UNSET_TRIPLET
    unset_chunk = _UNSET_TRIPLET * _CHUNK_DAYS
    startswith = data.startswith
    offset = layout.consumers_at
    for _ in range(layout.consumer_count):
        consumer_id, first_seen_at, last_balance_seen = unpack_head(data, offset)
        buckets_at = offset + _BUCKETS_OFFSET
        written: list[tuple[int, int, int, int, int]] = []
        # startswith compares in place (the whole entry is in bounds: checked above), no slice copies.
        if not startswith(unset_buckets, buckets_at):
            for first in _CHUNK_STARTS:  # skip runs of unset days a chunk at a time
                if startswith(unset_chunk, buckets_at + first * _TRIPLET_SIZE):
                    continue
                for index in range(first, first + _CHUNK_DAYS):
                    at = buckets_at + index * _TRIPLET_SIZE
                    if startswith(unset_triplet, at):
                        continue
                    values = unpack_triplet(data, at)
                    for which in range(3):
                        total, a, b, stamp = values[4 * which : 4 * which + 4]
                        if stamp != ZERO_TIME or total or a or b:
                            written.append((which * DAY_BUCKET_COUNT + index, total, a, b, stamp))
        consumers[consumer_id] = make_consumer(first_seen_at, last_balance_seen, written)
        offset += CONSUMER_ENTRY_SIZE
    return SnapshotData(
        layout.seq, layout.ts, consumers, decode_seeders(data, layout), trailing_bytes=layout.trailing_bytes
    )
