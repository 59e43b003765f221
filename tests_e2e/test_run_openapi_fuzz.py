"""A property-based client against a running tracker, driven by its own /openapi.json: every documented
operation (except POST /maintenance, which stops the server) with generated path parameters, operator headers
and bodies, with the token. No response may be a 5xx, and each status must be one the document lists."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests_e2e.test_run_support import (
    CONSUMERS,
    TrackerProcess,
    auth_headers,
    make_data_dir,
    seed_through_admission,
    start_tracker,
    use_ephemeral_ports,
)

# Routing answers these for any operation (unknown path after a bad parameter, wrong method) before auth.
ALWAYS_ALLOWED = {"404", "405"}
EXCLUDED = {("post", "/maintenance")}
STATUSES_SEEN: set[int] = set()


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_parameters: tuple[tuple[str, str | None], ...]  # (name, pattern)
    has_operator_header: bool
    body_schema: dict[str, Any] | None
    statuses: frozenset[str]


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operations(document: dict[str, Any]) -> list[Operation]:
    operations = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if (method, path) in EXCLUDED:
                continue
            parameters = [_resolve(document, parameter) for parameter in operation.get("parameters", [])]
            body = operation.get("requestBody")
            body_schema = None
            if body is not None:
                body_schema = _resolve(document, body["content"]["application/json"]["schema"])
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_parameters=tuple(
                        (parameter["name"], parameter.get("schema", {}).get("pattern"))
                        for parameter in parameters
                        if parameter["in"] == "path"
                    ),
                    has_operator_header=any(
                        parameter["in"] == "header" and parameter["name"] == "X-Operator-Id"
                        for parameter in parameters
                    ),
                    body_schema=body_schema,
                    statuses=frozenset(operation["responses"]),
                )
            )
    return operations


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackerProcess]:
    config_path = make_data_dir(tmp_path_factory.mktemp("fuzz") / "data")
    use_ephemeral_ports(config_path)
    seed_through_admission(config_path)  # known consumers, so the 200 paths are exercised too
    process = start_tracker(config_path)
    try:
        process.wait_ready()
        yield process
    finally:
        process.kill()


@pytest.fixture(scope="module")
def operations(tracker: TrackerProcess) -> list[Operation]:
    document = httpx.get(f"{tracker.admin_url}/openapi.json", timeout=10).json()
    found = _operations(document)
    assert len(found) >= 14, [(operation.method, operation.path) for operation in found]
    return found


_hex_ids = st.one_of(
    st.sampled_from([consumer.identity_id.hex() for consumer in CONSUMERS]),
    st.binary(min_size=32, max_size=32).map(bytes.hex),
    st.binary(min_size=32, max_size=32).map(lambda raw: raw.hex().upper()),
)
_segment_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="/?#", exclude_categories=("Cs",)), max_size=80
)
_header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


def _body(schema: dict[str, Any] | None) -> st.SearchStrategy[bytes | None]:
    if schema is None:
        return st.none()
    properties = schema.get("properties", {})
    conforming = st.fixed_dictionaries(
        {name: st.integers(-5, 600) for name, spec in properties.items() if spec.get("type") == "integer"}
    ).map(lambda value: json.dumps(value).encode())
    arbitrary_json = _json_values.map(lambda value: json.dumps(value).encode())
    return st.one_of(conforming, arbitrary_json, st.binary(max_size=64), st.just(b""))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_documented_operation_answers_5xx(
    tracker: TrackerProcess, operations: list[Operation], data: st.DataObject
) -> None:
    operation = data.draw(st.sampled_from(operations), label="operation")
    path = operation.path
    for name, pattern in operation.path_parameters:
        value = data.draw(_hex_ids if pattern else st.one_of(_hex_ids, _segment_text), label=name)
        if pattern and data.draw(st.booleans(), label=f"{name} malformed"):
            value = data.draw(
                _segment_text.filter(lambda text, pattern=pattern: not re.fullmatch(pattern, text)),
                label=name,
            )
        path = path.replace("{" + name + "}", quote(value, safe=""))
    headers: dict[str, str | bytes] = dict(auth_headers())
    if operation.has_operator_header:
        # h11 (the client) refuses header values with surrounding whitespace; the server never sees those.
        operator = data.draw(
            st.none() | _header_text.map(lambda text: text.strip(" \t")), label="X-Operator-Id"
        )
        if operator is not None:
            headers["X-Operator-Id"] = operator.encode("latin-1")  # any octet a real client could send
    body = data.draw(_body(operation.body_schema), label="body")
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = httpx.request(
        operation.method, f"{tracker.admin_url}{path}", headers=headers, content=body, timeout=10
    )
    STATUSES_SEEN.add(response.status_code)
    assert response.status_code < 500, (operation.method, path, response.status_code, response.text)
    assert str(response.status_code) in operation.statuses | ALWAYS_ALLOWED, (
        operation.method,
        path,
        response.status_code,
        response.text,
    )


def test_tracker_survived_the_fuzzing(tracker: TrackerProcess) -> None:
    # The generator reached both the success and the validation paths (it is not just bouncing off 404s).
    assert {200, 400} <= STATUSES_SEEN, STATUSES_SEEN
    assert tracker.process.poll() is None
    assert httpx.get(f"{tracker.admin_url}/health", timeout=10).status_code == 200
    assert tracker.stop() == 0
    assert not [record for record in tracker.log_records() if record.get("level") == "error"], tracker.stderr


def test_openapi_document_covers_the_admission_routes(operations: list[Operation]) -> None:
    paths = {operation.path for operation in operations}
    for expected in (
        "/admission/status",
        "/admission/queue",
        "/admission/queue/drain",
        "/admission/snapshot",
        "/admission/peers/blocklist",
    ):
        assert expected in paths
