"""The 11 admission admin routes (admission.md §10). Each parses its input, calls one `AdmissionService`
method (a mutation and its OPERATOR_OVERRIDE audit record happen there, together) and shapes the answer.
A mutating route answers 2xx only once its record is written and fsynced; a failed write or fsync answers
500 `{"error": "tlog write failed"}`."""

from __future__ import annotations

import json
from typing import Any, Protocol, cast

from quart import g, request
from quart.typing import ResponseReturnValue
from quart_trio import QuartTrio

from tracker.admin._auth import OPERATOR_HEADER, OperatorIdError, operator_id_from_header
from tracker.admin._context import AdminContext
from tracker.admin._json import (
    admission_status_json,
    consumer_view_json,
    queue_item_json,
    seeder_state_json,
)
from tracker.admin._responses import BODY_CONSUMED, error_response, json_response, parse_identity_hex
from tracker.admission import SnapshotError, TLogWriteError

MAX_INT64 = (1 << 63) - 1


class BadBodyError(ValueError):
    """The request body is not the JSON object the route expects."""


class _BlocklistChange(Protocol):
    """`AdmissionService.blocklist_add` / `blocklist_remove`."""

    async def __call__(self, peer_id: bytes, *, operator_id: str, as_written: str) -> None: ...


def _drain_count(raw: bytes) -> int:
    """`n` from a ``{"n": int}`` body: the first JSON value must be an object; a missing or null `n` is 0
    (as in Go); `n` must be a non-negative int64 (Go panics on a negative n; we answer 400)."""
    try:
        text = raw.decode("utf-8").lstrip(" \t\r\n")
        value, _ = json.JSONDecoder().raw_decode(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise BadBodyError("bad body") from error
    if not isinstance(value, dict):
        raise BadBodyError("bad body")
    count = value.get("n")
    if count is None:
        return 0
    if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_INT64:
        raise BadBodyError("bad body")
    return count


def register_admission_routes(app: QuartTrio, context: AdminContext) -> None:
    """Attach the /admission/* routes to `app`."""
    admission = context.admission

    def operator() -> str:
        return operator_id_from_header(request.headers.get(OPERATOR_HEADER))

    def audited(operator_id: str, action: str, params: dict[str, Any]) -> None:
        context.logger.info(
            "admin: admission operator override",
            extra={
                "event": "admission_override",
                "operator": operator_id,
                "action": action,
                "params": params,
            },
        )

    @app.errorhandler(OperatorIdError)
    async def bad_operator(error: OperatorIdError) -> ResponseReturnValue:
        return error_response(400, str(error))

    @app.errorhandler(TLogWriteError)
    async def tlog_failed(error: TLogWriteError) -> ResponseReturnValue:
        context.logger.error("admission: operator override not recorded", exc_info=error)
        return error_response(500, "tlog write failed")

    @app.get("/admission/status", endpoint="admission_status")
    async def status() -> ResponseReturnValue:
        return json_response(admission_status_json(admission.status()))

    @app.get("/admission/queue", endpoint="admission_queue")
    async def queue() -> ResponseReturnValue:
        return json_response([queue_item_json(item) for item in admission.queue_view(context.clock())])

    @app.get("/admission/consumer/<consumer_hex>", endpoint="admission_consumer")
    async def consumer(consumer_hex: str) -> ResponseReturnValue:
        consumer_id = parse_identity_hex(consumer_hex)
        if consumer_id is None:
            return error_response(400, "bad id")
        view = admission.consumer_view(consumer_id, context.clock())
        if view is None:
            return error_response(404, "not found")
        return json_response(consumer_view_json(view))

    @app.get("/admission/seeder/<seeder_hex>", endpoint="admission_seeder")
    async def seeder(seeder_hex: str) -> ResponseReturnValue:
        seeder_id = parse_identity_hex(seeder_hex)
        if seeder_id is None:
            return error_response(400, "bad id")
        state = admission.seeder_view(seeder_id)
        if state is None:
            return error_response(404, "not found")
        return json_response(seeder_state_json(state))

    @app.post("/admission/queue/drain", endpoint="admission_queue_drain")
    async def drain() -> ResponseReturnValue:
        operator_id = operator()
        body = cast(bytes, await request.get_data())  # as_text=False (the default): bytes
        setattr(g, BODY_CONSUMED, True)
        try:
            count = _drain_count(body)
        except BadBodyError as error:
            return error_response(400, str(error))
        drained = await admission.drain(count, operator_id=operator_id)
        audited(operator_id, "queue/drain", {"n": count})
        return json_response({"drained": [consumer_id.hex() for consumer_id in drained]})

    @app.post("/admission/queue/eject/<request_id>", endpoint="admission_queue_eject")
    async def eject(request_id: str) -> ResponseReturnValue:
        operator_id = operator()
        ejected = await admission.eject(request_id, operator_id=operator_id)
        audited(operator_id, "queue/eject", {"request_id": request_id})
        return json_response({"ejected": ejected})

    @app.post("/admission/snapshot", endpoint="admission_snapshot")
    async def snapshot() -> ResponseReturnValue:
        operator_id = operator()
        try:
            await admission.operator_snapshot(operator_id=operator_id)
        except SnapshotError as error:
            context.logger.error("admission: operator snapshot failed", exc_info=error)
            return error_response(500, f"snapshot emit failed: {error}")
        audited(operator_id, "snapshot", {})
        return json_response({"ok": True})

    @app.post("/admission/recompute/<consumer_hex>", endpoint="admission_recompute")
    async def recompute(consumer_hex: str) -> ResponseReturnValue:
        operator_id = operator()
        consumer_id = parse_identity_hex(consumer_hex)
        if consumer_id is None:
            return error_response(400, "bad consumer_id")
        found = await admission.recompute(consumer_id, operator_id=operator_id, as_written=consumer_hex)
        if not found:
            return error_response(404, "not found")
        audited(operator_id, "recompute", {"consumer_id": consumer_hex})
        return json_response({"queued": True})

    @app.get("/admission/peers/blocklist", endpoint="admission_blocklist")
    async def blocklist() -> ResponseReturnValue:
        return json_response(admission.blocklist())

    async def change_blocklist(peer_hex: str, change: _BlocklistChange, action: str) -> ResponseReturnValue:
        operator_id = operator()
        peer_id = parse_identity_hex(peer_hex)
        if peer_id is None:
            return error_response(400, "bad peer_id")
        await change(peer_id, operator_id=operator_id, as_written=peer_hex)
        audited(operator_id, action, {"peer_id": peer_hex})
        return json_response({"ok": True})

    @app.post("/admission/peers/blocklist/<peer_hex>", endpoint="admission_blocklist_add")
    async def blocklist_add(peer_hex: str) -> ResponseReturnValue:
        return await change_blocklist(peer_hex, admission.blocklist_add, "peers/blocklist/add")

    @app.delete("/admission/peers/blocklist/<peer_hex>", endpoint="admission_blocklist_remove")
    async def blocklist_remove(peer_hex: str) -> ResponseReturnValue:
        return await change_blocklist(peer_hex, admission.blocklist_remove, "peers/blocklist/remove")
