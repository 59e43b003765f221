"""The operator dashboard: GET /dashboard and its two assets (public: static files holding no data), and the
guarded JSON the page polls: GET /dashboard/api/summary, /dashboard/api/queue and /dashboard/api/ledger.

The page (tracker/admin/dashboard/) asks for the admin token, keeps it in the tab's sessionStorage and sends
it as the Authorization header of its own fetch calls; every number it shows comes from a guarded route.

The JSON routes take only the query parameters they document, each at most once: anything else is a 400
naming the parameter, never silently ignored (a misspelt `limt=5` would otherwise answer the default page).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from importlib import resources
from typing import Any

import trio
from quart import Response, request
from quart.typing import ResponseReturnValue
from quart_trio import QuartTrio

from tracker.admin._context import AdminContext
from tracker.admin._dashboard_feed import DashboardFeed
from tracker.admin._json import admission_status_json, ledger_entry_json, tip_fields
from tracker.admin._responses import error_response, json_response
from tracker.ledger import EntryKind

DASHBOARD_ENDPOINTS = frozenset({"dashboard", "dashboard_script", "dashboard_style"})
"""The public dashboard endpoints (the page and its assets; no data)."""

LEDGER_PAGE_DEFAULT = 20
LEDGER_PAGE_MAX = 100
QUEUE_PAGE_DEFAULT = 100
QUEUE_PAGE_MAX = 500

# The page loads only its own script and style and talks only to this origin.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

_ASSETS = {
    "dashboard": ("index.html", "text/html; charset=utf-8"),
    "dashboard_script": ("dashboard.js", "text/javascript; charset=utf-8"),
    "dashboard_style": ("dashboard.css", "text/css; charset=utf-8"),
}


def _load_assets() -> dict[str, tuple[bytes, str]]:
    """The page files, read once when the app is built (package data of tracker.admin.dashboard)."""
    folder = resources.files("tracker.admin") / "dashboard"
    return {
        endpoint: ((folder / name).read_bytes(), content_type)
        for endpoint, (name, content_type) in _ASSETS.items()
    }


class QueryError(ValueError):
    """A query parameter is not what the route accepts."""


def _check_query_names(accepted: Sequence[str]) -> None:
    """Raise QueryError naming the first query parameter the route does not take, or one given twice."""
    seen: set[str] = set()
    for name, _ in request.args.items(multi=True):
        if name not in accepted:
            takes = f"this route takes {', '.join(accepted)}" if accepted else "this route takes none"
            raise QueryError(f"{name}: unknown query parameter ({takes})")
        if name in seen:
            raise QueryError(f"{name}: given more than once")
        seen.add(name)


def _int_query(name: str, default: int | None, low: int, high: int) -> int | None:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise QueryError(f"{name}: expected an integer in [{low}, {high}]")
    value = int(text)
    if not low <= value <= high:
        raise QueryError(f"{name}: expected an integer in [{low}, {high}]")
    return value


def _file_size(path: str) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _rounded(value: float | None, digits: int = 6) -> float | None:
    return None if value is None else round(value, digits)


def register_dashboard_routes(
    app: QuartTrio,
    context: AdminContext,
    feed: DashboardFeed,
    countersigned: Callable[[Sequence[int]], Awaitable[set[int]]] | None = None,
) -> None:
    """Attach /dashboard, its assets and the /dashboard/api/* routes to `app`. `countersigned` names the
    USAGE seqs whose consumer countersignature the broker recorded (None without a broker)."""
    assets = _load_assets()
    admission = context.admission
    history = feed.history

    def asset(endpoint: str) -> Response:
        body, content_type = assets[endpoint]
        return Response(body, status=200, content_type=content_type, headers=_PAGE_HEADERS)

    @app.get("/dashboard", endpoint="dashboard")
    async def dashboard() -> ResponseReturnValue:
        return asset("dashboard")

    @app.get("/dashboard/dashboard.js", endpoint="dashboard_script")
    async def dashboard_script() -> ResponseReturnValue:
        return asset("dashboard_script")

    @app.get("/dashboard/dashboard.css", endpoint="dashboard_style")
    async def dashboard_style() -> ResponseReturnValue:
        return asset("dashboard_style")

    @app.get("/dashboard/api/summary", endpoint="dashboard_summary")
    async def summary() -> ResponseReturnValue:
        try:
            _check_query_names(())
        except QueryError as error:
            return error_response(400, str(error))
        now = context.clock()
        status = admission.status()
        queue = admission.queue_view(now)
        oldest = min((item.enqueued_at for item in queue), default=None)
        try:
            tip = await context.ledger.tip()
        except Exception as error:
            context.logger.error("admin: ledger tip failed", exc_info=error)
            return error_response(500, f"ledger tip: {error}")
        tip_seq, tip_hash = tip_fields(tip)
        tlog_bytes = (
            await trio.to_thread.run_sync(_file_size, admission.tlog_path) if admission.tlog_path else None
        )
        fsync_count, fsync_seconds = feed.fsync_totals()
        last_snapshot_at = feed.last_snapshot_at()
        recent_fsync = history.recent_fsync_mean_s(now)
        body: dict[str, Any] = {
            "time": now,
            "admission": admission_status_json(status),
            "queue": {
                "depth": status.queue_depth,
                "oldest_wait_s": None if oldest is None else max(0.0, round(now - oldest, 3)),
            },
            "supply_per_model": admission.supply_per_model(),
            "decisions_total": feed.decision_totals().as_dict(),
            "decisions_per_s": history.decision_rates(),
            "pressure_history": {
                "window_s": history.window_s,
                "period_s": history.period_s,
                "samples": [
                    {"t": sample.at, "pressure": sample.pressure, "queue_depth": sample.queue_depth}
                    for sample in history.samples(now)
                ],
            },
            "ledger": {"tip_seq": tip_seq, "tip_hash": tip_hash},
            "persistence": {
                "degraded": bool(admission.degraded_mode),
                "behind": admission.behind,
                "last_snapshot_at": last_snapshot_at or None,
                "last_snapshot_age_s": round(max(0.0, now - last_snapshot_at), 3)
                if last_snapshot_at
                else None,
                "tlog_bytes": tlog_bytes,
                "fsyncs": int(fsync_count),
                "fsync_mean_ms": _rounded(fsync_seconds / fsync_count * 1000, 3) if fsync_count else None,
                "fsync_mean_ms_recent": _rounded(None if recent_fsync is None else recent_fsync * 1000, 3),
            },
        }
        return json_response(body)

    @app.get("/dashboard/api/queue", endpoint="dashboard_queue")
    async def queue_entries() -> ResponseReturnValue:
        # GET /admission/queue keeps Go's shape (no request ids); the page needs them to eject an entry.
        try:
            _check_query_names(("limit", "offset"))
            limit = _int_query("limit", QUEUE_PAGE_DEFAULT, 1, QUEUE_PAGE_MAX) or QUEUE_PAGE_DEFAULT
            offset = _int_query("offset", 0, 0, (1 << 31) - 1) or 0
        except QueryError as error:
            return error_response(400, str(error))
        now = context.clock()
        items = sorted(
            admission.queue_view(now), key=lambda item: (-item.effective_priority, item.enqueued_at)
        )
        return json_response(
            {
                "total": len(items),
                "offset": offset,
                "items": [
                    {
                        "request_id": item.request_id.hex(),
                        "consumer_id": item.consumer_id.hex(),
                        "effective_priority": item.effective_priority,
                        "score": item.score,
                        "enqueued_at": item.enqueued_at,
                        "wait_s": max(0.0, round(now - item.enqueued_at, 3)),
                    }
                    for item in items[offset : offset + limit]
                ],
            }
        )

    @app.get("/dashboard/api/ledger", endpoint="dashboard_ledger")
    async def ledger_entries() -> ResponseReturnValue:
        try:
            _check_query_names(("limit", "before"))
            limit = _int_query("limit", LEDGER_PAGE_DEFAULT, 1, LEDGER_PAGE_MAX) or LEDGER_PAGE_DEFAULT
            before = _int_query("before", None, 1, (1 << 63) - 1)
        except QueryError as error:
            return error_response(400, str(error))
        try:
            tip = await context.ledger.tip()
            tip_seq, tip_hash = tip_fields(tip)
            end = min(before - 1, tip_seq or 0) if before is not None else (tip_seq or 0)
            start = max(1, end - limit + 1)
            page = await context.ledger.entries_since(start - 1, end - start + 1) if end >= 1 else []
            usage = [c.seq for c in page if c.seq <= end and int(c.body.kind) == EntryKind.USAGE]
            settled = await countersigned(usage) if countersigned is not None and usage else set()
        except Exception as error:
            context.logger.error("admin: ledger read failed", exc_info=error)
            return error_response(500, f"ledger read: {error}")
        entries = [ledger_entry_json(committed, settled) for committed in page if committed.seq <= end]
        entries.reverse()
        return json_response(
            {
                "tip_seq": tip_seq,
                "tip_hash": tip_hash,
                "entries": entries,
                "next_before": start if start > 1 and entries else None,
            }
        )
