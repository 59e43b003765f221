"""The admin access log: exactly one line per request, whoever answers it, with method, path, status,
duration and operator; 401s at warn; the bearer token never appears in any log line."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.admin.conftest import AUTH, TOKEN, LogCapture, hex_id
from tests.admin.stack import admin_stack
from tracker.logging import LOG_FORMATS, StructuredFormatter

ACCESS = "admin: request"

# (method, path, headers, body, expected status)
REQUESTS: list[tuple[str, str, dict[str, str], bytes | None, int]] = [
    ("GET", "/health", {}, None, 200),
    ("GET", "/openapi.json", {}, None, 200),
    ("GET", "/stats", AUTH, None, 200),
    ("GET", "/admission/status", {}, None, 401),
    ("GET", "/admission/status", {"Authorization": f"Bearer {TOKEN}x"}, None, 401),
    ("GET", "/admission/status", {"Authorization": f"bearer {TOKEN}"}, None, 401),
    ("GET", "/nope", AUTH, None, 404),
    ("PUT", "/health", AUTH, None, 405),
    ("GET", "/identity/zz", AUTH, None, 400),
    ("GET", f"/admission/consumer/{hex_id(0x11)}", AUTH, None, 404),
    ("POST", "/admission/queue/drain", {**AUTH, "X-Operator-Id": "ops-anna"}, b'{"n": 2}', 200),
    ("POST", "/admission/queue/drain", {**AUTH, "X-Operator-Id": "  "}, b"not json", 400),
    ("POST", "/admission/queue/drain", {**AUTH, "X-Operator-Id": "x" * 300}, b'{"n": 1}', 400),
    ("POST", "/admission/snapshot", {**AUTH, "X-Operator-Id": "ops-bob"}, None, 200),
    ("POST", "/admission/queue/drain", AUTH, b"{" * 70_000, 413),
    ("POST", "/maintenance", AUTH, None, 202),
]


def _access_records(capture: LogCapture) -> list[logging.LogRecord]:
    return [record for record in capture.records if record.getMessage() == ACCESS]


async def test_one_access_line_per_request_with_its_fields(tmp_path: Path, log_capture: LogCapture) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        for method, path, headers, body, expected in REQUESTS:
            before = len(_access_records(log_capture))
            response = await client.open(path, method=method, headers=headers, data=body)
            assert response.status_code == expected, (method, path)
            records = _access_records(log_capture)[before:]
            assert len(records) == 1, (method, path, [r.__dict__ for r in records])
            (record,) = records
            fields = record.__dict__
            assert (fields["method"], fields["path"], fields["status"]) == (method, path, expected)
            assert isinstance(fields["duration_ms"], float) and fields["duration_ms"] >= 0
            assert record.levelno == (logging.WARNING if expected == 401 else logging.INFO), (method, path)
            operator = headers.get("X-Operator-Id", "").strip()
            assert fields.get("operator") == (operator[:256] or None), (method, path)


async def test_no_log_line_contains_the_token(tmp_path: Path, log_capture: LogCapture) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        for method, path, headers, body, _ in REQUESTS:
            await client.open(path, method=method, headers=headers, data=body)
            # The token in places a careless logger would pick up: query, operator header, path.
            await client.open(f"{path}?token={TOKEN}", method=method, headers=headers, data=body)
    assert len(_access_records(log_capture)) == 2 * len(REQUESTS)
    for log_format in LOG_FORMATS:
        formatter = StructuredFormatter(log_format)
        for record in log_capture.records:
            assert TOKEN not in formatter.format(record), record.__dict__
