"""GET /health, GET /stats, GET /identity/<id>, POST /maintenance and the bearer guard (spec §5.2-§5.3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from quart_trio import QuartTrio

from tests.admin.conftest import AUTH, TOKEN, LogCapture, ShutdownRecorder, fixed_clock, hex_id, identity
from tests.admin.fakes import FakeLedger, FakeTip
from tracker.admin import admin_token_from_env, create_admin_app
from tracker.registry import Capabilities, Registry, SeederRecord


def make_app(
    ledger: FakeLedger,
    registry: Registry,
    shutdown: ShutdownRecorder,
    *,
    token: str | None = TOKEN,
    merkle_root_minutes: int | None = 60,
) -> QuartTrio:
    return create_admin_app(
        ledger=ledger,
        registry=registry,
        admission=object(),
        request_shutdown=shutdown,
        admin_token=token,
        clock=fixed_clock,
        logger=logging.getLogger("tests.admin"),
        merkle_root_minutes=merkle_root_minutes,
        connection_count=lambda: 7,
        version="test",
    )


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()


@pytest.fixture
def registry() -> Registry:
    return Registry()


@pytest.fixture
def app(ledger: FakeLedger, registry: Registry, shutdown: ShutdownRecorder) -> QuartTrio:
    return make_app(ledger, registry, shutdown)


async def test_health_is_public_and_reports_time_and_version(app: QuartTrio) -> None:
    response = await app.test_client().get("/health")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    assert await response.get_data() == b'{"status":"ok","time":"2026-05-09T12:00:00Z","version":"test"}\n'


async def test_stats_on_empty_chain(app: QuartTrio) -> None:
    response = await app.test_client().get("/stats", headers=AUTH)
    assert response.status_code == 200
    assert await response.get_json() == {
        "broker_reqs_per_sec": None,
        "connections": 7,
        "ledger": {"tip_hash": None, "tip_seq": None},
        "merkle_root_minutes": 60,
    }


async def test_stats_with_tip(app: QuartTrio, ledger: FakeLedger) -> None:
    ledger.tip_value = FakeTip(42, bytes.fromhex("deadbeef") + bytes(28))
    body = await (await app.test_client().get("/stats", headers=AUTH)).get_json()
    assert body["ledger"] == {"tip_seq": 42, "tip_hash": "deadbeef" + "00" * 28}


async def test_stats_ledger_failure_is_500_json(app: QuartTrio, ledger: FakeLedger) -> None:
    ledger.fail_with = RuntimeError("database is locked")
    response = await app.test_client().get("/stats", headers=AUTH)
    assert response.status_code == 500
    assert await response.get_json() == {"error": "ledger tip: database is locked"}


@pytest.mark.parametrize(
    ("path_id", "message"),
    [
        ("notHex", "bad id: encoding/hex: invalid byte: U+006E 'n'"),
        ("abc", "bad id: encoding/hex: odd length hex string"),
        ("abz", "bad id: encoding/hex: invalid byte: U+007A 'z'"),
        ("abcd", "bad id: expected 32 bytes, got 2"),
        ("ab" * 33, "bad id: expected 32 bytes, got 33"),
    ],
)
async def test_identity_bad_id_is_400(app: QuartTrio, path_id: str, message: str) -> None:
    response = await app.test_client().get(f"/identity/{path_id}", headers=AUTH)
    assert response.status_code == 400
    assert await response.get_json() == {"error": message}


async def test_identity_unknown_everywhere_is_404(app: QuartTrio) -> None:
    response = await app.test_client().get(f"/identity/{hex_id(0x11)}", headers=AUTH)
    assert response.status_code == 404
    assert await response.get_json() == {"error": "identity not found"}


async def test_identity_registry_only(app: QuartTrio, registry: Registry) -> None:
    registry.register(
        SeederRecord(
            identity_id=identity(0xAB),
            capabilities=Capabilities(models=["claude-opus-4-7"]),
            available=True,
            headroom_estimate=0.5,
            reputation_score=0.87,
            load=3,
            last_heartbeat=1778328000.75,
        )
    )
    response = await app.test_client().get(f"/identity/{hex_id(0xAB).upper()}", headers=AUTH)
    assert response.status_code == 200
    assert await response.get_json() == {
        "identity_id": hex_id(0xAB),
        "seeder": {
            "available": True,
            "headroom_estimate": 0.5,
            "last_heartbeat": "2026-05-09T12:00:00Z",
            "load": 3,
            "models": ["claude-opus-4-7"],
            "reputation_score": 0.87,
        },
    }


async def test_identity_seeder_without_models_or_heartbeat(app: QuartTrio, registry: Registry) -> None:
    registry.register(SeederRecord(identity_id=identity(0xAC)))
    body = await (await app.test_client().get(f"/identity/{hex_id(0xAC)}", headers=AUTH)).get_json()
    assert body["seeder"]["models"] is None
    assert body["seeder"]["last_heartbeat"] == "0001-01-01T00:00:00Z"


async def test_identity_ledger_only(app: QuartTrio, ledger: FakeLedger) -> None:
    ledger.tip_value = FakeTip(17, bytes(32))
    ledger.balances[identity(0x22)] = 9000
    response = await app.test_client().get(f"/identity/{hex_id(0x22)}", headers=AUTH)
    assert response.status_code == 200
    assert await response.get_json() == {
        "identity_id": hex_id(0x22),
        "balance": {"chain_tip_seq": 17, "credits": 9000, "issued_at": 1778328000, "expires_at": 1778328600},
    }


async def test_identity_ledger_error_with_known_seeder(
    app: QuartTrio, ledger: FakeLedger, registry: Registry
) -> None:
    registry.register(SeederRecord(identity_id=identity(0x33), last_heartbeat=1778328000.0))
    ledger.fail_with = OSError("disk I/O error")
    body = await (await app.test_client().get(f"/identity/{hex_id(0x33)}", headers=AUTH)).get_json()
    assert body["balance_error"] == "disk I/O error"
    assert "balance" not in body
    assert body["seeder"]["last_heartbeat"] == "2026-05-09T12:00:00Z"


async def test_identity_ledger_error_unknown_seeder_is_404(app: QuartTrio, ledger: FakeLedger) -> None:
    ledger.fail_with = OSError("disk I/O error")
    response = await app.test_client().get(f"/identity/{hex_id(0x34)}", headers=AUTH)
    assert response.status_code == 404


async def test_maintenance_fires_trigger_once_and_logs(
    ledger: FakeLedger, registry: Registry, shutdown: ShutdownRecorder, log_capture: LogCapture
) -> None:
    app = make_app(ledger, registry, shutdown)
    response = await app.test_client().post("/maintenance", headers={**AUTH, "X-Operator-Id": "ops-7"})
    assert response.status_code == 202
    assert await response.get_json() == {"draining": True}
    assert shutdown.calls == 1
    record = next(r for r in log_capture.records if r.getMessage() == "admin: operator triggered shutdown")
    assert record.event == "admin_maintenance"  # type: ignore[attr-defined]
    assert record.operator == "ops-7"  # type: ignore[attr-defined]


async def test_maintenance_without_token_does_not_fire(app: QuartTrio, shutdown: ShutdownRecorder) -> None:
    response = await app.test_client().post("/maintenance")
    assert response.status_code == 401
    assert shutdown.calls == 0


GUARDED = [("GET", "/stats"), ("GET", "/peers"), ("GET", f"/identity/{hex_id(1)}"), ("POST", "/maintenance")]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "bearer test-token",
        "Bearer  test-token",
        "Bearer test-token ",
        "Bearer wrong-token",
        "Basic dGVzdC10b2tlbg==",
        "test-token",
    ],
)
@pytest.mark.parametrize(("method", "path"), GUARDED)
async def test_guard_rejects_bad_credentials(
    app: QuartTrio, shutdown: ShutdownRecorder, method: str, path: str, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await app.test_client().open(path, method=method, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="tracker-admin"'
    assert await response.get_json() == {"error": "unauthorized"}
    assert shutdown.calls == 0


@pytest.mark.parametrize("token", [None, ""])
async def test_unset_token_rejects_everything_and_warns(
    ledger: FakeLedger,
    registry: Registry,
    shutdown: ShutdownRecorder,
    log_capture: LogCapture,
    token: str | None,
) -> None:
    app = make_app(ledger, registry, shutdown, token=token)
    assert "admin: token unset, all admin requests will be rejected" in log_capture.messages()
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Bearer None"}):
        assert (await client.get("/stats", headers=headers)).status_code == 401
    assert (await client.get("/health")).status_code == 200


async def test_non_ascii_token_round_trips(
    ledger: FakeLedger, registry: Registry, shutdown: ShutdownRecorder
) -> None:
    app = make_app(ledger, registry, shutdown, token="jeton-é")
    client = app.test_client()
    # The test client sends header values UTF-8 encoded, as curl does for a UTF-8 terminal.
    assert (await client.get("/stats", headers={"Authorization": "Bearer jeton-é"})).status_code == 200
    assert (await client.get("/stats", headers={"Authorization": "Bearer jeton-e"})).status_code == 401


async def test_routing_errors_precede_auth_and_are_json(app: QuartTrio) -> None:
    client = app.test_client()
    missing = await client.get("/no-such-route")
    assert missing.status_code == 404
    assert await missing.get_json() == {"error": "not found"}
    wrong_method = await client.post("/stats")
    assert wrong_method.status_code == 405
    assert "GET" in wrong_method.headers["Allow"]
    assert await wrong_method.get_json() == {"error": "method not allowed"}
    options = await client.options("/maintenance")
    assert options.status_code == 405


async def test_head_answers_like_get(app: QuartTrio) -> None:
    client = app.test_client()
    assert (await client.head("/health")).status_code == 200
    assert (await client.head("/stats")).status_code == 401
    assert (await client.head("/stats", headers=AUTH)).status_code == 200


async def test_unexpected_exception_is_json_500_and_logged(
    ledger: FakeLedger, shutdown: ShutdownRecorder, log_capture: LogCapture
) -> None:
    class BrokenRegistry:
        def get(self, identity_id: bytes) -> object:
            raise KeyError("shard vanished")

    app = make_app(ledger, BrokenRegistry(), shutdown)  # type: ignore[arg-type]
    response = await app.test_client().get(f"/identity/{hex_id(5)}", headers=AUTH)
    assert response.status_code == 500
    assert response.content_type == "application/json"
    assert await response.get_json() == {"error": "internal error"}
    assert "admin: request failed" in log_capture.messages()


def test_admin_token_from_env() -> None:
    assert admin_token_from_env({"TOKEN_BAY_ADMIN_TOKEN": "s3cret"}) == "s3cret"
    assert admin_token_from_env({"TOKEN_BAY_ADMIN_TOKEN": ""}) is None
    assert admin_token_from_env({}) is None


async def test_peers_without_an_rpc_listener_is_empty(
    ledger: FakeLedger, registry: Registry, shutdown: ShutdownRecorder
) -> None:
    app = create_admin_app(
        ledger=ledger,
        registry=registry,
        admission=object(),
        request_shutdown=shutdown,
        admin_token=TOKEN,
        clock=fixed_clock,
        logger=logging.getLogger("tests.admin"),
    )
    response = await app.test_client().get("/peers", headers=AUTH)
    assert response.status_code == 200
    assert await response.get_json() == {"count": 0, "peers": []}
    assert (await (await app.test_client().get("/stats", headers=AUTH)).get_json())["connections"] == 0


@dataclass(frozen=True)
class _Peer:
    canonical_id: bytes
    raw_pub_id: bytes
    role: int | None
    address: str
    connected_since: float
    last_heartbeat: float | None


async def test_peers_lists_ids_roles_address_and_times(
    ledger: FakeLedger, registry: Registry, shutdown: ShutdownRecorder
) -> None:
    connected = [
        _Peer(b"\x01" * 32, b"\x02" * 32, 3, "127.0.0.1:5000", 1_778_328_000.0, 1_778_328_015.0),
        _Peer(b"\x03" * 32, b"\x04" * 32, None, "[::1]:6000", 1_778_328_001.0, None),
    ]

    async def connected_peers() -> list[_Peer]:
        return connected

    app = create_admin_app(
        ledger=ledger,
        registry=registry,
        admission=object(),
        request_shutdown=shutdown,
        admin_token=TOKEN,
        clock=fixed_clock,
        logger=logging.getLogger("tests.admin"),
        connected_peers=connected_peers,
    )
    response = await app.test_client().get("/peers", headers=AUTH)
    assert response.status_code == 200
    assert await response.get_json() == {
        "count": 2,
        "peers": [
            {
                "canonical_id": "01" * 32,
                "raw_pub_id": "02" * 32,
                "roles": ["consumer", "seeder"],
                "address": "127.0.0.1:5000",
                "connected_since": "2026-05-09T12:00:00Z",
                "last_heartbeat": "2026-05-09T12:00:15Z",
            },
            {
                "canonical_id": "03" * 32,
                "raw_pub_id": "04" * 32,
                "roles": None,
                "address": "[::1]:6000",
                "connected_since": "2026-05-09T12:00:01Z",
                "last_heartbeat": None,
            },
        ],
    }
