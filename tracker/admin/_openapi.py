"""The OpenAPI 3.0 document served at GET /openapi.json: every admin route, its parameters and responses."""

from __future__ import annotations

from typing import Any

from tracker.admin._auth import MAX_OPERATOR_ID_CHARS, OPERATOR_HEADER, REALM

HEX_ID_PATTERN = "^[0-9a-fA-F]{64}$"
_SCHEMAS = "#/components/schemas/"
_RESPONSES = "#/components/responses/"
_PARAMETERS = "#/components/parameters/"

# Every operation carries exactly one of these tags.
TAGS = {
    "tracker": "Liveness, statistics, connected peers, identities and shutdown of the tracker process",
    "admission": "Admission gatekeeper: supply pressure, queue, credit scores and the peer blocklist",
    "broker": "Request broker: inflight brokered requests and consumers' credit reservations",
    "dashboard": (
        "Operator dashboard: its page and assets (public) and the JSON behind its tables. The JSON routes "
        "take only the query parameters listed, each at most once; any other (or a repeated one) is a 400 "
        "naming it"
    ),
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"{kind}{name}"}


def _json_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema_name: str) -> dict[str, Any]:
    return {"description": description, "content": _json_content(_ref(_SCHEMAS, schema_name))}


def _number(nullable: bool = False) -> dict[str, Any]:
    return {"type": "number", "nullable": True} if nullable else {"type": "number"}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


def _hex_path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": HEX_ID_PATTERN},
    }


def _schemas() -> dict[str, Any]:
    integer = {"type": "integer"}
    string = {"type": "string"}
    return {
        "Error": _object({"error": string}),
        "Health": _object({"status": {"type": "string", "enum": ["ok"]}, "time": string, "version": string}),
        "Stats": _object(
            {
                "broker_reqs_per_sec": _number(nullable=True),
                "connections": integer,
                "ledger": _object(
                    {
                        "tip_hash": {"type": "string", "nullable": True},
                        "tip_seq": {"type": "integer", "nullable": True},
                    }
                ),
                "merkle_root_minutes": {"type": "integer", "nullable": True},
            }
        ),
        "Balance": _object(
            {"chain_tip_seq": integer, "credits": integer, "expires_at": integer, "issued_at": integer}
        ),
        "SeederRecord": _object(
            {
                "available": {"type": "boolean"},
                "headroom_estimate": _number(nullable=True),
                "last_heartbeat": string,
                "load": integer,
                "models": {"type": "array", "items": string, "nullable": True},
                "reputation_score": _number(nullable=True),
            }
        ),
        "Identity": _object(
            {
                "identity_id": string,
                "seeder": _ref(_SCHEMAS, "SeederRecord"),
                "balance": _ref(_SCHEMAS, "Balance"),
                "balance_error": string,
            },
            required=["identity_id"],
        ),
        "Draining": _object({"draining": {"type": "boolean"}}),
        "Peers": _object(
            {
                "count": integer,
                "peers": {
                    "type": "array",
                    "items": _object(
                        {
                            "canonical_id": string,
                            "raw_pub_id": string,
                            "roles": {"type": "array", "items": string, "nullable": True},
                            "address": string,
                            "connected_since": string,
                            "last_heartbeat": {"type": "string", "nullable": True},
                        }
                    ),
                },
            }
        ),
        "AdmissionStatus": _object(
            {
                "pressure": _number(nullable=True),
                "queue_depth": integer,
                "supply_total_headroom": _number(nullable=True),
                "thresholds": _object({"admit": _number(), "reject": _number()}),
            }
        ),
        "QueueEntry": _object(
            {
                "consumer_id": string,
                "effective_priority": _number(nullable=True),
                "enqueued_at": integer,
                "score": _number(nullable=True),
            }
        ),
        "ConsumerScore": _object(
            {
                "score": _number(nullable=True),
                "signals": _object(
                    {
                        "SettlementReliability": _number(),
                        "DisputeRate": _number(),
                        "TenureDays": integer,
                        "NetFlow": integer,
                        "BalanceCushionLog2": integer,
                    }
                ),
            }
        ),
        "SeederHeartbeatState": _object(
            {
                "Buckets": {
                    "type": "array",
                    "minItems": 10,
                    "maxItems": 10,
                    "items": _object({"Expected": integer, "Actual": integer}),
                },
                "LastBucketRollAt": string,
                "LastHeadroomEstimate": integer,
                "LastHeadroomSource": integer,
                "LastHeadroomTs": string,
                "CanProbeUsage": {"type": "boolean"},
            }
        ),
        "DrainRequest": {
            "type": "object",
            "properties": {
                "n": {"type": "integer", "minimum": 0, "maximum": (1 << 63) - 1, "nullable": True}
            },
        },
        "Drained": _object({"drained": {"type": "array", "items": string}}),
        "Ejected": _object({"ejected": integer}),
        "Ok": _object({"ok": {"type": "boolean"}}),
        "Queued": _object({"queued": {"type": "boolean"}}),
        "HexList": {"type": "array", "items": string},
    }


def _responses() -> dict[str, Any]:
    error = _json_content(_ref(_SCHEMAS, "Error"))
    return {
        "BadRequest": {"description": "Malformed id, header, body or query parameter", "content": error},
        "Unauthorized": {
            "description": "Missing or wrong bearer token (or no token configured on the server)",
            "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
            "content": error,
        },
        "NotFound": {"description": "Unknown identity or route", "content": error},
        "ServerError": {"description": "Subsystem failure (ledger, tlog or snapshot)", "content": error},
    }


def _operation(
    operation_id: str,
    tag: str,
    summary: str,
    ok_status: str,
    ok_response: dict[str, Any],
    *,
    public: bool = False,
    parameters: list[dict[str, Any]] | None = None,
    errors: tuple[str, ...] = (),
    request_body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    responses: dict[str, Any] = {ok_status: ok_response}
    names = {"400": "BadRequest", "404": "NotFound", "500": "ServerError"}
    for status in errors:
        responses[status] = _ref(_RESPONSES, names[status])
    if not public:
        responses["401"] = _ref(_RESPONSES, "Unauthorized")
    if tag not in TAGS:
        raise ValueError(f"openapi: unknown tag {tag!r}")
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary,
        "responses": responses,
    }
    if public:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    if request_body is not None:
        operation["requestBody"] = request_body
    return operation


def _mutating(
    operation_id: str,
    summary: str,
    ok_response: dict[str, Any],
    *,
    path_parameter: dict[str, Any] | None = None,
    errors: tuple[str, ...] = ("500",),
    request_body: dict[str, Any] | None = None,
    ok_status: str = "200",
    tag: str = "admission",
) -> dict[str, Any]:
    parameters = [_ref(_PARAMETERS, "OperatorId")]
    if path_parameter is not None:
        parameters.insert(0, path_parameter)
    return _operation(
        operation_id,
        tag,
        summary,
        ok_status,
        ok_response,
        parameters=parameters,
        errors=("400", *errors),
        request_body=request_body,
    )


def _paths() -> dict[str, Any]:
    identity = _hex_path_parameter("identity_id", "Identity id: 32 bytes as 64 hex characters (either case)")
    consumer = _hex_path_parameter("consumer_id", "Consumer identity id (64 hex characters)")
    seeder = _hex_path_parameter("seeder_id", "Seeder identity id (64 hex characters)")
    peer = _hex_path_parameter("peer_id", "Peer tracker id (64 hex characters)")
    request_id = {
        "name": "request_id",
        "in": "path",
        "required": True,
        "description": "Queue entry request id (lowercase hex of 16 bytes); any other text ejects nothing",
        "schema": {"type": "string"},
    }
    return {
        "/health": {
            "get": _operation("getHealth", "tracker", "Liveness", "200", _ok("Alive", "Health"), public=True)
        },
        "/openapi.json": {
            "get": _operation(
                "getOpenApiDocument",
                "tracker",
                "This document",
                "200",
                {"description": "OpenAPI 3 document", "content": _json_content({"type": "object"})},
                public=True,
            )
        },
        "/stats": {
            "get": _operation(
                "getStats",
                "tracker",
                "Tracker statistics",
                "200",
                _ok("Statistics", "Stats"),
                errors=("500",),
            )
        },
        "/peers": {
            "get": _operation(
                "listPeers",
                "tracker",
                "Peers connected to the plugin RPC listener (oldest first)",
                "200",
                _ok("Peers", "Peers"),
            )
        },
        "/identity/{identity_id}": {
            "get": _operation(
                "getIdentity",
                "tracker",
                "Balance and seeder record of an identity",
                "200",
                _ok("Known identity", "Identity"),
                parameters=[identity],
                errors=("400", "404"),
            )
        },
        "/maintenance": {
            "post": _operation(
                "startShutdown",
                "tracker",
                "Graceful shutdown of the tracker",
                "202",
                _ok("Shutdown started", "Draining"),
                parameters=[_ref(_PARAMETERS, "OperatorId")],
                errors=("400",),
            )
        },
        "/admission/status": {
            "get": _operation(
                "getAdmissionStatus",
                "admission",
                "Supply pressure, queue depth, thresholds",
                "200",
                _ok("Status", "AdmissionStatus"),
            )
        },
        "/admission/queue": {
            "get": _operation(
                "listAdmissionQueue",
                "admission",
                "Queued requests (heap order)",
                "200",
                {
                    "description": "Queue entries",
                    "content": _json_content({"type": "array", "items": _ref(_SCHEMAS, "QueueEntry")}),
                },
            )
        },
        "/admission/consumer/{consumer_id}": {
            "get": _operation(
                "getConsumerScore",
                "admission",
                "Local credit score and signals of a consumer",
                "200",
                _ok("Score", "ConsumerScore"),
                parameters=[consumer],
                errors=("400", "404"),
            )
        },
        "/admission/seeder/{seeder_id}": {
            "get": _operation(
                "getSeederHeartbeatState",
                "admission",
                "Heartbeat state of a seeder",
                "200",
                _ok("Heartbeat state", "SeederHeartbeatState"),
                parameters=[seeder],
                errors=("400", "404"),
            )
        },
        "/admission/queue/drain": {
            "post": _mutating(
                "drainAdmissionQueue",
                "Pop up to n entries from the head of the queue",
                _ok("Drained consumer ids", "Drained"),
                request_body={
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _ref(_SCHEMAS, "DrainRequest"),
                            "example": {"n": 10},
                        }
                    },
                },
            )
        },
        "/admission/queue/eject/{request_id}": {
            "post": _mutating(
                "ejectQueueEntries",
                "Remove the queue entries with this request id",
                _ok("Number of entries removed", "Ejected"),
                path_parameter=request_id,
                errors=("404", "500"),
            )
        },
        "/admission/snapshot": {
            "post": _mutating(
                "writeAdmissionSnapshot", "Write an admission snapshot now", _ok("Snapshot written", "Ok")
            )
        },
        "/admission/recompute/{consumer_id}": {
            "post": _mutating(
                "recomputeConsumer",
                "Rebuild a consumer's credit state from the ledger",
                _ok("Recomputed", "Queued"),
                path_parameter=consumer,
                errors=("404", "500"),
            )
        },
        "/admission/peers/blocklist": {
            "get": _operation(
                "listBlockedPeers",
                "admission",
                "Blocked attestation issuers (sorted hex)",
                "200",
                _ok("Blocked peer ids", "HexList"),
            )
        },
        "/admission/peers/blocklist/{peer_id}": {
            "post": _mutating(
                "blockPeer",
                "Block attestations issued by a peer tracker",
                _ok("Blocked", "Ok"),
                path_parameter=peer,
                errors=("404", "500"),
            ),
            "delete": _mutating(
                "unblockPeer",
                "Unblock a peer tracker",
                _ok("Unblocked (also when it was not blocked)", "Ok"),
                path_parameter=peer,
                errors=("404", "500"),
            ),
        },
    }


def _broker_paths() -> dict[str, Any]:
    request_id = {
        "name": "broker_request_id",
        "in": "path",
        "required": True,
        "description": "Broker request id (reservation token): 16 bytes as 32 hex characters (either case)",
        "schema": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
    }
    hex_string = {"type": "string"}
    inflight_item = _object(
        {
            "age_seconds": _number(),
            "consumer_id": hex_string,
            "request_id": hex_string,
            "state": {
                "type": "string",
                "enum": ["unspecified", "selecting", "assigned", "serving", "completed", "failed"],
            },
        },
        ["age_seconds", "consumer_id", "request_id", "state"],
    )
    inflight_one = _object(
        {
            "consumer_id": hex_string,
            "request_id": hex_string,
            "seeder_id": hex_string,
            "state": {"type": "string"},
            "reservation_amount": {"type": "integer", "minimum": 0},
        },
        ["consumer_id", "request_id", "seeder_id", "state"],
    )
    slot = _object(
        {"request_id": hex_string, "amount": {"type": "integer"}, "expires_at": {"type": "integer"}},
        ["request_id", "amount", "expires_at"],
    )
    book = _object(
        {"consumer_id": hex_string, "total": {"type": "integer"}, "slots": {"type": "array", "items": slot}},
        ["consumer_id", "total", "slots"],
    )

    def ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {"description": description, "content": _json_content(schema)}

    released = _object(
        {"released": {"type": "boolean"}, "request_id": hex_string}, ["released", "request_id"]
    )
    failed = _object({"failed": {"type": "boolean"}, "request_id": hex_string}, ["failed", "request_id"])
    return {
        "/broker/inflight": {
            "get": _operation(
                "listBrokerInflight",
                "broker",
                "Inflight broker requests (unordered)",
                "200",
                ok("Inflight requests", {"type": "array", "items": inflight_item}),
            )
        },
        "/broker/inflight/{broker_request_id}": {
            "get": _operation(
                "getBrokerInflight",
                "broker",
                "One inflight broker request",
                "200",
                ok("The request", inflight_one),
                parameters=[request_id],
                errors=("400", "404"),
            )
        },
        "/broker/reservations": {
            "get": _operation(
                "listBrokerReservations",
                "broker",
                "Credit reservations by consumer (unordered)",
                "200",
                ok("Reservations", {"type": "array", "items": book}),
            )
        },
        "/broker/reservations/release/{broker_request_id}": {
            "post": _mutating(
                "releaseBrokerReservation",
                "Release a reservation (inflight state and seeder load untouched)",
                ok("Released", released),
                path_parameter=request_id,
                errors=("404", "500"),
                tag="broker",
            )
        },
        "/broker/inflight/fail/{broker_request_id}": {
            "post": _mutating(
                "failBrokerInflight",
                "Fail an inflight request unconditionally (reservation and load untouched)",
                ok("Failed", failed),
                path_parameter=request_id,
                errors=("404", "500"),
                tag="broker",
            )
        },
    }


def _dashboard_paths() -> dict[str, Any]:
    def static(operation_id: str, summary: str, media_type: str) -> dict[str, Any]:
        ok = {"description": summary, "content": {media_type: {"schema": {"type": "string"}}}}
        return {"get": _operation(operation_id, "dashboard", summary, "200", ok, public=True)}

    any_object = _json_content({"type": "object"})
    page_parameters = [
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "description": "Entries per page (default 20)",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
        },
        {
            "name": "before",
            "in": "query",
            "required": False,
            "description": "Only entries with a smaller seq (default: from the tip)",
            "schema": {"type": "integer", "minimum": 1},
        },
    ]
    return {
        "/dashboard": static(
            "getDashboardPage", "Operator dashboard page (no data; it asks for the token)", "text/html"
        ),
        "/dashboard/dashboard.js": static("getDashboardScript", "Dashboard script", "text/javascript"),
        "/dashboard/dashboard.css": static("getDashboardStyle", "Dashboard style sheet", "text/css"),
        "/dashboard/api/summary": {
            "get": _operation(
                "getDashboardSummary",
                "dashboard",
                "Dashboard figures: admission status, queue, supply per model, decision rates, pressure "
                "history (15 min), ledger tip, persistence health",
                "200",
                {"description": "Summary", "content": any_object},
                errors=("400", "500"),
            )
        },
        "/dashboard/api/queue": {
            "get": _operation(
                "listDashboardQueue",
                "dashboard",
                "The admission queue from its head (highest effective priority first), with request ids",
                "200",
                {"description": "A page of queue entries and the queue length", "content": any_object},
                parameters=[
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "description": "Entries per page (default 100)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 500},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "description": "Entries to skip from the head",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                ],
                errors=("400",),
            )
        },
        "/dashboard/api/ledger": {
            "get": _operation(
                "listDashboardLedger",
                "dashboard",
                "Recent ledger entries, newest first, paginated by seq",
                "200",
                {"description": "A page of entries", "content": any_object},
                parameters=page_parameters,
                errors=("400", "500"),
            )
        },
    }


def build_openapi_document(version: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of the admin API."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "trio-tracker admin API",
            "version": version,
            "description": (
                "Operator API of a token-bay regional tracker. Every route except /health and /openapi.json "
                "needs `Authorization: Bearer <TOKEN_BAY_ADMIN_TOKEN>`. Mutating admission routes record the "
                f"operator from the optional `{OPERATOR_HEADER}` header in the admission tlog."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": description} for name, description in TAGS.items()],
        "security": [{"bearerAuth": []}],
        "paths": {**_paths(), **_broker_paths(), **_dashboard_paths()},
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": f'realm "{REALM}"'}
            },
            "parameters": {
                "OperatorId": {
                    "name": OPERATOR_HEADER,
                    "in": "header",
                    "required": False,
                    "description": "Operator id for the OPERATOR_OVERRIDE audit record (default anonymous)",
                    "schema": {"type": "string", "maxLength": MAX_OPERATOR_ID_CHARS},
                }
            },
            "responses": _responses(),
            "schemas": _schemas(),
        },
    }
