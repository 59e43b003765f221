"""Schemathesis against a running `trio-tracker run` (127.0.0.1, seeded through admission), driven by the
/openapi.json it serves: every operation except POST /maintenance (it stops the server), bounded and
derandomized, all schemathesis checks. Afterwards the tracker is still up, stops cleanly, logged no error,
wrote one access-log line per request it answered and never the token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given

from tests.admin.schemathesis_cases import OPERATION_IDS, admin_cases, bounded
from tests_e2e.test_run_support import (
    ADMIN_TOKEN,
    CONSUMERS,
    TrackerProcess,
    auth_headers,
    make_data_dir,
    seed_through_admission,
    start_tracker,
    use_ephemeral_ports,
)

EXAMPLES_PER_OPERATION = 8
EXCLUDED = {"startShutdown"}
REQUESTS_ANSWERED: list[int] = []


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    config_path = make_data_dir(tmp_path_factory.mktemp("schemathesis") / "data")
    use_ephemeral_ports(config_path)
    seed_through_admission(config_path)  # known consumers, so the 200 paths are exercised too
    process = start_tracker(config_path)
    try:
        process.wait_ready()
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
def tracker_schema(tracker: TrackerProcess) -> Any:
    return schemathesis.openapi.from_url(f"{tracker.admin_url}/openapi.json")


KNOWN_IDS = {
    "identity_id": [consumer.identity_id.hex() for consumer in CONSUMERS],
    "consumer_id": [consumer.identity_id.hex() for consumer in CONSUMERS],
}


@pytest.mark.parametrize("operation_id", [name for name in OPERATION_IDS if name not in EXCLUDED])
def test_operation_follows_the_document(operation_id: str, tracker_schema: Any) -> None:
    operation = tracker_schema.find_operation_by_id(operation_id)

    @bounded(EXAMPLES_PER_OPERATION)
    @given(case=admin_cases(operation, KNOWN_IDS))
    def check(case: Any) -> None:
        case.call_and_validate(headers=auth_headers())
        REQUESTS_ANSWERED.append(1)

    check()


def test_tracker_survived_and_logged_every_request_without_the_token(tracker: TrackerProcess) -> None:
    assert len(REQUESTS_ANSWERED) > 2 * len(OPERATION_IDS)
    assert tracker.process.poll() is None
    assert httpx.get(f"{tracker.admin_url}/health", timeout=10).status_code == 200
    assert tracker.stop() == 0
    records = tracker.log_records()
    assert not [record for record in records if record.get("level") == "error"], tracker.stderr
    access = [record for record in records if record.get("message") == "admin: request"]
    # Schemathesis sends extra requests of its own (without auth, for instance): at least one line each.
    assert len(access) >= len(REQUESTS_ANSWERED) + 1
    assert all(isinstance(record.get("status"), int) for record in access)
    assert {record["level"] for record in access if record["status"] == 401} == {"warn"}
    assert ADMIN_TOKEN not in tracker.stderr
