"""Shared helpers for the admission persistence tests: a minimal state core, committed-entry builders, a fake
ledger source, and state comparison."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from tracker._proto.ledger_pb2 import Entry, EntryBody
from tracker.admission.core._events import LedgerEvent, apply_ledger_event
from tracker.admission.core._state import ConsumerCreditState, SeederHeartbeatState
from tracker.ledger import CommittedEntry

NOW = 1777118400  # 2026-04-25T12:00:00Z (the spec's standard time)
KIND_USAGE, KIND_TRANSFER_OUT, KIND_TRANSFER_IN, KIND_STARTER_GRANT = 1, 2, 3, 4


def make_id(byte: int) -> bytes:
    return bytes([byte]) * 32


def make_id_i(index: int) -> bytes:
    """Go makeIDi: byte0 = i & 0xff, byte1 = (i >> 8) & 0xff, rest zero."""
    return bytes([index & 0xFF, (index >> 8) & 0xFF]) + bytes(30)


class SimpleCore:
    """The part of AdmissionCore persistence uses: the two state maps and a pure apply."""

    def __init__(self) -> None:
        self.consumers: dict[bytes, ConsumerCreditState] = {}
        self.seeders: dict[bytes, SeederHeartbeatState] = {}
        self.degraded_mode = False
        self.applied: list[LedgerEvent] = []

    def apply_event(self, event: LedgerEvent) -> None:
        self.applied.append(event)
        apply_ledger_event(self.consumers, event)


def admission_config(tmp_path: Path, **overrides: object) -> SimpleNamespace:
    values: dict[str, object] = {
        "tlog_path": str(tmp_path / "admission.tlog"),
        "snapshot_path_prefix": str(tmp_path / "admission.snapshot"),
        "snapshot_interval_s": 600,
        "snapshots_retained": 3,
        "fsync_batch_window_ms": 5,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def committed_entry(
    seq: int,
    kind: int,
    consumer: bytes,
    *,
    seeder: bytes = bytes(32),
    cost: int = 1,
    timestamp: int = NOW,
    flags: int = 0,
    recipient: bytes | None = None,
) -> CommittedEntry:
    body = EntryBody(
        seq=seq,
        kind=kind,
        consumer_id=consumer,
        seeder_id=seeder,
        cost_credits=cost,
        timestamp=timestamp,
        flags=flags,
    )
    return CommittedEntry(seq, bytes(32), Entry(body=body), recipient)


@dataclass
class FakeLedger:
    """A ledger read interface over a list of committed entries (seq = index + 1)."""

    entries: list[CommittedEntry] = field(default_factory=list)
    calls: list[tuple[int, int]] = field(default_factory=list)
    fail: bool = False

    def append(self, kind: int, consumer: bytes, **kwargs: object) -> CommittedEntry:
        entry = committed_entry(len(self.entries) + 1, kind, consumer, **kwargs)  # type: ignore[arg-type]
        self.entries.append(entry)
        return entry

    async def entries_since(self, since_seq: int, limit: int = 0) -> list[CommittedEntry]:
        self.calls.append((since_seq, limit))
        if self.fail:
            raise OSError("ledger unavailable")
        selected = [entry for entry in self.entries if entry.seq > since_seq]
        return selected[:limit] if limit > 0 else selected


def recompute(entries: list[CommittedEntry], local_events: list[tuple[int, LedgerEvent]] | None = None):
    """State from applying every ledger entry once (plus local events at their positions: (after_ledger_seq,
    event) means "applied after ledger entry N")."""
    from tracker.admission.core._events import event_from_committed_entry

    consumers: dict[bytes, ConsumerCreditState] = {}
    pending = sorted(local_events or [], key=lambda item: item[0])
    position = 0
    for entry in entries:
        while position < len(pending) and pending[position][0] < entry.seq:
            apply_ledger_event(consumers, pending[position][1])
            position += 1
        event = event_from_committed_entry(entry)
        if event is not None:
            apply_ledger_event(consumers, event)
    for _, event in pending[position:]:
        apply_ledger_event(consumers, event)
    return consumers


def settlement(
    consumer: bytes, cost: int = 1, seeder: bytes = bytes(32), timestamp: int = NOW, flags: int = 0
) -> LedgerEvent:
    from tracker.admission.core._events import LedgerEventKind

    return LedgerEvent(
        kind=LedgerEventKind.SETTLEMENT,
        consumer_id=consumer,
        seeder_id=seeder,
        cost_credits=cost,
        flags=flags,
        timestamp=timestamp,
    )


def dispute(consumer: bytes, *, upheld: bool | None = None, timestamp: int = NOW) -> LedgerEvent:
    from tracker.admission.core._events import LedgerEventKind

    if upheld is None:
        return LedgerEvent(kind=LedgerEventKind.DISPUTE_FILED, consumer_id=consumer, timestamp=timestamp)
    return LedgerEvent(
        kind=LedgerEventKind.DISPUTE_RESOLVED,
        consumer_id=consumer,
        dispute_upheld=upheld,
        timestamp=timestamp,
    )


async def open_persistent(
    tmp_path: Path,
    *,
    core: object | None = None,
    ledger: object | None = None,
    fast_replay: bool = True,
    clock: Callable[[], float] | None = None,
    **config_overrides: object,
):
    """A AdmissionService over `core` (a SimpleCore by default), replayed and ready."""
    from tracker.admission._service import AdmissionService
    from tracker.admission.persistence._metrics import PersistenceMetrics

    persistent = AdmissionService(
        core if core is not None else SimpleCore(),  # type: ignore[arg-type]
        admission_config(tmp_path, **config_overrides),
        persistence_metrics=PersistenceMetrics(),
        fast_replay=fast_replay,
        **({"clock": clock} if clock is not None else {}),
    )
    await persistent.startup_replay(ledger)  # type: ignore[arg-type]
    return persistent


def crash(persistent: object) -> None:
    """Drop the process state without flushing: buffered records are lost, the fd is closed."""
    import os

    writer = persistent.writer  # type: ignore[attr-defined]
    if writer is not None and writer._fd is not None:
        os.close(writer._fd)
        writer._fd = None


def real_core(tmp_path: Path):
    """The real AdmissionCore with default config and its own metrics registry."""
    from prometheus_client import CollectorRegistry

    from tracker.admission.core._gatekeeper import AdmissionCore
    from tracker.admission.core._metrics import AdmissionMetrics
    from tracker.config import config_for_data_dir
    from tracker.identity import identity_from_seed
    from tracker.registry import Registry

    config = config_for_data_dir(tmp_path)
    metrics = AdmissionMetrics(CollectorRegistry())
    return AdmissionCore(
        config.admission, Registry(), identity_from_seed(b"admission-fixture-tracker-seed-1"), metrics=metrics
    )


def metric_value(metrics: object, attribute: str) -> float:
    return getattr(metrics, attribute)._value.get()
