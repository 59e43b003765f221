"""Bearer-token guard for the admin API and the operator id used in audit records."""

from __future__ import annotations

import hmac

from quart import Response

from tracker.admin._responses import error_response

BEARER_PREFIX = "Bearer "
REALM = "tracker-admin"
UNAUTHORIZED_HEADERS = {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
OPERATOR_HEADER = "X-Operator-Id"
DEFAULT_OPERATOR = "anonymous"
MAX_OPERATOR_ID_CHARS = 256


class BearerGuard:
    """Accepts ``Authorization: Bearer <token>`` iff a token is configured and matches in constant time.

    The prefix is case-sensitive with exactly one space, and the token is everything after it (no
    trimming), as in the Go tracker. An unset or empty configured token rejects every request.
    """

    def __init__(self, admin_token: str | None) -> None:
        self._expected = admin_token.encode("utf-8") if admin_token else None

    @property
    def configured(self) -> bool:
        return self._expected is not None

    def allows(self, authorization: str | None) -> bool:
        if self._expected is None or authorization is None:
            return False
        if not authorization.startswith(BEARER_PREFIX):
            return False
        # Header values arrive latin-1 decoded; recover the raw bytes the client sent.
        presented = authorization[len(BEARER_PREFIX) :].encode("latin-1", errors="replace")
        return hmac.compare_digest(presented, self._expected)


def unauthorized_response() -> Response:
    return error_response(401, "unauthorized", headers=UNAUTHORIZED_HEADERS)


class OperatorIdError(ValueError):
    """The X-Operator-Id header is unusable (too long)."""


def operator_id_from_header(value: str | None) -> str:
    """The operator id for audit records: the X-Operator-Id header, or ``anonymous`` when absent or blank."""
    if value is None or not value.strip():
        return DEFAULT_OPERATOR
    # Header values arrive latin-1 decoded; clients send UTF-8, so recover the text they meant.
    operator = value.encode("latin-1", errors="replace").decode("utf-8", errors="replace").strip()
    if len(operator) > MAX_OPERATOR_ID_CHARS:
        raise OperatorIdError(f"{OPERATOR_HEADER}: longer than {MAX_OPERATOR_ID_CHARS} characters")
    return operator
