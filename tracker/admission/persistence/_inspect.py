"""Offline inspection of admission persistence files (tlog and snapshots) for `trio-tracker admission
inspect`: read-only summaries — counts per kind, seq ranges, torn tails, corrupt offsets, snapshot headers and
errors."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tracker.admission._errors import SnapshotFormatError, TLogError
from tracker.admission.persistence._records import record_to_event
from tracker.admission.persistence._seq import is_ledger_derived, ledger_seq_of
from tracker.admission.persistence._snapshot_format import decode_snapshot
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_format import (
    OperatorOverridePayload,
    SnapshotMarkPayload,
    TLogKind,
    kind_name,
)
from tracker.admission.persistence._tlog_reader import (
    DAMAGED_SUFFIX,
    TORN_SUFFIX,
    enumerate_tlog_files,
    read_file_bytes,
    scan_tlog_bytes,
)

__all__ = [
    "PersistenceInspection",
    "SnapshotInspection",
    "TLogInspection",
    "find_set_aside_files",
    "inspect_files",
    "inspect_snapshot",
    "inspect_tlog",
]


@dataclass(slots=True)
class TLogInspection:
    path: Path
    active: bool
    size: int = 0
    records: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    seq_min: int | None = None
    seq_max: int | None = None
    ts_min: int | None = None
    ts_max: int | None = None
    good_end: int = 0
    torn_tail_bytes: int = 0
    corrupt_offset: int | None = None
    damage: list[tuple[int, int]] = field(default_factory=list)  # [start, end) ranges with no valid frame
    not_a_tlog: bool = False
    lost_local_records: int = 0
    payload_errors: list[dict[str, Any]] = field(default_factory=list)
    seq_regressions: int = 0
    record_lines: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ledger_seq_max(self) -> int | None:
        """The ledger position of the highest seq in the file."""
        return None if self.seq_max is None else ledger_seq_of(self.seq_max)

    @property
    def damaged(self) -> bool:
        torn_mid_stream = self.torn_tail_bytes > 0 and not self.active
        return self.corrupt_offset is not None or torn_mid_stream or bool(self.payload_errors)

    @property
    def status(self) -> str:
        if self.not_a_tlog:
            return "not_a_tlog"
        if self.corrupt_offset is not None:
            return "corrupt"
        if self.payload_errors:
            return "bad_payload"
        if self.torn_tail_bytes:
            return "torn_tail" if self.active else "truncated_mid_stream"
        return "clean"

    def to_json(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "path": str(self.path),
            "active": self.active,
            "status": self.status,
            "damaged": self.damaged,
            "size": self.size,
            "records": self.records,
            "counts": dict(sorted(self.counts.items())),
            "seq_min": self.seq_min,
            "seq_max": self.seq_max,
            "ledger_seq_max": self.ledger_seq_max,
            "ts_min": self.ts_min,
            "ts_max": self.ts_max,
            "good_end": self.good_end,
            "torn_tail_bytes": self.torn_tail_bytes,
            "corrupt_offset": self.corrupt_offset,
            "damaged_ranges": [list(item) for item in self.damage],
            "local_records_lost": self.lost_local_records,
            "payload_errors": self.payload_errors,
            "seq_regressions": self.seq_regressions,
        }
        if self.record_lines:
            result["record_list"] = self.record_lines
        return result


def _describe_payload(kind: int, ts: int, payload: bytes) -> dict[str, Any]:
    if kind == TLogKind.SNAPSHOT_MARK:
        mark = SnapshotMarkPayload.decode(payload)
        return {"snapshot_seq": mark.snapshot_seq, "path": mark.path}
    if kind == TLogKind.OPERATOR_OVERRIDE:
        override = OperatorOverridePayload.decode(payload)
        return {
            "operator_id": override.operator_id,
            "action": override.action,
            "params": override.params.decode(errors="replace"),
            "ts": override.ts,
        }
    event = record_to_event(kind, ts, payload)
    if event is None:
        return {"payload_bytes": len(payload)}
    described: dict[str, Any] = {"event": event.kind.name.lower(), "consumer_id": event.consumer_id.hex()}
    if kind == TLogKind.SETTLEMENT:
        described.update(seeder_id=event.seeder_id.hex(), cost=event.cost_credits, flags=event.flags)
    elif kind in (TLogKind.TRANSFER, TLogKind.STARTER_GRANT):
        described["cost"] = event.cost_credits
    return described


def inspect_tlog(path: Path, *, active: bool, with_records: bool = False) -> TLogInspection:
    """Scan one tlog file. OSError propagates."""
    inspection = TLogInspection(path=path, active=active)
    last_seq = -1

    def on_record(seq: int, ts: int, kind: int, payload: bytes) -> None:
        nonlocal last_seq
        name = kind_name(kind)
        inspection.counts[name] = inspection.counts.get(name, 0) + 1
        if kind != TLogKind.SNAPSHOT_MARK:
            if seq <= last_seq:
                inspection.seq_regressions += 1
            last_seq = max(last_seq, seq)
            inspection.seq_min = seq if inspection.seq_min is None else min(inspection.seq_min, seq)
            inspection.seq_max = seq if inspection.seq_max is None else max(inspection.seq_max, seq)
        inspection.ts_min = ts if inspection.ts_min is None else min(inspection.ts_min, ts)
        inspection.ts_max = ts if inspection.ts_max is None else max(inspection.ts_max, ts)
        try:
            described = _describe_payload(kind, ts, payload)
        except TLogError as error:
            inspection.payload_errors.append(
                {"record": inspection.counts[name], "seq": seq, "error": str(error)}
            )
            described = {"error": str(error)}
        if with_records:
            line = {"seq": seq, "ts": ts, "kind": name}
            if kind != TLogKind.SNAPSHOT_MARK and seq:
                line["ledger_seq"] = ledger_seq_of(seq)
                line["local"] = not is_ledger_derived(seq)
            line.update(described)
            inspection.record_lines.append(line)

    with read_file_bytes(path) as data:
        scan = scan_tlog_bytes(data, on_record, path)
    inspection.size = scan.size
    inspection.records = scan.records
    inspection.good_end = scan.good_end
    inspection.corrupt_offset = scan.corrupt_offset
    inspection.damage = list(scan.damage)
    inspection.not_a_tlog = scan.not_a_tlog
    inspection.lost_local_records = scan.lost_local_records
    inspection.torn_tail_bytes = scan.size - scan.good_end if scan.truncated else 0
    return inspection


def inspect_configured_tlog(base: str, *, with_records: bool = False) -> list[TLogInspection]:
    files = enumerate_tlog_files(base)
    active_name = Path(base).name
    return [
        inspect_tlog(
            path, active=(index == len(files) - 1 and path.name == active_name), with_records=with_records
        )
        for index, path in enumerate(files)
    ]


@dataclass(slots=True)
class SnapshotInspection:
    path: Path
    size: int = 0
    error: str | None = None
    seq: int | None = None
    ts: int | None = None
    consumers: int | None = None
    seeders: int | None = None
    trailing_bytes: int = 0
    name_seq: int | None = None

    @property
    def ledger_seq(self) -> int | None:
        """The ledger position the snapshot reflects."""
        return None if self.seq is None else ledger_seq_of(self.seq)

    @property
    def damaged(self) -> bool:
        return self.error is not None or self.trailing_bytes > 0

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "status": "damaged" if self.damaged else "ok",
            "damaged": self.damaged,
            "error": self.error,
            "size": self.size,
            "seq": self.seq,
            "ledger_seq": self.ledger_seq,
            "name_seq": self.name_seq,
            "ts": self.ts,
            "consumers": self.consumers,
            "seeders": self.seeders,
            "trailing_bytes": self.trailing_bytes,
        }


def inspect_snapshot(path: Path, name_seq: int | None = None) -> SnapshotInspection:
    """Decode one snapshot file. OSError propagates."""
    data = Path(path).read_bytes()
    inspection = SnapshotInspection(path=path, size=len(data), name_seq=name_seq)
    try:
        snapshot = decode_snapshot(data)
    except SnapshotFormatError as error:
        inspection.error = str(error)
        return inspection
    inspection.seq = snapshot.seq
    inspection.ts = snapshot.ts
    inspection.consumers = len(snapshot.consumers)
    inspection.seeders = len(snapshot.seeders)
    inspection.trailing_bytes = snapshot.trailing_bytes
    if snapshot.trailing_bytes:
        inspection.error = f"admission/snapshot: {snapshot.trailing_bytes} bytes after the last entry"
    elif name_seq is not None and name_seq != snapshot.seq:
        inspection.error = f"admission/snapshot: file name says seq {name_seq}, header says {snapshot.seq}"
    return inspection


def inspect_configured_snapshots(prefix: str) -> list[SnapshotInspection]:
    return [inspect_snapshot(path, seq) for seq, path in enumerate_snapshots(prefix)]


def find_set_aside_files(*bases: str, suffix: str = DAMAGED_SUFFIX) -> list[Path]:
    """Files start-up moved aside earlier (`<name>.damaged-…`: quarantined tlogs and unusable snapshots; with
    `suffix` = TORN_SUFFIX the torn tails it cut) next to the given tlog/snapshot bases."""
    found: list[Path] = []
    for base in bases:
        if not base:
            continue
        directory = Path(base).parent
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            continue
        head = Path(base).name + "."
        for entry in entries:
            if entry.name.startswith(head) and suffix + "-" in entry.name:
                found.append(Path(entry.path))
    return sorted(set(found))


@dataclass(slots=True)
class PersistenceInspection:
    """What `inspect_files` found: per tlog file, per snapshot, the damaged files earlier start-ups
    quarantined (`set_aside`: damage an operator has not dealt with yet, so they count as problems) and the
    torn tails they cut (`torn_tails`: the normal end after a crash, kept for reference)."""

    tlogs: list[TLogInspection]
    snapshots: list[SnapshotInspection]
    set_aside: list[Path]
    torn_tails: list[Path] = field(default_factory=list)

    @property
    def problems(self) -> list[TLogInspection | SnapshotInspection | Path]:
        items: list[TLogInspection | SnapshotInspection] = [*self.tlogs, *self.snapshots]
        return [*(item for item in items if item.damaged), *self.set_aside]

    def to_json(self) -> dict[str, Any]:
        return {
            "damaged": bool(self.problems),
            "tlog": [item.to_json() for item in self.tlogs],
            "snapshots": [item.to_json() for item in self.snapshots],
            "set_aside": [str(path) for path in self.set_aside],
            "torn_tails": [str(path) for path in self.torn_tails],
        }


def inspect_files(
    *,
    tlog_path: str = "",
    snapshot_prefix: str = "",
    tlog_file: Path | None = None,
    snapshot_file: Path | None = None,
    with_records: bool = False,
) -> PersistenceInspection:
    """Read-only summary of the admission files: one tlog file (`tlog_file`, read as the active one), one
    snapshot file (`snapshot_file`), or everything under the configured `tlog_path` and `snapshot_prefix`.
    Blocking; OSError propagates."""
    if tlog_file is not None:
        return PersistenceInspection(
            [inspect_tlog(tlog_file, active=True, with_records=with_records)], [], []
        )
    if snapshot_file is not None:
        return PersistenceInspection([], [inspect_snapshot(snapshot_file)], [])
    tlogs = inspect_configured_tlog(tlog_path, with_records=with_records) if tlog_path else []
    snapshots = inspect_configured_snapshots(snapshot_prefix) if snapshot_prefix else []
    return PersistenceInspection(
        tlogs,
        snapshots,
        find_set_aside_files(tlog_path, snapshot_prefix),
        find_set_aside_files(tlog_path, suffix=TORN_SUFFIX),
    )
