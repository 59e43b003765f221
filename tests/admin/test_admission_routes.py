"""The 11 /admission/* routes on the real ledger, registry and persistent admission (admission.md §10)."""

from __future__ import annotations

import errno
import json
import logging
import os
import time
from pathlib import Path

import pytest
import trio

from tests.admin.conftest import AUTH, FIXED_NOW, LogCapture, hex_id, identity
from tests.admin.stack import AdminStack, admin_stack, party
from tracker.admission import Outcome
from tracker.admission.core._state import ConsumerCreditState
from tracker.admission.persistence import _tlog_writer
from tracker.admission.persistence._tlog_format import OperatorOverridePayload, TLogKind
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file
from tracker.ledger import AsyncLedger, CommittedEntry
from tracker.registry import SeederRecord

ALICE = party("alice")
BOB = party("bob")
SEEDER = party("seeder")


def queue_consumers(stack: AdminStack, *byte_values: int) -> list[bytes]:
    """Decide at pressure 1.0 (between the thresholds) so each consumer is queued; returns request ids."""
    stack.set_pressure(1.0)
    request_ids = []
    for value in byte_values:
        result = stack.core.decide(identity(value), None, FIXED_NOW)
        assert result.outcome == Outcome.QUEUE
        assert result.queued is not None
        request_ids.append(result.queued.request_id)
    return request_ids


ROUTES = [
    ("GET", "/admission/status"),
    ("GET", "/admission/queue"),
    ("GET", f"/admission/consumer/{hex_id(1)}"),
    ("GET", f"/admission/seeder/{hex_id(1)}"),
    ("POST", "/admission/queue/drain"),
    ("POST", "/admission/queue/eject/00"),
    ("POST", "/admission/snapshot"),
    ("POST", f"/admission/recompute/{hex_id(1)}"),
    ("GET", "/admission/peers/blocklist"),
    ("POST", f"/admission/peers/blocklist/{hex_id(1)}"),
    ("DELETE", f"/admission/peers/blocklist/{hex_id(1)}"),
]


async def test_every_admission_route_is_guarded_and_mutates_nothing_without_token(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        queue_consumers(stack, 1)
        client = stack.app.test_client()
        for method, path in ROUTES:
            response = await client.open(path, method=method, json={"n": 5})
            assert response.status_code == 401, (method, path)
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="tracker-admin"'
        assert len(stack.core.queue) == 1
        assert stack.core.blocklist() == []
        assert await stack.override_records() == []
        assert not list(tmp_path.glob("admission.snapshot.*"))


async def test_status(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        stack.set_pressure(0.5, headroom=10.0)
        response = await stack.app.test_client().get("/admission/status", headers=AUTH)
        assert response.status_code == 200
        assert await response.get_json() == {
            "pressure": 0.5,
            "queue_depth": 0,
            "supply_total_headroom": 10.0,
            "thresholds": {"admit": 0.85, "reject": 1.5},
        }


async def test_queue_lists_entries_with_effective_priority_at_the_clock(tmp_path: Path) -> None:
    async with admin_stack(tmp_path, clock=lambda: FIXED_NOW + 600) as stack:
        queue_consumers(stack, 1, 2, 3)
        body = await (await stack.app.test_client().get("/admission/queue", headers=AUTH)).get_json()
        assert sorted(item["consumer_id"] for item in body) == [hex_id(1), hex_id(2), hex_id(3)]
        for item in body:
            assert item["enqueued_at"] == int(FIXED_NOW)
            assert item["score"] == pytest.approx(0.4)  # trial tier
            assert item["effective_priority"] == pytest.approx(0.4 + 0.05 * 10)  # 10 minutes of aging


async def test_empty_queue_is_an_empty_array(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        response = await stack.app.test_client().get("/admission/queue", headers=AUTH)
        assert await response.get_data() == b"[]\n"


async def test_consumer_score_from_ledger_history(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
        response = await stack.app.test_client().get(
            f"/admission/consumer/{ALICE.identity_id.hex()}", headers=AUTH
        )
        assert response.status_code == 200
        body = await response.get_json()
        assert body["signals"] == {
            "SettlementReliability": -1.0,
            "DisputeRate": -1.0,
            "TenureDays": 0,
            "NetFlow": 0,
            "BalanceCushionLog2": 0,
        }
        # Undefined reliability: (1 + 0.4/0.6) × (0.2·0 + 0.3·0.5 + 0.1·0.5) = 1/3
        assert body["score"] == pytest.approx(1 / 3)


@pytest.mark.parametrize("route", ["consumer", "seeder"])
async def test_consumer_and_seeder_ids(tmp_path: Path, route: str) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        for bad in ["zz", "ab" * 31, "ab" * 33, "g" * 64]:
            response = await client.get(f"/admission/{route}/{bad}", headers=AUTH)
            assert response.status_code == 400
            assert await response.get_json() == {"error": "bad id"}
        response = await client.get(f"/admission/{route}/{hex_id(0x42)}", headers=AUTH)
        assert response.status_code == 404
        assert await response.get_json() == {"error": "not found"}


async def test_seeder_heartbeat_state(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        seeder_id = identity(0x5E)
        stack.registry.register(SeederRecord(identity_id=seeder_id, last_heartbeat=FIXED_NOW))
        stack.registry.heartbeat(seeder_id, FIXED_NOW)
        response = await stack.app.test_client().get(
            f"/admission/seeder/{hex_id(0x5E).upper()}", headers=AUTH
        )
        assert response.status_code == 200
        body = await response.get_json()
        assert len(body["Buckets"]) == 10
        assert sum(bucket["Actual"] for bucket in body["Buckets"]) >= 1
        assert body["LastBucketRollAt"] == "2026-05-09T12:00:00Z"
        assert set(body) == {
            "Buckets",
            "LastBucketRollAt",
            "LastHeadroomEstimate",
            "LastHeadroomSource",
            "LastHeadroomTs",
            "CanProbeUsage",
        }


async def test_drain_pops_from_the_head_and_records_the_operator(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        queue_consumers(stack, 1, 2, 3)
        response = await stack.app.test_client().post(
            "/admission/queue/drain", headers={**AUTH, "X-Operator-Id": "operator-7"}, json={"n": 2}
        )
        assert response.status_code == 200
        drained = (await response.get_json())["drained"]
        assert drained == [hex_id(1), hex_id(2)]  # equal scores: first in, first out
        assert [entry.consumer_id for entry in stack.core.queue.entries()] == [identity(3)]
        [(seq, record)] = await stack.override_records()
        assert (record.operator_id, record.action, record.params, record.ts) == (
            "operator-7",
            "queue/drain",
            b'{"n":2}',
            int(FIXED_NOW),
        )
        assert seq > 0


@pytest.mark.parametrize(
    ("body", "expected_count"),
    [(b"{}", 0), (b'{"n": null}', 0), (b'{"n": 10, "other": true}', 10), (b' {"n":1} trailing', 1)],
)
async def test_drain_accepted_bodies(tmp_path: Path, body: bytes, expected_count: int) -> None:
    async with admin_stack(tmp_path) as stack:
        queue_consumers(stack, *range(1, 4))
        response = await stack.app.test_client().post("/admission/queue/drain", headers=AUTH, data=body)
        assert response.status_code == 200
        assert len((await response.get_json())["drained"]) == min(expected_count, 3)
        [(_, record)] = await stack.override_records()
        assert json.loads(record.params) == {"n": expected_count}


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"not json",
        b"null",
        b"[]",
        b'"n"',
        b'{"n": -1}',
        b'{"n": 1.5}',
        b'{"n": "2"}',
        b'{"n": true}',
        b'{"n": 9223372036854775808}',
        b"\xff\xfe",
        b"[" * 5000,
        b'{"n":' + b"9" * 5000 + b"}",
    ],
)
async def test_drain_bad_body_is_400_and_changes_nothing(tmp_path: Path, body: bytes) -> None:
    async with admin_stack(tmp_path) as stack:
        queue_consumers(stack, 1)
        response = await stack.app.test_client().post("/admission/queue/drain", headers=AUTH, data=body)
        assert response.status_code == 400
        assert await response.get_json() == {"error": "bad body"}
        assert len(stack.core.queue) == 1
        assert await stack.override_records() == []


async def test_drain_oversized_body_is_413(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        response = await stack.app.test_client().post(
            "/admission/queue/drain", headers=AUTH, data=b'{"n":1,"pad":"' + b"x" * 70000 + b'"}'
        )
        assert response.status_code == 413
        assert response.content_type == "application/json"


async def test_eject_by_request_id(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        request_ids = queue_consumers(stack, 1, 2)
        client = stack.app.test_client()
        response = await client.post(f"/admission/queue/eject/{request_ids[0].hex().upper()}", headers=AUTH)
        assert await response.get_json() == {"ejected": 1}
        response = await client.post("/admission/queue/eject/not-a-request-id", headers=AUTH)
        assert await response.get_json() == {"ejected": 0}
        assert [entry.consumer_id for entry in stack.core.queue.entries()] == [identity(2)]
        records = [record for _, record in await stack.override_records()]
        assert [(r.operator_id, r.action, r.params) for r in records] == [
            ("anonymous", "queue/eject", b'{"request_id":"' + request_ids[0].hex().upper().encode() + b'"}'),
            ("anonymous", "queue/eject", b'{"request_id":"not-a-request-id"}'),
        ]


async def test_snapshot_writes_a_file_and_a_record(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
        response = await stack.app.test_client().post("/admission/snapshot", headers=AUTH)
        assert response.status_code == 200
        assert await response.get_json() == {"ok": True}
        assert len(list(tmp_path.glob("admission.snapshot.*"))) == 1
        assert [(r.action, r.params) for _, r in await stack.override_records()] == [("snapshot", b"{}")]


async def test_snapshot_failure_is_500_without_a_record(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        stack.admission.snapshot_prefix = str(tmp_path / "no-such-dir" / "admission.snapshot")
        response = await stack.app.test_client().post("/admission/snapshot", headers=AUTH)
        assert response.status_code == 500
        error = (await response.get_json())["error"]
        assert error.startswith("snapshot emit failed: admission/snapshot: write ")
        assert await stack.override_records() == []
        stack.admission.snapshot_prefix = str(tmp_path / "admission.snapshot")


async def test_recompute_rebuilds_a_consumer_from_the_ledger(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
        await stack.ledger.issue_starter_grant(BOB.identity_id, 1000)
        await stack.append_usage(ALICE, SEEDER, 100, request_byte=1)
        await stack.append_usage(BOB, ALICE, 40, request_byte=2)  # Alice also earns as a seeder
        expected = stack.consumer_state(ALICE.identity_id)
        assert expected is not None and expected.last_balance_seen == 940
        bob_before = stack.consumer_state(BOB.identity_id)

        stack.core.consumers[ALICE.identity_id] = ConsumerCreditState(last_balance_seen=-5)
        response = await stack.app.test_client().post(
            f"/admission/recompute/{ALICE.identity_id.hex()}", headers={**AUTH, "X-Operator-Id": "ops"}
        )
        assert response.status_code == 200
        assert await response.get_json() == {"queued": True}
        assert stack.consumer_state(ALICE.identity_id) == expected
        assert stack.consumer_state(BOB.identity_id) == bob_before  # nobody else is touched
        [(_, record)] = await stack.override_records()
        assert (record.operator_id, record.action) == ("ops", "recompute")
        assert json.loads(record.params) == {"consumer_id": ALICE.identity_id.hex()}


async def test_recompute_recreates_a_lost_consumer_and_404s_unknown_ones(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 700)
        expected = stack.consumer_state(ALICE.identity_id)
        del stack.core.consumers[ALICE.identity_id]
        client = stack.app.test_client()
        assert (
            await client.post(f"/admission/recompute/{ALICE.identity_id.hex()}", headers=AUTH)
        ).status_code == 200
        assert stack.consumer_state(ALICE.identity_id) == expected

        unknown = await client.post(f"/admission/recompute/{hex_id(0x77)}", headers=AUTH)
        assert unknown.status_code == 404
        assert await unknown.get_json() == {"error": "not found"}
        bad = await client.post("/admission/recompute/xyz", headers=AUTH)
        assert bad.status_code == 400
        assert await bad.get_json() == {"error": "bad consumer_id"}
        assert len(await stack.override_records()) == 1  # only the successful recompute


class LedgerCommittingDuringRead:
    """Wraps the real ledger: once the stack is up, the first entries_since() commits one more usage for Alice
    while it is 'reading' and returns the page as read before that commit, as a concurrent append would."""

    def __init__(self, ledger: AsyncLedger, stack_holder: list[AdminStack]) -> None:
        self._ledger = ledger
        self._holder = stack_holder
        self.calls = 0

    async def entries_since(self, since_seq: int, limit: int = 0) -> list[CommittedEntry]:
        if not self._holder:  # start-up replay, before the test runs
            return await self._ledger.entries_since(since_seq, limit)
        stack = self._holder[0]
        page = await stack.ledger.entries_since(since_seq, limit)
        self.calls += 1
        if self.calls == 1:
            await stack.append_usage(ALICE, SEEDER, 25, request_byte=9)
        return page


async def test_recompute_counts_entries_committed_during_the_rebuild_exactly_once(tmp_path: Path) -> None:
    holder: list[AdminStack] = []
    wrapper: list[LedgerCommittingDuringRead] = []

    def wrap(ledger: AsyncLedger) -> object:
        wrapper.append(LedgerCommittingDuringRead(ledger, holder))
        return wrapper[0]

    async with admin_stack(tmp_path, wrap_ledger=wrap) as stack:
        holder.append(stack)
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
        await stack.append_usage(ALICE, SEEDER, 100, request_byte=1)
        response = await stack.app.test_client().post(
            f"/admission/recompute/{ALICE.identity_id.hex()}", headers=AUTH
        )
        assert response.status_code == 200
        assert wrapper[0].calls >= 2  # the rebuild noticed the new entry and read again
        state = stack.consumer_state(ALICE.identity_id)
        assert state is not None
        assert state.last_balance_seen == 1000 - 100 - 25
        assert state.sums().total_settled == 2


async def test_blocklist_add_list_remove(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        for peer in (hex_id(0xBB), hex_id(0xAA).upper()):
            response = await client.post(f"/admission/peers/blocklist/{peer}", headers=AUTH)
            assert response.status_code == 200
            assert await response.get_json() == {"ok": True}
        listed = await client.get("/admission/peers/blocklist", headers=AUTH)
        assert await listed.get_json() == [hex_id(0xAA), hex_id(0xBB)]
        assert stack.core.is_blocklisted(identity(0xAA))
        for _ in range(2):  # removing an absent peer succeeds too
            response = await client.delete(f"/admission/peers/blocklist/{hex_id(0xAA)}", headers=AUTH)
            assert response.status_code == 200
        assert await (await client.get("/admission/peers/blocklist", headers=AUTH)).get_json() == [
            hex_id(0xBB)
        ]
        for method in ("POST", "DELETE"):
            bad = await client.open("/admission/peers/blocklist/1234", method=method, headers=AUTH)
            assert bad.status_code == 400
            assert await bad.get_json() == {"error": "bad peer_id"}
        actions = [(r.action, json.loads(r.params)) for _, r in await stack.override_records()]
        assert actions == [
            ("peers/blocklist/add", {"peer_id": hex_id(0xBB)}),
            ("peers/blocklist/add", {"peer_id": hex_id(0xAA).upper()}),
            ("peers/blocklist/remove", {"peer_id": hex_id(0xAA)}),
            ("peers/blocklist/remove", {"peer_id": hex_id(0xAA)}),
        ]


async def test_override_records_have_increasing_seqs(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 10)
        await client.post(f"/admission/peers/blocklist/{hex_id(1)}", headers=AUTH)
        await stack.ledger.issue_starter_grant(BOB.identity_id, 10)
        await client.post(f"/admission/peers/blocklist/{hex_id(2)}", headers=AUTH)
        seqs = [seq for seq, _ in await stack.override_records()]
        assert len(seqs) == 2 and seqs[0] < seqs[1]


async def test_tlog_write_failure_is_500(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        writer = stack.admission.writer
        assert writer is not None
        await writer.aclose()
        response = await stack.app.test_client().post(f"/admission/peers/blocklist/{hex_id(1)}", headers=AUTH)
        assert response.status_code == 500
        assert await response.get_json() == {"error": "tlog write failed"}


async def test_operator_id_is_utf8_text_and_defaults_to_anonymous(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        for header in ({"X-Operator-Id": "  opérateur-7 "}, {"X-Operator-Id": "   "}, {}):
            await client.post(f"/admission/peers/blocklist/{hex_id(1)}", headers={**AUTH, **header})
        operators = [record.operator_id for _, record in await stack.override_records()]
        assert operators == ["opérateur-7", "anonymous", "anonymous"]


async def test_operator_header_too_long_is_400_before_any_mutation(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        response = await stack.app.test_client().post(
            f"/admission/peers/blocklist/{hex_id(1)}", headers={**AUTH, "X-Operator-Id": "x" * 257}
        )
        assert response.status_code == 400
        assert "X-Operator-Id" in (await response.get_json())["error"]
        assert stack.core.blocklist() == []


async def test_identity_on_the_real_ledger(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
        await stack.append_usage(ALICE, SEEDER, 100)
        client = stack.app.test_client()
        body = await (await client.get(f"/identity/{ALICE.identity_id.hex()}", headers=AUTH)).get_json()
        assert body == {
            "identity_id": ALICE.identity_id.hex(),
            "balance": {
                "chain_tip_seq": 2,
                "credits": 900,
                "issued_at": int(FIXED_NOW),
                "expires_at": int(FIXED_NOW) + 600,
            },
        }
        # Every well-formed id has a (zero) balance on the real ledger, as in Go.
        stranger = await (await client.get(f"/identity/{hex_id(0x99)}", headers=AUTH)).get_json()
        assert stranger["balance"]["credits"] == 0
        stats = await (await client.get("/stats", headers=AUTH)).get_json()
        tip = await stack.ledger.tip()
        assert stats["ledger"] == {"tip_seq": 2, "tip_hash": tip.hash.hex()}
        assert stats["merkle_root_minutes"] == 60


def _override_records_on_disk(stack: AdminStack) -> list[OperatorOverridePayload]:
    """The OPERATOR_OVERRIDE records in the tlog files as they are on disk now (no flush first)."""
    found: list[OperatorOverridePayload] = []

    def collect(seq: int, ts: int, kind: int, payload: bytes) -> None:
        if kind == TLogKind.OPERATOR_OVERRIDE:
            found.append(OperatorOverridePayload.decode(bytes(payload)))

    for path in enumerate_tlog_files(stack.config.admission.tlog_path):
        scan_tlog_file(Path(path), collect)
    return found


async def test_every_2xx_mutation_is_on_disk_and_fsynced_when_answered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fsynced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        real_fsync(fd)
        fsynced.append(fd)

    monkeypatch.setattr(_tlog_writer.os, "fsync", counting_fsync)
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        requests = [
            ("POST", f"/admission/peers/blocklist/{hex_id(1)}", None),
            ("DELETE", f"/admission/peers/blocklist/{hex_id(1)}", None),
            ("POST", "/admission/queue/drain", b'{"n":1}'),
            ("POST", "/admission/queue/eject/abcd", None),
            ("POST", "/admission/snapshot", None),
        ]
        for index, (method, path, body) in enumerate(requests, start=1):
            before = len(fsynced)
            response = await client.open(path, method=method, headers=AUTH, data=body)
            assert response.status_code == 200, path
            assert len(_override_records_on_disk(stack)) == index, path  # written before the answer ...
            assert len(fsynced) > before, path  # ... and fsynced


async def test_concurrent_mutations_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fsyncs = 0
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        nonlocal fsyncs
        fsyncs += 1
        time.sleep(0.02)  # a slow disk: callers arriving meanwhile wait for the next batch together
        real_fsync(fd)

    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        monkeypatch.setattr(_tlog_writer.os, "fsync", slow_fsync)
        statuses: list[int] = []

        async def add(byte: int) -> None:
            response = await client.post(f"/admission/peers/blocklist/{hex_id(byte)}", headers=AUTH)
            statuses.append(response.status_code)

        async with trio.open_nursery() as nursery:
            for byte in range(1, 33):
                nursery.start_soon(add, byte)
        assert statuses == [200] * 32
        assert len(_override_records_on_disk(stack)) == 32
        assert fsyncs <= 8  # 32 acknowledgements, a few shared fsyncs (one each would be 32)


async def test_failed_fsync_is_500_counted_and_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_capture: LogCapture
) -> None:
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        failures = stack.admission.persistence_metrics.tlog_append_failures
        before = failures._value.get()
        with monkeypatch.context() as patch:
            patch.setattr(_tlog_writer.os, "fsync", failing_fsync)
            response = await client.post(f"/admission/peers/blocklist/{hex_id(7)}", headers=AUTH)
            assert response.status_code == 500
            assert await response.get_json() == {"error": "tlog write failed"}
            assert failures._value.get() == before + 1
            assert _override_records_on_disk(stack) == []  # rolled back on disk, still buffered
        assert any(record.levelno == logging.ERROR for record in log_capture.records)
        # The disk works again: the buffered record is written by the next durable wait or flush.
        response = await client.post(f"/admission/peers/blocklist/{hex_id(8)}", headers=AUTH)
        assert response.status_code == 200
        assert [json.loads(r.params)["peer_id"] for r in _override_records_on_disk(stack)] == [
            hex_id(7),
            hex_id(8),
        ]
