"""GET /dashboard (page and assets, public, no data) and the guarded /dashboard/api/* routes on the real
ledger, registry and admission."""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from pathlib import Path

from tests.admin.conftest import AUTH, FIXED_NOW, TOKEN
from tests.admin.stack import admin_stack, party
from tests.admin.test_admission_routes import queue_consumers
from tracker.admin import PUBLIC_ENDPOINTS, DashboardFeed
from tracker.admin._dashboard_history import DecisionTotals, PressureHistory
from tracker.admin._json import ledger_entry_json
from tracker.admission.core._supply import SupplySnapshot

ALICE = party("alice")
SEEDER = party("seeder")
PAGE_PATHS = ["/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css"]


async def test_page_and_assets_are_public_static_and_self_contained(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        bodies = {}
        for path, mimetype in zip(PAGE_PATHS, ["text/html", "text/javascript", "text/css"], strict=True):
            response = await client.get(path)  # no token
            assert response.status_code == 200, path
            assert response.mimetype == mimetype
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["Cache-Control"] == "no-store"
            bodies[path] = await response.get_data(as_text=True)
    assert {"dashboard", "dashboard_script", "dashboard_style"} <= PUBLIC_ENDPOINTS
    page = bodies["/dashboard"]
    assert TOKEN not in "".join(bodies.values())
    assert 'src="/dashboard/dashboard.js"' in page and 'href="/dashboard/dashboard.css"' in page
    # Nothing loaded from elsewhere (no CDN), no inline script the CSP would block.
    for body in bodies.values():
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", body)
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/dashboard/dashboard.js" defer>']
    # The token only ever goes to sessionStorage and the Authorization header.
    script = bodies["/dashboard/dashboard.js"]
    assert "sessionStorage" in script and "localStorage.setItem(TOKEN_KEY" not in script
    assert "Authorization" in script and "document.cookie" not in script


async def test_api_routes_are_guarded(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        for path in ["/dashboard/api/summary", "/dashboard/api/ledger"]:
            assert (await client.get(path)).status_code == 401
            wrong = {"Authorization": "Bearer wrong"}
            assert (await client.get(path, headers=wrong)).status_code == 401
            assert (await client.get(path, headers=AUTH)).status_code == 200


async def test_summary_reports_admission_queue_supply_history_and_persistence(tmp_path: Path) -> None:
    now = [FIXED_NOW]
    feed = DashboardFeed(history=PressureHistory(), decision_totals=lambda: totals[0])
    totals = [DecisionTotals(admit=4, queue=0, reject=0)]
    async with admin_stack(tmp_path, clock=lambda: now[0], dashboard=feed) as stack:
        client = stack.app.test_client()
        empty = await (await client.get("/dashboard/api/summary", headers=AUTH)).get_json()
        assert empty["queue"] == {"depth": 0, "oldest_wait_s": None}
        assert empty["decisions_per_s"] is None
        assert empty["pressure_history"]["samples"] == []
        assert empty["ledger"] == {"tip_seq": None, "tip_hash": None}

        queue_consumers(stack, 1, 2)  # enqueued at FIXED_NOW, pressure 1.0
        stack.core.publish_supply(
            SupplySnapshot(
                computed_at=FIXED_NOW,
                total_headroom=12.5,
                per_model={"claude-sonnet-4-6": 10.0, "claude-haiku-4-5": 2.5},
                pressure=1.0,
            )
        )
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 1000)
        await stack.append_usage(ALICE, SEEDER, 7)
        feed.history.record(feed.sample(stack.admission, now[0]))
        now[0] += 5
        totals[0] = DecisionTotals(admit=14, queue=2, reject=5)
        feed.history.record(feed.sample(stack.admission, now[0]))
        now[0] += 2.5
        await stack.admission.flush()

        body = await (await client.get("/dashboard/api/summary", headers=AUTH)).get_json()
        status = await (await client.get("/admission/status", headers=AUTH)).get_json()
        tip = (await stack.ledger.tip()).seq
        tlog_size = os.stat(stack.config.admission.tlog_path).st_size
    assert body["admission"] == status
    assert body["admission"]["pressure"] == 1.0 and body["admission"]["queue_depth"] == 2
    assert body["queue"] == {"depth": 2, "oldest_wait_s": 7.5}
    assert body["supply_per_model"] == {"claude-haiku-4-5": 2.5, "claude-sonnet-4-6": 10.0}
    assert body["decisions_total"] == {"admit": 14, "queue": 2, "reject": 5}
    assert body["decisions_per_s"] == {"admit": 2.0, "queue": 0.4, "reject": 1.0}
    samples = body["pressure_history"]["samples"]
    assert [(s["t"], s["pressure"], s["queue_depth"]) for s in samples] == [
        (FIXED_NOW, 1.0, 2),
        (FIXED_NOW + 5, 1.0, 2),
    ]
    assert body["pressure_history"]["window_s"] == 900
    assert body["ledger"]["tip_seq"] == tip == 2
    persistence = body["persistence"]
    assert persistence["degraded"] is False and persistence["behind"] is False
    assert persistence["tlog_bytes"] == tlog_size > 0
    assert persistence["last_snapshot_at"] is None and persistence["last_snapshot_age_s"] is None


async def test_summary_snapshot_age_and_fsync_latency_from_the_feed(tmp_path: Path) -> None:
    feed = DashboardFeed(fsync_totals=lambda: (4.0, 0.01), last_snapshot_at=lambda: FIXED_NOW - 30)
    async with admin_stack(tmp_path, dashboard=feed) as stack:
        body = await (await stack.app.test_client().get("/dashboard/api/summary", headers=AUTH)).get_json()
    persistence = body["persistence"]
    assert persistence["last_snapshot_at"] == FIXED_NOW - 30
    assert persistence["last_snapshot_age_s"] == 30
    assert persistence["fsyncs"] == 4 and persistence["fsync_mean_ms"] == 2.5


async def test_ledger_pages_newest_first(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 10_000)
        for index in range(24):
            await stack.append_usage(ALICE, SEEDER, 100 + index, request_byte=index)
        client = stack.app.test_client()
        first = await (await client.get("/dashboard/api/ledger", headers=AUTH)).get_json()
        assert [entry["seq"] for entry in first["entries"]] == list(range(25, 5, -1))
        assert first["tip_seq"] == 25 and first["next_before"] == 6
        second = await (await client.get("/dashboard/api/ledger?before=6", headers=AUTH)).get_json()
        assert [entry["seq"] for entry in second["entries"]] == [5, 4, 3, 2, 1]
        assert second["next_before"] is None
        small = await (await client.get("/dashboard/api/ledger?limit=3&before=25", headers=AUTH)).get_json()
        assert [entry["seq"] for entry in small["entries"]] == [24, 23, 22]
        beyond = await (await client.get("/dashboard/api/ledger?before=1000", headers=AUTH)).get_json()
        assert beyond["entries"][0]["seq"] == 25
        tip = await stack.ledger.tip()
    entry = first["entries"][0]
    assert entry == {
        "seq": 25,
        "hash": tip.hash.hex(),
        "kind": "USAGE",
        "cost_credits": 123,
        "consumer_id": ALICE.identity_id.hex(),
        "seeder_id": SEEDER.identity_id.hex(),
        "recipient_id": None,
        "model": "claude-sonnet-4-6",
        "timestamp": int(FIXED_NOW),
        "countersigned": False,  # consumer_sig_missing: only the seeder signed
        "request_id": bytes([23]).hex() * 16,
    }


async def test_ledger_empty_chain_and_bad_queries(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        empty = await (await client.get("/dashboard/api/ledger", headers=AUTH)).get_json()
        assert empty == {"entries": [], "next_before": None, "tip_hash": None, "tip_seq": None}
        for query in [
            "limit=0",
            "limit=101",
            "limit=abc",
            "before=0",
            "before=-1",
            "limit=1e3",
            "before=" + "9" * 30,
            "limit=%C2%B2",
            "limit=%EF%BC%95",
        ]:
            response = await client.get(f"/dashboard/api/ledger?{query}", headers=AUTH)
            assert response.status_code == 400, query
            assert "expected an integer" in (await response.get_json())["error"]


async def test_ledger_entry_kinds_and_parties(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 500)
        body = await (await stack.app.test_client().get("/dashboard/api/ledger", headers=AUTH)).get_json()
    (grant,) = body["entries"]
    assert grant["kind"] == "STARTER_GRANT" and grant["cost_credits"] == 500
    assert grant["consumer_id"] == ALICE.identity_id.hex()
    assert grant["seeder_id"] is None and grant["model"] is None
    assert grant["countersigned"] is None  # only USAGE entries have a consumer countersignature


def test_every_page_file_is_package_data() -> None:
    """The wheel and sdist ship the page: pyproject's package-data globs cover every file of the folder."""
    root = Path(__file__).resolve().parents[2]
    config = tomllib.loads((root / "pyproject.toml").read_text())
    globs = config["tool"]["setuptools"]["package-data"]["tracker.admin"]
    folder = root / "tracker" / "admin" / "dashboard"
    files = sorted(path.relative_to(folder.parent).as_posix() for path in folder.iterdir())
    assert files == ["dashboard/dashboard.css", "dashboard/dashboard.js", "dashboard/index.html"]
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in globs), name


async def test_queue_from_the_head_with_request_ids(tmp_path: Path) -> None:
    now = [FIXED_NOW]
    async with admin_stack(tmp_path, clock=lambda: now[0]) as stack:
        request_ids = queue_consumers(stack, 1, 2, 3)
        now[0] += 4
        client = stack.app.test_client()
        assert (await client.get("/dashboard/api/queue")).status_code == 401
        body = await (await client.get("/dashboard/api/queue", headers=AUTH)).get_json()
        plain = await (await client.get("/admission/queue", headers=AUTH)).get_json()
        page = await (await client.get("/dashboard/api/queue?limit=2&offset=1", headers=AUTH)).get_json()
        for query in ["limit=0", "limit=501", "offset=-1", "offset=x"]:
            assert (await client.get(f"/dashboard/api/queue?{query}", headers=AUTH)).status_code == 400
        head = (await stack.admission.drain(1, operator_id="test"))[0]
    assert body["total"] == 3 and body["offset"] == 0
    assert {item["request_id"] for item in body["items"]} == {request_id.hex() for request_id in request_ids}
    priorities = [item["effective_priority"] for item in body["items"]]
    assert priorities == sorted(priorities, reverse=True)
    assert body["items"][0]["consumer_id"] == head.hex()  # the head is what a drain pops first
    assert {item["wait_s"] for item in body["items"]} == {4.0}
    # Same entries and figures as Go's GET /admission/queue, which has no request ids.
    strip = [{k: v for k, v in item.items() if k not in {"request_id", "wait_s"}} for item in body["items"]]
    assert sorted(strip, key=lambda item: item["consumer_id"]) == sorted(
        plain, key=lambda i: i["consumer_id"]
    )
    assert page["total"] == 3 and page["items"] == body["items"][1:3]


async def test_a_countersignature_recorded_after_commit_counts_as_countersigned(tmp_path: Path) -> None:
    """The broker records the consumer's countersignature in the settlement store, not in the committed entry;
    the ledger route asks the broker for those seqs (end to end: test_dashboard_broker_browser.py)."""
    async with admin_stack(tmp_path) as stack:
        await stack.ledger.issue_starter_grant(ALICE.identity_id, 10_000)
        await stack.append_usage(ALICE, SEEDER, 100)
        grant, usage = await stack.ledger.entries_since(0, 2)
    assert ledger_entry_json(usage)["countersigned"] is False
    assert ledger_entry_json(usage, {usage.seq})["countersigned"] is True
    assert ledger_entry_json(grant, {grant.seq})["countersigned"] is None


async def test_api_routes_refuse_unknown_and_repeated_query_parameters(tmp_path: Path) -> None:
    async with admin_stack(tmp_path) as stack:
        client = stack.app.test_client()
        cases = {
            "/dashboard/api/summary?limit=5": "limit: unknown query parameter (this route takes none)",
            "/dashboard/api/queue?limt=5": "limt: unknown query parameter (this route takes limit, offset)",
            "/dashboard/api/queue?limit=5&before=3": (
                "before: unknown query parameter (this route takes limit, offset)"
            ),
            "/dashboard/api/ledger?offset=1": (
                "offset: unknown query parameter (this route takes limit, before)"
            ),
            "/dashboard/api/ledger?limit=5&limit=6": "limit: given more than once",
        }
        for url, message in cases.items():
            response = await client.get(url, headers=AUTH)
            assert response.status_code == 400, url
            assert response.mimetype == "application/json"
            assert await response.get_json() == {"error": message}, url
        # The parameters each route documents still work, and the page's own calls are accepted.
        for url in [
            "/dashboard/api/summary",
            "/dashboard/api/queue?limit=100&offset=0",
            "/dashboard/api/ledger?limit=20&before=5",
        ]:
            assert (await client.get(url, headers=AUTH)).status_code == 200, url
