"""Core admin routes (config-cli-admin-run.md §5.3): /health, /stats, /peers, /identity/<id>, /maintenance."""

from __future__ import annotations

from quart import request
from quart.typing import ResponseReturnValue
from quart_trio import QuartTrio

from tracker.admin._auth import OPERATOR_HEADER, OperatorIdError, operator_id_from_header
from tracker.admin._context import AdminContext
from tracker.admin._json import balance_json, peer_json, seeder_record_json, tip_fields
from tracker.admin._responses import (
    GoHexError,
    decode_hex_go,
    error_response,
    json_response,
    rfc3339_seconds,
)

IDENTITY_ID_BYTES = 32


def register_core_routes(app: QuartTrio, context: AdminContext) -> None:
    """Attach the core routes to `app`; handlers read only from `context`."""

    @app.get("/health", endpoint="health")
    async def health() -> ResponseReturnValue:
        return json_response(
            {"status": "ok", "time": rfc3339_seconds(context.clock()), "version": context.version}
        )

    @app.get("/stats", endpoint="stats")
    async def stats() -> ResponseReturnValue:
        try:
            tip = await context.ledger.tip()
        except Exception as error:
            context.logger.error("admin: ledger tip failed", exc_info=error)
            return error_response(500, f"ledger tip: {error}")
        tip_seq, tip_hash = tip_fields(tip)
        return json_response(
            {
                "broker_reqs_per_sec": None,
                "connections": context.connection_count(),
                "ledger": {"tip_hash": tip_hash, "tip_seq": tip_seq},
                "merkle_root_minutes": context.merkle_root_minutes,
            }
        )

    @app.get("/peers", endpoint="peers")
    async def peers() -> ResponseReturnValue:
        connected = await context.connected_peers()
        return json_response({"count": len(connected), "peers": [peer_json(peer) for peer in connected]})

    @app.get("/identity/<identity_hex>", endpoint="identity")
    async def identity(identity_hex: str) -> ResponseReturnValue:
        try:
            identity_id = decode_hex_go(identity_hex)
        except GoHexError as error:
            return error_response(400, f"bad id: {error}")
        if len(identity_id) != IDENTITY_ID_BYTES:
            return error_response(400, f"bad id: expected {IDENTITY_ID_BYTES} bytes, got {len(identity_id)}")

        body: dict[str, object] = {"identity_id": identity_id.hex()}
        seeder = context.registry.get(identity_id)
        if seeder is not None:
            body["seeder"] = seeder_record_json(seeder)
        balance_error: str | None = None
        try:
            snapshot = await context.ledger.signed_balance(identity_id)
        except Exception as error:
            context.logger.warning("admin: signed balance failed", exc_info=error)
            balance_error = str(error) or type(error).__name__
        else:
            balance = balance_json(snapshot)
            if balance is not None:
                body["balance"] = balance
        if "balance" not in body and seeder is None:
            return error_response(404, "identity not found")
        if balance_error is not None:
            body["balance_error"] = balance_error
        return json_response(body)

    @app.post("/maintenance", endpoint="maintenance")
    async def maintenance() -> ResponseReturnValue:
        try:
            operator = operator_id_from_header(request.headers.get(OPERATOR_HEADER))
        except OperatorIdError as error:
            return error_response(400, str(error))
        context.logger.info(
            "admin: operator triggered shutdown", extra={"event": "admin_maintenance", "operator": operator}
        )
        context.request_shutdown()
        return json_response({"draining": True}, status=202)
