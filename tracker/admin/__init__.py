"""Operator admin HTTP API (Quart-Trio): health, stats, identity, maintenance, admission routes, OpenAPI.

Layout:

    _app.py               `create_admin_app`: the app, bearer guard, error handling, route registration
    _access_log.py        one access-log line per request (ASGI middleware)
    _context.py           `AdminContext`, what every handler reads (a leaf: imports no other admin module)
    _core_routes.py       /health, /stats, /identity/<id>, /maintenance
    _admission_routes.py  /admission/*: one `AdmissionService` method per route
    _json.py              every JSON shape the API returns (Go field names and times)
    _responses.py         JSON responses and error bodies, Go hex decoding
    _auth.py              bearer token, operator id
    _token.py             where the token comes from: a token file, a systemd credential, the environment
    _protocols.py         what the app needs from the ledger and the registry (structural types)
    _openapi.py           the OpenAPI document
    _dashboard_routes.py  GET /dashboard (page + assets, public, no data) and the guarded /dashboard/api/*
    _dashboard_feed.py    `DashboardFeed` (history + metric readers) and its sampler ticker
    _dashboard_history.py the pressure/decision ring (pure)
    dashboard/            the page: index.html, dashboard.css, dashboard.js (package data, no build step)

Rules: route modules import `_context`, never `_app`; subsystems are reached through their faces
(`tracker.admission`, `tracker.ledger`, `tracker.registry`) only; no blocking I/O in a handler.
"""

from tracker.admin._app import PUBLIC_ENDPOINTS, create_admin_app
from tracker.admin._auth import DEFAULT_OPERATOR, OPERATOR_HEADER
from tracker.admin._dashboard_feed import DashboardFeed, run_dashboard_sampler
from tracker.admin._protocols import LedgerView, RegistryView
from tracker.admin._token import ADMIN_TOKEN_ENV, ADMIN_TOKEN_FILE_ENV, AdminTokenError, admin_token_from_env

__all__ = [
    "ADMIN_TOKEN_ENV",
    "ADMIN_TOKEN_FILE_ENV",
    "DEFAULT_OPERATOR",
    "OPERATOR_HEADER",
    "PUBLIC_ENDPOINTS",
    "AdminTokenError",
    "DashboardFeed",
    "LedgerView",
    "RegistryView",
    "admin_token_from_env",
    "create_admin_app",
    "run_dashboard_sampler",
]
