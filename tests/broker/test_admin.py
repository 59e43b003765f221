"""The /broker/* admin routes against a live broker: shapes of the inflight and reservation views, the two
overrides (bearer auth; X-Operator-Id recorded as an admission OPERATOR_OVERRIDE record), 400/404."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.broker.stack import broker_stack, consumer_peer, seeder_peer, signed_request
from tracker.admin import create_admin_app
from tracker.admission.persistence._tlog_format import OperatorOverridePayload, TLogKind
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file
from tracker.config import config_for_data_dir

pytestmark = pytest.mark.trio
TOKEN = "broker-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


async def test_broker_admin_routes(tmp_path: Path) -> None:
    async with broker_stack(tmp_path) as stack:
        app = create_admin_app(
            ledger=stack.ledger,
            registry=stack.registry,
            admission=stack.admission,
            request_shutdown=lambda: None,
            admin_token=TOKEN,
            clock=lambda: 2_000_000_000.0,
            logger=logging.getLogger("tests.broker.admin"),
            broker=stack.broker,
        )
        client = app.test_client()
        async with seeder_peer(stack) as (seeder, _), consumer_peer(stack) as (consumer, _):
            token = (
                await consumer.broker_request(await signed_request(consumer))
            ).seeder_assignment.reservation_token
            assert (await client.get("/broker/inflight")).status_code == 401

            listed = await (await client.get("/broker/inflight", headers=AUTH)).get_json()
            assert listed == [
                {
                    "age_seconds": listed[0]["age_seconds"],
                    "consumer_id": consumer.canonical_id.hex(),
                    "request_id": token.hex(),
                    "state": "assigned",
                }
            ]
            one = await (await client.get(f"/broker/inflight/{token.hex().upper()}", headers=AUTH)).get_json()
            assert one == {
                "consumer_id": consumer.canonical_id.hex(),
                "request_id": token.hex(),
                "seeder_id": seeder.canonical_id.hex(),
                "state": "assigned",
                "reservation_amount": 3300,
            }
            books = await (await client.get("/broker/reservations", headers=AUTH)).get_json()
            assert books[0]["consumer_id"] == consumer.canonical_id.hex() and books[0]["total"] == 3300
            assert books[0]["slots"][0]["request_id"] == token.hex()

            assert (await client.get("/broker/inflight/zz", headers=AUTH)).status_code == 400
            assert (await client.get(f"/broker/inflight/{'00' * 16}", headers=AUTH)).status_code == 404
            headers = {**AUTH, "X-Operator-Id": "alice"}
            released = await client.post(f"/broker/reservations/release/{token.hex()}", headers=headers)
            assert await released.get_json() == {"released": True, "request_id": token.hex()}
            assert (
                await client.post(f"/broker/reservations/release/{token.hex()}", headers=headers)
            ).status_code == 404
            failed = await client.post(f"/broker/inflight/fail/{token.hex()}", headers=headers)
            assert await failed.get_json() == {"failed": True, "request_id": token.hex()}
            assert stack.broker.inflight.get(token).state.label == "failed"  # type: ignore[union-attr]

        await stack.admission.flush()
        records: list[OperatorOverridePayload] = []

        def collect(seq: int, ts: int, kind: int, payload: bytes) -> None:
            if kind == TLogKind.OPERATOR_OVERRIDE:
                records.append(OperatorOverridePayload.decode(bytes(payload)))

        for path in enumerate_tlog_files(config_for_data_dir(tmp_path).admission.tlog_path):
            scan_tlog_file(Path(path), collect)
        assert [(r.operator_id, r.action) for r in records] == [
            ("alice", "broker/reservations/release"),
            ("alice", "broker/inflight/fail"),
        ]
