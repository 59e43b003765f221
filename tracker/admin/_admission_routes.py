"""The 11 admission admin routes (admission.md §10); every mutation writes an OPERATOR_OVERRIDE record."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from quart import g, request
from quart_trio import QuartTrio

from tracker.admin._admission_bridge import AdmissionBridge, SnapshotFailedError, TlogWriteError
from tracker.admin._auth import OPERATOR_HEADER, OperatorIdError, operator_id_from_header
from tracker.admin._responses import (
    BODY_CONSUMED,
    encode_json,
    error_response,
    json_response,
    parse_identity_hex,
)

if TYPE_CHECKING:
    from tracker.admin._app import AdminContext

MAX_INT64 = (1 << 63) - 1


class BadBodyError(ValueError):
    """The request body is not the JSON object the route expects."""


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


def _params(value: dict[str, Any]) -> bytes:
    """Compact Go-style JSON for the override record's params."""
    return encode_json(value).rstrip("\n").encode("utf-8")


def register_admission_routes(app: QuartTrio, context: AdminContext) -> None:
    """Attach the /admission/* routes to `app`."""
    bridge = AdmissionBridge(context.admission, context.ledger)

    def operator() -> str:
        return operator_id_from_header(request.headers.get(OPERATOR_HEADER))

    async def override(operator_id: str, action: str, params: dict[str, Any]) -> None:
        now = context.clock()
        await bridge.record_override(operator_id, action, _params(params), int(now))
        context.logger.info(
            "admission operator override",
            extra={
                "event": "admission_override",
                "operator": operator_id,
                "action": action,
                "params": params,
            },
        )

    @app.errorhandler(OperatorIdError)
    async def bad_operator(error: OperatorIdError) -> object:
        return error_response(400, str(error))

    @app.errorhandler(TlogWriteError)
    async def tlog_failed(error: TlogWriteError) -> object:
        context.logger.error("admission: operator override not recorded", exc_info=error)
        return error_response(500, "tlog write failed")

    @app.get("/admission/status", endpoint="admission_status")
    async def status() -> object:
        return json_response(bridge.status())

    @app.get("/admission/queue", endpoint="admission_queue")
    async def queue() -> object:
        return json_response(bridge.queue_entries(context.clock()))

    @app.get("/admission/consumer/<consumer_hex>", endpoint="admission_consumer")
    async def consumer(consumer_hex: str) -> object:
        consumer_id = parse_identity_hex(consumer_hex)
        if consumer_id is None:
            return error_response(400, "bad id")
        view = bridge.consumer_score(consumer_id, context.clock())
        if view is None:
            return error_response(404, "not found")
        return json_response(view)

    @app.get("/admission/seeder/<seeder_hex>", endpoint="admission_seeder")
    async def seeder(seeder_hex: str) -> object:
        seeder_id = parse_identity_hex(seeder_hex)
        if seeder_id is None:
            return error_response(400, "bad id")
        view = bridge.seeder_state(seeder_id)
        if view is None:
            return error_response(404, "not found")
        return json_response(view)

    @app.post("/admission/queue/drain", endpoint="admission_queue_drain")
    async def drain() -> object:
        operator_id = operator()
        body = await request.get_data()
        setattr(g, BODY_CONSUMED, True)
        try:
            count = _drain_count(body)
        except BadBodyError as error:
            return error_response(400, str(error))
        drained = bridge.drain(count)
        await override(operator_id, "queue/drain", {"n": count})
        return json_response({"drained": [consumer_id.hex() for consumer_id in drained]})

    @app.post("/admission/queue/eject/<request_id>", endpoint="admission_queue_eject")
    async def eject(request_id: str) -> object:
        operator_id = operator()
        ejected = bridge.eject(request_id)
        await override(operator_id, "queue/eject", {"request_id": request_id})
        return json_response({"ejected": ejected})

    @app.post("/admission/snapshot", endpoint="admission_snapshot")
    async def snapshot() -> object:
        operator_id = operator()
        try:
            await bridge.snapshot_now()
        except SnapshotFailedError as error:
            context.logger.error("admission: operator snapshot failed", exc_info=error)
            return error_response(500, f"snapshot emit failed: {error}")
        await override(operator_id, "snapshot", {})
        return json_response({"ok": True})

    @app.post("/admission/recompute/<consumer_hex>", endpoint="admission_recompute")
    async def recompute(consumer_hex: str) -> object:
        operator_id = operator()
        consumer_id = parse_identity_hex(consumer_hex)
        if consumer_id is None:
            return error_response(400, "bad consumer_id")
        found = await bridge.recompute(consumer_id)
        if not found:
            return error_response(404, "not found")
        await override(operator_id, "recompute", {"consumer_id": consumer_hex})
        return json_response({"queued": True})

    @app.get("/admission/peers/blocklist", endpoint="admission_blocklist")
    async def blocklist() -> object:
        return json_response(bridge.blocklist())

    async def change_blocklist(peer_hex: str, change: Callable[[bytes], object], action: str) -> object:
        operator_id = operator()
        peer_id = parse_identity_hex(peer_hex)
        if peer_id is None:
            return error_response(400, "bad peer_id")
        change(peer_id)
        await override(operator_id, action, {"peer_id": peer_hex})
        return json_response({"ok": True})

    @app.post("/admission/peers/blocklist/<peer_hex>", endpoint="admission_blocklist_add")
    async def blocklist_add(peer_hex: str) -> object:
        return await change_blocklist(peer_hex, bridge.blocklist_add, "peers/blocklist/add")

    @app.delete("/admission/peers/blocklist/<peer_hex>", endpoint="admission_blocklist_remove")
    async def blocklist_remove(peer_hex: str) -> object:
        return await change_blocklist(peer_hex, bridge.blocklist_remove, "peers/blocklist/remove")
