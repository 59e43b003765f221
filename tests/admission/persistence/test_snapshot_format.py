"""Snapshot bytes (admission.md §8.1, Appendix B) and the snapshot files on disk (§8.2)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.admission._errors import SnapshotFormatError
from tracker.admission.core._state import (
    ZERO_TIME,
    BucketArray,
    ConsumerCreditState,
    DayBucket,
    MinuteBucket,
    SeederHeartbeatState,
)
from tracker.admission.persistence._snapshot_format import (
    CONSUMER_ENTRY_SIZE,
    SEEDER_ENTRY_SIZE,
    decode_snapshot,
    encode_snapshot,
)
from tracker.admission.persistence._snapshot_store import (
    enumerate_snapshots,
    prune_snapshots,
    read_snapshot_file,
    snapshot_path,
    write_snapshot_file,
)
from tracker.admission.persistence._tlog_format import crc32c

EMPTY_VECTOR = "534d44410100000001000000000000008090296600000000000000000000000082ef47b6"


def test_empty_snapshot_vector() -> None:
    data = encode_snapshot(1, 1714000000, {}, {})
    assert data.hex() == EMPTY_VECTOR
    assert len(data) == 36
    decoded = decode_snapshot(data)
    assert (decoded.seq, decoded.ts, decoded.consumers, decoded.seeders) == (1, 1714000000, {}, {})


def test_consumer_entry_layout_and_bucket_vectors() -> None:
    state = ConsumerCreditState(first_seen_at=ZERO_TIME, last_balance_seen=-5)
    state.set_bucket(BucketArray.SETTLEMENT, 18, DayBucket(5, 5, 0, 1777075200))
    consumer = b"\xc1" * 32
    data = encode_snapshot(9, 1777118400, {consumer: state}, {})
    assert len(data) == 28 + 4 + CONSUMER_ENTRY_SIZE + 4
    entry = data[28 : 28 + CONSUMER_ENTRY_SIZE]
    assert entry[:32] == consumer
    assert entry[32:40] == bytes.fromhex("00096e88f1ffffff")  # zero time sentinel, LE
    assert struct.unpack("<q", entry[40:48])[0] == -5
    unused = bytes.fromhex("00000000000000000000000000096e88f1ffffff")
    used = bytes.fromhex("0500000005000000000000000004ec6900000000")
    # interleaved per day: settlement[i], dispute[i], flow[i]
    assert entry[48:68] == unused
    settlement_18 = 48 + 18 * 60
    assert entry[settlement_18 : settlement_18 + 20] == used
    assert entry[settlement_18 + 20 : settlement_18 + 40] == unused
    assert decode_snapshot(data).consumers == {consumer: state}


def test_seeder_entry_round_trip() -> None:
    seeder = SeederHeartbeatState(
        last_bucket_roll_at=1777118400,
        last_headroom_estimate=9000,
        last_headroom_source=2,
        last_headroom_ts=ZERO_TIME,
        can_probe_usage=True,
    )
    seeder.set_bucket(3, MinuteBucket(1, 4))
    data = encode_snapshot(3, 10, {}, {b"\xaa" * 32: seeder})
    assert len(data) == 28 + 4 + 4 + SEEDER_ENTRY_SIZE
    assert decode_snapshot(data).seeders == {b"\xaa" * 32: seeder}


def _set_crc(body: bytes) -> bytes:
    return body + struct.pack("<I", crc32c(body))


def test_decode_errors_are_typed() -> None:
    good = encode_snapshot(1, 1714000000, {}, {})
    with pytest.raises(SnapshotFormatError, match="too short"):
        decode_snapshot(good[:27])
    with pytest.raises(SnapshotFormatError, match="bad magic"):
        decode_snapshot(_set_crc(b"XXXX" + good[4:-4]))
    with pytest.raises(SnapshotFormatError, match="unsupported format_version 2"):
        decode_snapshot(_set_crc(good[:4] + b"\x02\x00\x00\x00" + good[8:-4]))
    with pytest.raises(SnapshotFormatError, match="trailer CRC mismatch"):
        decode_snapshot(good[:-1] + bytes([good[-1] ^ 1]))


@pytest.mark.parametrize("consumers,seeders", [(1, 0), (2**32 - 1, 0), (0, 1), (0, 2**32 - 1)])
def test_inconsistent_counts_raise_typed_error(consumers: int, seeders: int) -> None:
    header = struct.pack("<IIQQ", 0x41444D53, 1, 1, 1)
    with pytest.raises(SnapshotFormatError, match="truncated"):
        decode_snapshot(_set_crc(header + struct.pack("<I", consumers) + struct.pack("<I", seeders)))


def test_missing_seeder_count_is_typed_error() -> None:
    header = struct.pack("<IIQQ", 0x41444D53, 1, 1, 1)
    with pytest.raises(SnapshotFormatError, match="seeder count truncated"):
        decode_snapshot(_set_crc(header + struct.pack("<I", 0)))


_u32 = st.integers(0, 2**32 - 1)
_time = st.one_of(st.just(ZERO_TIME), st.integers(-(2**40), 2**40))
_bucket = st.builds(DayBucket, _u32, _u32, _u32, _time)


@st.composite
def _consumer_state(draw: st.DrawFn) -> ConsumerCreditState:
    state = ConsumerCreditState(draw(_time), draw(st.integers(-(2**63), 2**63 - 1)))
    for _ in range(draw(st.integers(0, 6))):
        state.set_bucket(draw(st.sampled_from(list(BucketArray))), draw(st.integers(0, 29)), draw(_bucket))
    return state


@st.composite
def _seeder_state(draw: st.DrawFn) -> SeederHeartbeatState:
    seeder = SeederHeartbeatState(
        draw(_time), draw(_u32), draw(st.integers(0, 255)), draw(_time), draw(st.booleans())
    )
    for index in range(10):
        seeder.set_bucket(index, MinuteBucket(draw(_u32), draw(_u32)))
    return seeder


@settings(max_examples=60, deadline=None)
@given(
    seq=st.integers(0, 2**64 - 1),
    ts=st.integers(-(2**62), 2**62),
    consumers=st.dictionaries(st.binary(min_size=32, max_size=32), _consumer_state(), max_size=4),
    seeders=st.dictionaries(st.binary(min_size=32, max_size=32), _seeder_state(), max_size=3),
)
def test_round_trip(seq: int, ts: int, consumers: dict, seeders: dict) -> None:
    data = encode_snapshot(seq, ts, consumers, seeders)
    decoded = decode_snapshot(data)
    assert (decoded.seq, decoded.ts) == (seq, ts)
    assert decoded.consumers == consumers
    assert decoded.seeders == seeders
    assert encode_snapshot(seq, ts, decoded.consumers, decoded.seeders) == data


def test_files_naming_write_enumerate_prune(tmp_path: Path) -> None:
    prefix = tmp_path / "admission.snapshot"
    assert snapshot_path(prefix, 400).name == "admission.snapshot.00000000000000000400"
    for seq in (3, 1, 2):
        write_snapshot_file(snapshot_path(prefix, seq), encode_snapshot(seq, 1, {}, {}))
    (tmp_path / "admission.snapshot.7.tmp").write_bytes(b"partial")
    (tmp_path / "admission.snapshot.abc").write_bytes(b"x")
    (tmp_path / "admission.snapshot.15").write_bytes(encode_snapshot(15, 1, {}, {}))  # unpadded is accepted
    assert [seq for seq, _ in enumerate_snapshots(prefix)] == [1, 2, 3, 15]
    assert read_snapshot_file(snapshot_path(prefix, 2)).seq == 2
    assert not list(tmp_path.glob("*.00000000000000000003.tmp"))
    deleted = prune_snapshots(prefix, 2)
    assert sorted(path.name for path in deleted) == [
        snapshot_path(prefix, 1).name,
        snapshot_path(prefix, 2).name,
    ]
    assert [seq for seq, _ in enumerate_snapshots(prefix)] == [3, 15]
    assert (tmp_path / "admission.snapshot.abc").exists()
