"""The admin app served by Hypercorn on loopback, spoken to by a real HTTP client: auth header bytes, HEAD,
and POST /maintenance starting a graceful shutdown that still delivers its 202."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import httpx
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve

from tests.admin.conftest import AUTH, TOKEN
from tests.admin.stack import admin_stack
from tracker.admin import create_admin_app


async def test_served_app_over_loopback(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        shutdown_requested = trio.Event()
        app = create_admin_app(
            ledger=stack.ledger,
            registry=stack.registry,
            admission=stack.admission,
            request_shutdown=shutdown_requested.set,
            admin_token=TOKEN + "-é",
            clock=lambda: 1778328000.0,
            logger=logging.getLogger("tests.admin"),
        )
        config = HypercornConfig()
        config.bind = ["127.0.0.1:0"]
        config.graceful_timeout = 5
        with trio.fail_after(20):
            async with trio.open_nursery() as nursery:
                binds = await nursery.start(
                    partial(serve, app, config, shutdown_trigger=shutdown_requested.wait)  # type: ignore[arg-type]
                )
                base_url = binds[0]
                assert base_url.startswith("http://127.0.0.1:")
                token_header = {"Authorization": f"Bearer {TOKEN}-é".encode()}
                async with httpx.AsyncClient(base_url=base_url) as client:
                    health = await client.get("/health")
                    assert health.status_code == 200
                    assert health.json()["status"] == "ok"
                    head = await client.head("/health")
                    assert head.status_code == 200 and head.content == b""
                    assert (await client.get("/admission/status", headers=AUTH)).status_code == 401
                    status = await client.get("/admission/status", headers=token_header)
                    assert status.status_code == 200
                    assert status.json()["thresholds"] == {"admit": 0.85, "reject": 1.5}
                    missing = await client.get("/nope")
                    assert missing.status_code == 404
                    assert missing.headers["content-type"] == "application/json"

                    # Bodies the app never reads (auth failures, routes without a body) must not wedge the
                    # keep-alive connection for the next request.
                    for _ in range(10):
                        unread = await client.request("GET", "/health", content=b"y" * 60000)
                        assert unread.status_code == 200
                        assert unread.headers["connection"] == "close"
                        refused = await client.post("/admission/queue/drain", content=b"{}" * 30000)
                        assert refused.status_code == 401
                        assert (await client.get("/health")).status_code == 200
                    drained = await client.post("/admission/queue/drain", headers=token_header, json={"n": 0})
                    assert drained.status_code == 200
                    assert drained.headers.get("connection") != "close"

                    maintenance = await client.post("/maintenance", headers=token_header)
                    assert maintenance.status_code == 202
                    assert maintenance.json() == {"draining": True}
                # serve() returns once the graceful shutdown triggered by /maintenance has finished
            assert shutdown_requested.is_set()
