"""The admin app factory: Quart-Trio app, bearer guard, JSON error handling, route registration."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from quart import Response, g, request
from quart.typing import ResponseReturnValue
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

import tracker
from tracker.admin._access_log import AccessLogMiddleware
from tracker.admin._admission_routes import register_admission_routes
from tracker.admin._auth import BearerGuard, unauthorized_response
from tracker.admin._broker_routes import register_broker_routes
from tracker.admin._context import AdminContext
from tracker.admin._core_routes import register_core_routes
from tracker.admin._dashboard_feed import DashboardFeed
from tracker.admin._dashboard_routes import DASHBOARD_ENDPOINTS, register_dashboard_routes
from tracker.admin._openapi import build_openapi_document
from tracker.admin._protocols import ConnectedPeerView, LedgerView, RegistryView
from tracker.admin._responses import BODY_CONSUMED, error_response, json_response, request_has_body
from tracker.admin._token import ADMIN_TOKEN_ENV
from tracker.admission import AdmissionService
from tracker.broker import BrokerService

MAX_REQUEST_BODY_BYTES = 64 * 1024

# Endpoints reachable without a token; every other route is guarded.
PUBLIC_ENDPOINTS = frozenset({"health", "openapi"}) | DASHBOARD_ENDPOINTS


def _no_connections() -> int:
    return 0


async def _no_peers() -> Sequence[ConnectedPeerView]:
    return ()


def create_admin_app(
    *,
    ledger: LedgerView,
    registry: RegistryView,
    admission: AdmissionService,
    request_shutdown: Callable[[], None],
    admin_token: str | None,
    clock: Callable[[], float],
    logger: logging.Logger,
    merkle_root_minutes: int | None = None,
    connection_count: Callable[[], int] | None = None,
    connected_peers: Callable[[], Awaitable[Sequence[ConnectedPeerView]]] | None = None,
    version: str = tracker.__version__,
    broker: BrokerService | None = None,
    dashboard: DashboardFeed | None = None,
) -> QuartTrio:
    """Build the admin HTTP app (config-cli-admin-run.md §5, admission.md §10, plus GET /openapi.json).

    `admin_token` is the value of TOKEN_BAY_ADMIN_TOKEN; None or "" rejects every guarded route with 401
    (a warning is logged here, once). `request_shutdown` must not block: it is called from the
    POST /maintenance handler and should start a graceful shutdown that lets the 202 response drain.
    `clock` returns unix seconds. `merkle_root_minutes` is reported by GET /stats (config
    ledger.merkle_root_interval_minutes); `connection_count` and `connected_peers` (GET /peers) come from the
    plugin RPC listener (0 and none without one). `dashboard` feeds the /dashboard routes (pressure history,
    decision and fsync totals); without it they show an empty history and zero totals.
    """
    context = AdminContext(
        ledger=ledger,
        registry=registry,
        admission=admission,
        request_shutdown=request_shutdown,
        clock=clock,
        logger=logger,
        merkle_root_minutes=merkle_root_minutes,
        connection_count=connection_count or _no_connections,
        connected_peers=connected_peers or _no_peers,
        version=version,
    )
    guard = BearerGuard(admin_token)
    if not guard.configured:
        logger.warning(
            "admin: token unset, all admin requests will be rejected", extra={"env": ADMIN_TOKEN_ENV}
        )

    app = QuartTrio(__name__, static_folder=None)
    # Quart's documented way to wrap the ASGI callable; every request, whoever answers it, passes through.
    app.asgi_app = AccessLogMiddleware(app.asgi_app, logger)  # type: ignore[method-assign]
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BODY_BYTES
    app.config["BODY_TIMEOUT"] = 10
    app.config["RESPONSE_TIMEOUT"] = 30

    @app.before_request
    async def require_bearer_token() -> ResponseReturnValue | None:
        # Routing precedes auth (as in Go): unknown paths and wrong methods fail as 404/405 untouched.
        if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if guard.allows(request.headers.get("Authorization")):
            return None
        return unauthorized_response()

    @app.after_request
    async def close_if_body_unread(response: Response) -> Response:
        # Hypercorn stops reading a request body the app never consumes and then waits for its end before
        # the next request on the connection: a body left unread (auth failures, routes without a body)
        # must end the connection, or the client's next request on it hangs.
        if request_has_body() and not g.get(BODY_CONSUMED, False):
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> ResponseReturnValue:
        status = error.code or 500
        headers = {}
        if status == 405:
            allowed = [value for name, value in error.get_headers() if name.lower() == "allow"]
            if allowed:
                headers["Allow"] = allowed[0]
        message = (error.name or "error").lower()
        return error_response(status, message, headers=headers)

    @app.errorhandler(Exception)
    async def unexpected_error(error: Exception) -> ResponseReturnValue:
        logger.error(
            "admin: request failed",
            exc_info=error,
            extra={"method": request.method, "path": request.path},
        )
        return error_response(500, "internal error")

    register_core_routes(app, context)
    register_admission_routes(app, context)
    register_broker_routes(app, context, broker)
    register_dashboard_routes(
        app,
        context,
        dashboard if dashboard is not None else DashboardFeed(),
        countersigned=broker.countersigned if broker is not None else None,
    )

    openapi_document = build_openapi_document(version)

    @app.get("/openapi.json", endpoint="openapi")
    async def openapi() -> ResponseReturnValue:
        return json_response(openapi_document)

    return app
