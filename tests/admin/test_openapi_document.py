"""GET /openapi.json: public, OpenAPI 3, and in step with the routes the app actually serves."""

from __future__ import annotations

import logging
import re
from typing import Any

from quart_trio import QuartTrio

from tests.admin.conftest import ShutdownRecorder, fixed_clock
from tests.admin.fakes import FakeLedger
from tracker.admin import PUBLIC_ENDPOINTS, create_admin_app
from tracker.registry import Registry

HTTP_METHODS = {"get", "post", "put", "delete", "patch"}


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow local $refs ("#/a/b/c") until a non-reference node (KeyError for a dangling one)."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _app() -> QuartTrio:
    return create_admin_app(
        ledger=FakeLedger(),
        registry=Registry(),
        admission=object(),
        request_shutdown=ShutdownRecorder(),
        admin_token=None,
        clock=fixed_clock,
        logger=logging.getLogger("tests.admin"),
        version="9.9.9",
    )


def _normalise(path: str) -> str:
    return re.sub(r"<[^>]+>|\{[^}]+\}", "{}", path)


async def _document(app: QuartTrio) -> dict[str, Any]:
    response = await app.test_client().get("/openapi.json")  # no token: the document is public
    assert response.status_code == 200
    return await response.get_json()


async def test_document_matches_served_routes() -> None:
    app = _app()
    document = await _document(app)
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == "9.9.9"

    served: dict[tuple[str, str], str] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods or ():
            if method.lower() in HTTP_METHODS:
                served[(_normalise(rule.rule), method.lower())] = rule.endpoint
    documented = {
        (_normalise(path), method): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    assert set(served) == set(documented)
    # /health /stats /peers /identity /maintenance /openapi.json + 11 admission routes + 5 broker routes
    # + 6 dashboard routes
    assert len(served) == 28

    for key, endpoint in served.items():
        operation = documented[key]
        public = operation.get("security") == []
        assert public == (endpoint in PUBLIC_ENDPOINTS), key
        assert ("401" in operation["responses"]) == (not public), key


async def test_every_reference_resolves_and_path_parameters_are_declared() -> None:
    document = await _document(_app())
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": 'realm "tracker-admin"',
    }
    assert document["security"] == [{"bearerAuth": []}]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(document, node)
            for child in node.values():
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(document)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            declared = {
                resolve(document, parameter)["name"]
                for parameter in operation.get("parameters", [])
                if resolve(document, parameter)["in"] == "path"
            }
            assert declared == set(re.findall(r"\{([^}]+)\}", path)), (path, method)


async def test_every_operation_has_an_id_a_declared_tag_and_body_examples() -> None:
    document = await _document(_app())
    declared_tags = {tag["name"] for tag in document["tags"]}
    assert all(tag.get("description") for tag in document["tags"])
    operation_ids = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operation_ids.append(operation["operationId"])
            assert re.fullmatch(r"[a-z][A-Za-z]+", operation["operationId"]), (path, method)
            assert len(operation["tags"]) == 1 and operation["tags"][0] in declared_tags, (path, method)
            body = operation.get("requestBody")
            if body is not None:
                for media in body["content"].values():
                    assert "example" in media or "examples" in media, (path, method)
    assert len(operation_ids) == len(set(operation_ids)), sorted(operation_ids)
