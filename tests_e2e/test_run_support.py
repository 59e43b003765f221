"""Helpers for the `trio-tracker run` end-to-end tests (no tests here): data directories, a running tracker
subprocess with its ready line parsed from stderr, and loopback HTTP calls."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests_e2e.conftest import TRIO_TRACKER, run_cli
from tracker.admin._json import consumer_view_json
from tracker.admission.core._events import event_from_committed_entry
from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.app import ServiceContext, ShutdownController
from tracker.app._services import open_tracker_services
from tracker.config import load as load_config
from tracker.identity import load_identity
from tracker.ledger import AsyncLedger, UsageRecord, build_usage_entry, canonical_bytes, open_ledger
from tracker.metrics import build_metrics_registry
from tracker.registry import Registry

ADMIN_TOKEN = "e2e-admin-token"
READY_MESSAGE = "tracker: ready"
READY_TIMEOUT_S = 20.0


def make_data_dir(directory: Path) -> Path:
    """A runnable data directory made by `trio-tracker init` (identity key, TLS cert, tracker.yaml with
    loopback listeners on free ports). Returns the config path."""
    directory.mkdir(parents=True, exist_ok=True)
    result = run_cli("init", "--data-dir", str(directory))
    assert result.returncode == 0, f"init failed ({result.returncode}): {result.stderr}"
    config_path = directory / "tracker.yaml"
    assert config_path.is_file(), f"init did not write {config_path}: {os.listdir(directory)}"
    return config_path


def set_listen_addr(config_path: Path, section: str, address: str) -> None:
    """Rewrite `<section>.listen_addr` in a config written by init (e.g. to `127.0.0.1:0`)."""
    text = config_path.read_text()
    pattern = re.compile(rf"(^{section}:\n(?:[ \t]+.*\n)*?[ \t]+listen_addr:)[^\n]*", re.MULTILINE)
    new_text, count = pattern.subn(rf'\g<1> "{address}"', text, count=1)
    assert count == 1, f"no {section}.listen_addr in {config_path}"
    config_path.write_text(new_text)


def use_ephemeral_ports(config_path: Path) -> None:
    """Admin and metrics on 127.0.0.1:0 (the ready line reports the ports the OS chose)."""
    set_listen_addr(config_path, "admin", "127.0.0.1:0")
    set_listen_addr(config_path, "metrics", "127.0.0.1:0")


def tracker_env(admin_token: str | None = ADMIN_TOKEN) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("TOKEN_BAY_ADMIN_TOKEN", None)
    if admin_token is not None:
        env["TOKEN_BAY_ADMIN_TOKEN"] = admin_token
    return env


@dataclass
class TrackerProcess:
    """A `trio-tracker run` subprocess; stderr lines are collected by a reader thread."""

    process: subprocess.Popen[str]
    started_at: float
    lines: list[str] = field(default_factory=list)
    ready: dict[str, object] | None = None
    _ready_event: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None

    @property
    def admin_url(self) -> str:
        assert self.ready is not None
        return f"http://{self.ready['admin_addr']}"

    @property
    def metrics_url(self) -> str:
        assert self.ready is not None
        return f"http://{self.ready['metrics_addr']}"

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line.rstrip("\n"))
            record = parse_log_line(line)
            if record is not None and record.get("message") == READY_MESSAGE:
                self.ready = record
                self._ready_event.set()
        self._ready_event.set()  # stderr closed: the process ended

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> dict[str, object]:
        self._ready_event.wait(timeout)
        if self.ready is None:
            self.kill()
            raise AssertionError(
                f"tracker never became ready; exit={self.process.poll()} stderr:\n" + self.stderr
            )
        return self.ready

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def log_records(self) -> list[dict[str, object]]:
        return [record for record in map(parse_log_line, self.lines) if record is not None]

    def send_signal(self, signal_number: int) -> None:
        self.process.send_signal(signal_number)

    def wait(self, timeout: float = 15.0) -> int:
        code = self.process.wait(timeout)
        if self._reader is not None:
            self._reader.join(5)
        return code

    def stop(self, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self._reader is not None:
            self._reader.join(5)


def parse_log_line(line: str) -> dict[str, object] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def start_tracker(
    config_path: Path,
    *,
    admin_token: str | None = ADMIN_TOKEN,
    extra_args: tuple[str, ...] = (),
    command: Sequence[str] | None = None,
) -> TrackerProcess:
    """`trio-tracker run --config <config_path> <extra_args>`, or `command` instead of it."""
    process = subprocess.Popen(
        list(command)
        if command is not None
        else [*TRIO_TRACKER, "run", "--config", str(config_path), *extra_args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=tracker_env(admin_token),
    )
    tracker = TrackerProcess(process=process, started_at=time.monotonic())
    tracker._reader = threading.Thread(target=tracker._read_stderr, daemon=True)
    tracker._reader.start()
    return tracker


def auth_headers(token: str = ADMIN_TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---------------------------------------------------------------------------------------------- seeding
@dataclass(frozen=True)
class Party:
    """A consumer or seeder: an Ed25519 key and its identity id = SHA-256(public key)."""

    private_key: Ed25519PrivateKey
    public_key: bytes
    identity_id: bytes


def party(label: str) -> Party:
    private_key = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(f"e2e-run-{label}".encode()).digest())
    public_key = private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return Party(private_key, public_key, hashlib.sha256(public_key).digest())


CONSUMERS = [party(f"consumer-{index}") for index in range(3)]
SEEDER = party("seeder")


async def append_usage(
    ledger: AsyncLedger, consumer: Party, seeder: Party, cost: int, request_byte: int
) -> None:
    """A usage entry paid by `consumer` to `seeder`, signed by the seeder (consumer signature missing)."""
    tip = await ledger.tip()
    fields = {
        "prev_hash": tip.hash if tip else bytes(32),
        "seq": tip.seq + 1 if tip else 1,
        "consumer_id": consumer.identity_id,
        "seeder_id": seeder.identity_id,
        "model": "claude-sonnet-4-6",
        "input_tokens": 1000,
        "output_tokens": 200,
        "cost_credits": cost,
        "timestamp": int(time.time()),
        "request_id": bytes([request_byte]) * 16,
        "consumer_sig_missing": True,
    }
    canonical = canonical_bytes(build_usage_entry(**fields))
    await ledger.append_usage(
        UsageRecord(**fields, seeder_sig=seeder.private_key.sign(canonical), seeder_pub=seeder.public_key)
    )


async def seed_activity(ledger: AsyncLedger, round_index: int) -> None:
    """Starter grants (first round only) and a few usages per consumer; deterministic amounts."""
    if round_index == 0:
        for index, consumer in enumerate(CONSUMERS):
            await ledger.issue_starter_grant(consumer.identity_id, 1000 + 100 * index)
        await ledger.issue_starter_grant(SEEDER.identity_id, 1000)
    for index, consumer in enumerate(CONSUMERS):
        for usage in range(index + 1):
            await append_usage(
                ledger, consumer, SEEDER, 7 * (usage + 1) + round_index, 16 * round_index + 4 * index + usage
            )


def seed_ledger_only(config_path: Path, round_index: int) -> None:
    """Append entries to the ledger with no admission attached (as if they were committed while admission's
    tlog never saw them): the next `run` must pick them up in its start-up cross-check."""
    config = load_config(config_path)
    identity = load_identity(config.server.identity_key_path)

    async def main() -> None:
        async with open_ledger(config.ledger.storage_path, identity) as ledger:
            await seed_activity(ledger, round_index)

    trio.run(main)


@dataclass(frozen=True)
class ExpectedConsumer:
    balance: int
    admission: dict[str, object]  # the /admission/consumer/<id> JSON


def seed_through_admission(config_path: Path) -> dict[bytes, ExpectedConsumer]:
    """Open the subsystems exactly as `run` does (ledger → admission subscribed), append entries, and return
    what this in-process run computed for every consumer; the clean close writes the final snapshot."""
    config = load_config(config_path)
    identity = load_identity(config.server.identity_key_path)
    context = ServiceContext(
        config=config,
        identity=identity,
        metrics_registry=build_metrics_registry(),
        controller=ShutdownController(logging.getLogger("tracker.e2e-seed")),
        admin_token=None,
        clock=time.time,
        logger=logging.getLogger("tracker.e2e-seed"),
    )

    async def main() -> dict[bytes, ExpectedConsumer]:
        async with open_tracker_services(context) as subsystems:
            await seed_activity(subsystems.ledger, 0)
            expected = {}
            for consumer in CONSUMERS:
                view = subsystems.admission.consumer_view(consumer.identity_id)
                balance = await subsystems.ledger.balance(consumer.identity_id)
                assert view is not None and balance is not None
                expected[consumer.identity_id] = ExpectedConsumer(balance.credits, consumer_view_json(view))
            return expected

    return trio.run(main)


def recompute_from_ledger(config_path: Path) -> dict[bytes, ExpectedConsumer]:
    """Every consumer's credit state rebuilt by applying each committed ledger entry exactly once to a fresh
    admission core (the definition of a correct recovery). Run only while the tracker is stopped."""
    config = load_config(config_path)
    identity = load_identity(config.server.identity_key_path)

    async def main() -> dict[bytes, ExpectedConsumer]:
        core = AdmissionCore(config.admission, Registry(), identity)
        async with open_ledger(config.ledger.storage_path, identity) as ledger:
            for committed in await ledger.entries_since(0, 0):
                event = event_from_committed_entry(committed)
                if event is not None:
                    core.apply_event(event)
            expected = {}
            for consumer in CONSUMERS:
                view = core.consumer_view(consumer.identity_id)
                balance = await ledger.balance(consumer.identity_id)
                assert view is not None and balance is not None
                expected[consumer.identity_id] = ExpectedConsumer(balance.credits, consumer_view_json(view))
            return expected

    return trio.run(main)


def served_consumer(tracker: TrackerProcess, consumer_id: bytes) -> ExpectedConsumer:
    identity = httpx.get(
        f"{tracker.admin_url}/identity/{consumer_id.hex()}", headers=auth_headers(), timeout=10
    )
    assert identity.status_code == 200, identity.text
    admission = httpx.get(
        f"{tracker.admin_url}/admission/consumer/{consumer_id.hex()}", headers=auth_headers(), timeout=10
    )
    assert admission.status_code == 200, admission.text
    return ExpectedConsumer(identity.json()["balance"]["credits"], admission.json())
