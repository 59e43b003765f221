"""Property-based client driven by GET /openapi.json (a schemathesis-style check run in-process): random
operations with valid and invalid path ids, headers and bodies, against the real subsystems. Every response
must be documented for its operation, conform to the documented schema, be JSON, and never be a 5xx."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.admin.conftest import AUTH, FIXED_NOW, identity
from tests.admin.schema_check import resolve, schema_errors
from tests.admin.stack import AdminStack, admin_stack, party
from tracker.admin._openapi import build_openapi_document
from tracker.registry import SeederRecord

DOCUMENT = build_openapi_document("test")
# The dashboard routes (a static page and its JSON) have their own tests (test_dashboard_routes.py); leaving
# them out keeps this fuzzer's derandomized draws, and so its 2xx coverage, as they were.
OPERATIONS = [
    (path, method, operation)
    for path, item in sorted(DOCUMENT["paths"].items())
    if not path.startswith("/dashboard")
    for method, operation in sorted(item.items())
]
ALICE = party("alice")
SEEDER = party("seeder")
_PATH_CHARS = st.characters(codec="ascii", categories=("L", "N", "P", "S"), exclude_characters="/?#%\\")
_HEADER_CHARS = st.characters(codec="latin-1", categories=("L", "N", "P", "S", "Zs"))
UNSEEDED_IDS = {
    name: ["00" * 32] for name in ("identity_id", "consumer_id", "seeder_id", "request_id", "peer_id")
} | {"broker_request_id": ["00" * 16]}

AUTH_CHOICES = [
    AUTH,
    AUTH,
    AUTH,
    AUTH,
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": "bearer test-token"},
]


def path_value(parameter: dict[str, Any], known_by_name: dict[str, list[str]]) -> st.SearchStrategy[str]:
    schema = parameter["schema"]
    known = known_by_name[parameter["name"]]
    random_text = st.text(_PATH_CHARS, min_size=1, max_size=70)
    if "pattern" in schema:
        return st.one_of(
            st.sampled_from(known),
            st.sampled_from(known),
            st.from_regex(schema["pattern"], fullmatch=True),
            random_text,
        )
    return st.one_of(st.sampled_from(known), st.sampled_from(known), random_text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)
drain_bodies = st.one_of(
    st.fixed_dictionaries({"n": st.integers(min_value=-5, max_value=2**64)}).map(
        lambda v: json.dumps(v).encode()
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
)


async def seeded_stack_data(stack: AdminStack) -> dict[str, list[str]]:
    """Put some state in every subsystem; returns, per path parameter, ids the generator should often use."""
    await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
    await stack.append_usage(ALICE, SEEDER, 10)
    stack.set_pressure(1.0)
    request_ids = []
    for value in (1, 2, 3):
        result = stack.core.decide(identity(value), None, FIXED_NOW)
        assert result.queued is not None
        request_ids.append(result.queued.request_id.hex())
    stack.set_pressure(0.5)
    stack.core.blocklist_add(identity(0xBB))
    stack.registry.register(SeederRecord(identity_id=SEEDER.identity_id, last_heartbeat=FIXED_NOW))
    stack.registry.heartbeat(SEEDER.identity_id, FIXED_NOW)
    broker_request_ids = [stack.add_broker_request(value).hex() for value in (1, 2, 3, 4)]
    return {
        "broker_request_id": broker_request_ids,
        "identity_id": [ALICE.identity_id.hex(), SEEDER.identity_id.hex()],
        "consumer_id": [ALICE.identity_id.hex()],
        "seeder_id": [SEEDER.identity_id.hex()],
        "request_id": request_ids,
        "peer_id": [identity(0xBB).hex()],
    }


def documented_response(operation: dict[str, Any], status: int) -> dict[str, Any] | None:
    response = operation["responses"].get(str(status))
    return None if response is None else resolve(DOCUMENT, response)


async def _one_example(data_dir: Path, seed_state: bool, data: st.DataObject, seen: set) -> None:
    """One random client session against a fresh stack; records (path, method, status) of each answer."""
    data_dir.mkdir()
    async with admin_stack(data_dir) as stack:
        known = await seeded_stack_data(stack) if seed_state else UNSEEDED_IDS
        client = stack.app.test_client()
        for _ in range(data.draw(st.integers(min_value=4, max_value=16), label="requests")):
            path, method, operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
            url = path
            headers: dict[str, str] = dict(data.draw(st.sampled_from(AUTH_CHOICES), label="auth"))
            for parameter in map(lambda p: resolve(DOCUMENT, p), operation.get("parameters", [])):
                if parameter["in"] == "path":
                    value = data.draw(path_value(parameter, known), label=parameter["name"])
                    url = url.replace("{" + parameter["name"] + "}", value)
                elif parameter["in"] == "header" and data.draw(st.booleans(), label="send header"):
                    headers[parameter["name"]] = data.draw(
                        st.text(_HEADER_CHARS, max_size=300), label="header"
                    )
            body = data.draw(drain_bodies, label="body") if "requestBody" in operation else None

            response = await client.open(url, method=method.upper(), headers=headers, data=body)
            status = response.status_code
            context = f"{method.upper()} {url} → {status}"
            assert status < 500, context
            assert response.content_type == "application/json", context
            payload = await response.get_json()
            guarded = operation.get("security") != []
            if guarded and headers.get("Authorization") != AUTH["Authorization"]:
                assert status == 401, context
                continue
            documented = documented_response(operation, status)
            assert documented is not None, f"{context} is not documented"
            schema = documented["content"]["application/json"]["schema"]
            assert schema_errors(DOCUMENT, schema, payload) == [], context
            seen.add((path, method, status))
        assert stack.shutdown.calls <= 10


async def _answer_missing_operations(data_dir: Path, seen: set, missing: set[tuple[str, str]]) -> None:
    """Each operation the random sessions never saw succeed, asked once with valid ids, the token and a valid
    body on a seeded stack: it must answer a documented 2xx that conforms to its schema."""
    data_dir.mkdir()
    async with admin_stack(data_dir) as stack:
        known = await seeded_stack_data(stack)
        client = stack.app.test_client()
        for path, method, operation in OPERATIONS:
            if (path, method) not in missing:
                continue
            url = path
            for parameter in map(lambda p: resolve(DOCUMENT, p), operation.get("parameters", [])):
                if parameter["in"] == "path":
                    url = url.replace("{" + parameter["name"] + "}", known[parameter["name"]][0])
            body = b'{"n": 1}' if "requestBody" in operation else None
            response = await client.open(url, method=method.upper(), headers=dict(AUTH), data=body)
            documented = documented_response(operation, response.status_code)
            assert documented is not None, (
                f"{method.upper()} {url} → {response.status_code} is not documented"
            )
            schema = documented["content"]["application/json"]["schema"]
            assert schema_errors(DOCUMENT, schema, await response.get_json()) == [], url
            seen.add((path, method, response.status_code))


def test_random_requests_follow_the_document(tmp_path: Path) -> None:
    """50 random sessions on a stack with state in every subsystem and 50 on an empty one; then every
    operation must have answered its documented 2xx at least once (those the draws missed are asked once
    with valid input)."""
    seen: set[tuple[str, str, int]] = set()
    examples = itertools.count()

    @settings(
        max_examples=50,
        deadline=None,
        derandomize=True,  # reproducible in CI; the coverage check relies on the same examples each run
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(data=st.data())
    def sessions(seed_state: bool, data: st.DataObject) -> None:
        trio.run(_one_example, tmp_path / f"example-{next(examples)}", seed_state, data, seen)

    for seed_state in (True, False):
        sessions(seed_state)
    every_operation = {(path, method) for path, method, _ in OPERATIONS}
    # The draws do not always reach every operation's 2xx (rare ones need a valid id, the token and a valid
    # body at once); those are asked once more, deliberately, so every 2xx schema is checked in every run.
    missing = every_operation - {(path, method) for path, method, status in seen if status < 300}
    trio.run(_answer_missing_operations, tmp_path / "coverage", seen, missing)
    successes = {(path, method) for path, method, status in seen if status < 300}
    assert successes == every_operation
