"""Schemathesis against the live admin app: the real subsystems (ledger on SQLite, registry, admission with
its tlog, broker with inflight requests and reservations) with state in each, served by Hypercorn on
127.0.0.1 from a Trio thread, driven over HTTP from the document the app serves at /openapi.json.

Schemathesis generates valid and invalid path ids, operator headers and bodies for every operation and runs
all its checks on each answer: no 5xx, a documented status, the documented content type, headers and schema,
invalid input rejected, valid input accepted, auth enforced. Bounded (a few examples per operation) and
deterministic (Hypothesis derandomized). Path ids are often swapped for ids that exist, so the success paths
run too; a last test checks that every operation answered 2xx at least once, that each request left exactly
one access-log line, and that no log line carries the token.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from hypothesis import given

from tests.admin.conftest import AUTH, FIXED_NOW, TOKEN, LogCapture, identity
from tests.admin.schemathesis_cases import OPERATION_IDS, admin_cases, bounded
from tests.admin.stack import AdminStack, admin_stack, party
from tracker.logging import LOG_FORMATS, StructuredFormatter
from tracker.registry import SeederRecord

ALICE = party("alice")
SEEDER = party("seeder")
EXAMPLES_PER_OPERATION = 25


@dataclass
class LiveAdmin:
    base_url: str
    known_ids: dict[str, list[str]]
    token: trio.lowlevel.TrioToken
    stop: trio.Event
    stack: AdminStack
    log: LogCapture
    requests_sent: int = 0


async def _seed(stack: AdminStack) -> dict[str, list[str]]:
    """State in every subsystem; returns, per path parameter, ids that exist."""
    await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
    await stack.append_usage(ALICE, SEEDER, 10)
    stack.set_pressure(1.0)
    request_ids = []
    for value in range(1, 40):  # drains and ejects take some; keep the queue from running dry
        result = stack.core.decide(identity(value), None, FIXED_NOW)
        assert result.queued is not None
        request_ids.append(result.queued.request_id.hex())
    stack.set_pressure(0.5)
    stack.core.blocklist_add(identity(0xBB))
    stack.registry.register(SeederRecord(identity_id=SEEDER.identity_id, last_heartbeat=FIXED_NOW))
    stack.registry.heartbeat(SEEDER.identity_id, FIXED_NOW)
    # Inflight requests with reservations; releases and fails take some, as drains and ejects do the queue.
    broker_request_ids = [stack.add_broker_request(value).hex() for value in range(1, 40)]
    return {
        "broker_request_id": broker_request_ids,
        "identity_id": [ALICE.identity_id.hex(), SEEDER.identity_id.hex()],
        "consumer_id": [ALICE.identity_id.hex()],
        "seeder_id": [SEEDER.identity_id.hex()],
        "request_id": request_ids,
        "peer_id": [identity(0xBB).hex()],
    }


def _serve_in_thread(
    data_dir: Path, log: LogCapture, handoff: queue.Queue[LiveAdmin | BaseException]
) -> None:
    async def main() -> None:
        async with admin_stack(data_dir) as stack:
            known = await _seed(stack)
            stop = trio.Event()
            config = HypercornConfig()
            config.bind = ["127.0.0.1:0"]
            config.graceful_timeout = 2
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(
                    partial(serve, stack.app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]
                )
                live = LiveAdmin(binds[0], known, trio.lowlevel.current_trio_token(), stop, stack, log)
                handoff.put(live)

    try:
        trio.run(main)
    except BaseException as error:  # reported to the test thread (a failure before the hand-off)
        handoff.put(error)


@pytest.fixture(scope="module")
def live_admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAdmin]:
    logger = logging.getLogger("tests.admin")
    log = LogCapture()
    logger.addHandler(log)
    logger.setLevel(logging.DEBUG)
    handoff: queue.Queue[LiveAdmin | BaseException] = queue.Queue()
    thread = threading.Thread(
        target=_serve_in_thread, args=(tmp_path_factory.mktemp("live-admin"), log, handoff), daemon=True
    )
    thread.start()
    live = handoff.get(timeout=30)
    if isinstance(live, BaseException):
        raise live
    try:
        yield live
    finally:
        trio.from_thread.run_sync(live.stop.set, trio_token=live.token)
        thread.join(timeout=30)
        logger.removeHandler(log)
    assert not thread.is_alive()


@pytest.fixture(scope="module")
def admin_schema(live_admin: LiveAdmin) -> Any:
    return schemathesis.openapi.from_url(f"{live_admin.base_url}/openapi.json")


STATUSES: dict[str, Counter[int]] = {}


@pytest.mark.parametrize("operation_id", OPERATION_IDS)
def test_operation_follows_the_document(operation_id: str, admin_schema: Any, live_admin: LiveAdmin) -> None:
    operation = admin_schema.find_operation_by_id(operation_id)
    statuses = STATUSES.setdefault(operation_id, Counter())

    @bounded(EXAMPLES_PER_OPERATION)
    @given(case=admin_cases(operation, live_admin.known_ids))
    def check(case: Any) -> None:
        response = case.call_and_validate(headers=AUTH)
        live_admin.requests_sent += 1
        statuses[response.status_code] += 1

    check()


def test_every_operation_succeeded_and_every_request_was_logged_once(live_admin: LiveAdmin) -> None:
    assert set(STATUSES) == set(OPERATION_IDS)
    without_success = {
        operation_id: dict(counts)
        for operation_id, counts in STATUSES.items()
        if not any(200 <= status < 300 for status in counts)
    }
    assert without_success == {}
    access = [record for record in live_admin.log.records if record.getMessage() == "admin: request"]
    assert len(access) >= live_admin.requests_sent > len(OPERATION_IDS)
    for log_format in LOG_FORMATS:
        formatter = StructuredFormatter(log_format)
        assert not [record for record in live_admin.log.records if TOKEN in formatter.format(record)]
    assert not [record for record in live_admin.log.records if record.levelno >= logging.ERROR]
