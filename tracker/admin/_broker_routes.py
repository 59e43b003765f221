"""The broker admin routes (rpc-broker §6.10): inflight requests and reservations, and the two operator
overrides (release a reservation, fail an inflight request). Each override is recorded as an admission
OPERATOR_OVERRIDE record with the operator from X-Operator-Id. Without a broker (no RPC listener) the list
routes answer empty lists and the lookups 404."""

from __future__ import annotations

from quart import request
from quart.typing import ResponseReturnValue
from quart_trio import QuartTrio

from tracker.admin._auth import OPERATOR_HEADER, operator_id_from_header
from tracker.admin._context import AdminContext
from tracker.admin._responses import error_response, json_response
from tracker.broker import BrokerService, UnknownRequest


def _request_id(text: str) -> bytes | None:
    if len(text) != 32:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


def register_broker_routes(app: QuartTrio, context: AdminContext, broker: BrokerService | None) -> None:
    """Attach the /broker/* routes to `app`."""

    def override(action: str, request_id: bytes, extra: dict[str, object]) -> None:
        operator_id = operator_id_from_header(request.headers.get(OPERATOR_HEADER))
        params: dict[str, object] = {"request_id": request_id.hex(), **extra}
        context.admission.record_operator_override(operator_id, action, params)
        context.logger.info(
            "admin: broker operator override",
            extra={
                "event": "broker_admin_override",
                "operator": operator_id,
                "action": action,
                "params": params,
            },
        )

    @app.get("/broker/inflight", endpoint="broker_inflight")
    async def inflight() -> ResponseReturnValue:
        now = context.clock()
        requests = broker.inflight.snapshot() if broker is not None else []
        return json_response(
            [
                {
                    "age_seconds": max(0.0, now - item.started_at),
                    "consumer_id": item.consumer_id.hex(),
                    "request_id": item.request_id.hex(),
                    "state": item.state.label,
                }
                for item in requests
            ]
        )

    @app.get("/broker/inflight/<request_hex>", endpoint="broker_inflight_one")
    async def inflight_one(request_hex: str) -> ResponseReturnValue:
        request_id = _request_id(request_hex)
        if request_id is None:
            return error_response(400, "bad request_id")
        item = broker.inflight.get(request_id) if broker is not None else None
        if item is None or broker is None:
            return error_response(404, "not found")
        body: dict[str, object] = {
            "consumer_id": item.consumer_id.hex(),
            "request_id": item.request_id.hex(),
            "seeder_id": item.assigned_seeder.hex(),
            "state": item.state.label,
        }
        slot = broker.reservations.get(request_id)
        if slot is not None:
            body["reservation_amount"] = slot.amount
        return json_response(body)

    @app.get("/broker/reservations", endpoint="broker_reservations")
    async def reservations() -> ResponseReturnValue:
        books = list(broker.reservations.by_consumer()) if broker is not None else []
        return json_response(
            [
                {
                    "consumer_id": consumer_id.hex(),
                    "total": total,
                    "slots": [
                        {
                            "request_id": slot.request_id.hex(),
                            "amount": slot.amount,
                            "expires_at": int(slot.expires_at),
                        }
                        for slot in slots
                    ],
                }
                for consumer_id, total, slots in books
            ]
        )

    @app.post("/broker/reservations/release/<request_hex>", endpoint="broker_reservation_release")
    async def release(request_hex: str) -> ResponseReturnValue:
        request_id = _request_id(request_hex)
        if request_id is None:
            return error_response(400, "bad request_id")
        if broker is None or not broker.release_reservation(request_id):
            return error_response(404, "not found")
        override("broker/reservations/release", request_id, {})
        return json_response({"released": True, "request_id": request_id.hex()})

    @app.post("/broker/inflight/fail/<request_hex>", endpoint="broker_inflight_fail")
    async def fail(request_hex: str) -> ResponseReturnValue:
        request_id = _request_id(request_hex)
        if request_id is None:
            return error_response(400, "bad request_id")
        if broker is None:
            return error_response(404, "not found")
        try:
            previous = broker.force_fail(request_id)
        except UnknownRequest:
            return error_response(404, "not found")
        override("broker/inflight/fail", request_id, {"prev_state": previous.label})
        return json_response({"failed": True, "request_id": request_id.hex()})
