"""Operator admin HTTP API (Quart-Trio): health, stats, identity, maintenance, admission routes, OpenAPI."""

from tracker.admin._app import ADMIN_TOKEN_ENV, PUBLIC_ENDPOINTS, admin_token_from_env, create_admin_app
from tracker.admin._auth import DEFAULT_OPERATOR, OPERATOR_HEADER
from tracker.admin._protocols import LedgerView, RegistryView

__all__ = [
    "ADMIN_TOKEN_ENV",
    "DEFAULT_OPERATOR",
    "OPERATOR_HEADER",
    "PUBLIC_ENDPOINTS",
    "LedgerView",
    "RegistryView",
    "admin_token_from_env",
    "create_admin_app",
]
