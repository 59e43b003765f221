"""The operator dashboard in headless Chromium (Debian's /usr/bin/chromium driven by Playwright; Playwright's
own browser downloads are never used) against a `trio-tracker run` subprocess: sign-in, the figures against
the JSON routes, an operator drain recorded under the operator id, no token leak, both screen sizes.

Screenshots are written under test-artifacts/ (git-ignored); their paths are printed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.admin.browser import ARTIFACTS, UI_TIMEOUT_MS, chromium, shown
from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import (
    ADMIN_TOKEN,
    TrackerProcess,
    auth_headers,
    make_data_dir,
    seed_ledger_only,
    start_tracker,
    use_ephemeral_ports,
)
from tracker.config import load as load_config

OPERATOR = "ops-ada"


@pytest.fixture(scope="module")
def tracker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TrackerProcess, Path]]:
    config_path = make_data_dir(tmp_path_factory.mktemp("dashboard") / "data")
    use_ephemeral_ports(config_path)
    seed_ledger_only(config_path, 0)  # starter grants and usage entries for the ledger table
    process = start_tracker(config_path)
    try:
        process.wait_ready()
        yield process, config_path
    finally:
        process.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture(scope="module")
def requested_urls() -> list[str]:
    return []


@pytest.fixture(scope="module")
def page(browser: BrowserContext, requested_urls: list[str]) -> Page:
    page = browser.new_page()
    page.on("request", lambda request: requested_urls.append(request.url))
    return page


def get_json(tracker: TrackerProcess, path: str) -> Any:
    response = httpx.get(tracker.admin_url + path, headers=auth_headers(), timeout=10)
    assert response.status_code == 200, (path, response.status_code, response.text)
    return response.json()


def field(page: Page, key: str) -> str:
    return page.locator(f'[data-k="{key}"]').first.inner_text()


def sign_in(page: Page, token: str) -> None:
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")


def wait_for_refresh(page: Page) -> None:
    """Wait until the page has completed one more poll after now."""
    before = page.locator("#refresh-state").inner_text()
    expect(page.locator("#refresh-state")).not_to_have_text(before, timeout=UI_TIMEOUT_MS)


def test_1_login_refuses_a_wrong_token_then_accepts_the_right_one(
    tracker: tuple[TrackerProcess, Path], page: Page
) -> None:
    process, _ = tracker
    page.goto(process.admin_url + "/dashboard")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("#board")).to_be_hidden()
    sign_in(page, "not-the-token")
    expect(page.locator("#login-error")).to_contain_text("401")
    expect(page.locator("#board")).to_be_hidden()
    assert page.evaluate("sessionStorage.length") == 0
    assert page.locator('[data-k="pressure"]').inner_text() == "–"  # nothing was rendered
    sign_in(page, ADMIN_TOKEN)
    expect(page.locator("#board")).to_be_visible()
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("#refresh-state")).to_contain_text("Updated")


def test_2_figures_equal_the_json_routes(tracker: tuple[TrackerProcess, Path], page: Page) -> None:
    process, _ = tracker
    wait_for_refresh(page)
    summary = get_json(process, "/dashboard/api/summary")
    status = get_json(process, "/admission/status")
    ledger = get_json(process, "/dashboard/api/ledger?limit=20")
    assert summary["admission"] == status
    assert field(page, "pressure") == shown(status["pressure"])
    assert field(page, "admit_threshold") == shown(status["thresholds"]["admit"])
    assert field(page, "reject_threshold") == shown(status["thresholds"]["reject"])
    assert field(page, "queue_depth") == shown(status["queue_depth"])
    assert field(page, "supply_total_headroom") == shown(status["supply_total_headroom"])
    assert field(page, "tip_seq") == f"#{summary['ledger']['tip_seq']}"
    assert page.locator('[data-k="tip_hash"]').get_attribute("title") == summary["ledger"]["tip_hash"]
    tlog_bytes = summary["persistence"]["tlog_bytes"]
    assert f"{tlog_bytes} B" in field(page, "tlog_bytes")
    assert field(page, "degraded") == (
        "normal" if not summary["persistence"]["degraded"] else field(page, "degraded")
    )

    rows = page.locator("#ledger-table tbody tr")
    expect(rows).to_have_count(len(ledger["entries"]))
    for index, entry in enumerate(ledger["entries"]):
        row = rows.nth(index)
        assert row.get_attribute("data-seq") == str(entry["seq"])
        assert row.get_attribute("data-kind") == entry["kind"]
        cells = row.locator("td")
        assert cells.nth(2).inner_text() == str(entry["cost_credits"])
        assert cells.nth(5).inner_text() == {None: "–", True: "yes", False: "no"}[entry["countersigned"]]
        if entry["consumer_id"]:
            assert cells.nth(3).locator(".id").get_attribute("title") == entry["consumer_id"]
    kinds = {entry["kind"] for entry in ledger["entries"]}
    assert {"USAGE", "STARTER_GRANT"} <= kinds

    # Optional subsystems: shown when the routes exist, said to be missing otherwise.
    peers = httpx.get(process.admin_url + "/peers", headers=auth_headers(), timeout=10)
    if peers.status_code == 404:
        expect(page.locator("#peers-unavailable")).to_be_visible()
        expect(page.locator("#peers-unavailable")).to_contain_text("RPC listener not available")
    else:
        assert field(page, "peer_count") == f"({peers.json()['count']})"
    broker = httpx.get(process.admin_url + "/broker/inflight", headers=auth_headers(), timeout=10)
    expect(page.locator("#broker-unavailable")).to_be_visible(visible=broker.status_code == 404)


def override_records(config_path: Path) -> list[dict[str, Any]]:
    tlog = load_config(config_path).admission.tlog_path
    result = run_cli("admission", "inspect", "--tlog", tlog, "--records", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    return [
        record
        for tlog_file in document["tlog"]
        for record in tlog_file.get("record_list", [])
        if record["kind"] == "operator_override"
    ]


def test_3_drain_from_the_page_is_confirmed_and_recorded_under_the_operator_id(
    tracker: tuple[TrackerProcess, Path], page: Page
) -> None:
    process, config_path = tracker
    assert override_records(config_path) == []
    # Without an operator id the page refuses to act.
    page.fill("#drain-n", "3")
    page.click("#drain-form button[type=submit]")
    expect(page.locator("#action-result")).to_contain_text("operator id")
    expect(page.locator("#confirm")).not_to_be_visible()

    page.fill("#operator-id", OPERATOR)
    page.click("#drain-form button[type=submit]")
    expect(page.locator("#confirm")).to_be_visible()
    expect(page.locator("#confirm-operator")).to_have_text(OPERATOR)
    page.click("#confirm button[value=cancel]")  # cancelled: nothing sent
    expect(page.locator("#confirm")).not_to_be_visible()

    page.click("#drain-form button[type=submit]")
    page.click("#confirm-ok")
    expect(page.locator("#action-result")).to_contain_text("/admission/queue/drain → HTTP 200")
    expect(page.locator("#action-result")).to_contain_text('"drained"')
    depth = get_json(process, "/admission/status")["queue_depth"]
    expect(page.locator('[data-k="queue_depth"]')).to_have_text(shown(depth))

    deadline = time.monotonic() + 10
    records = override_records(config_path)
    while not records and time.monotonic() < deadline:  # the tlog is flushed every fsync window
        time.sleep(0.1)
        records = override_records(config_path)
    assert len(records) == 1, records
    assert records[0]["operator_id"] == OPERATOR
    assert records[0]["action"] == "queue/drain"
    assert json.loads(records[0]["params"]) == {"n": 3}

    # Errors are shown: a negative count is refused by the page, a count past int64 by the server (400).
    page.fill("#drain-n", "-1")
    page.click("#drain-form button[type=submit]")
    expect(page.locator("#action-result")).to_contain_text("whole number")
    page.fill("#drain-n", "99999999999999999999")
    page.click("#drain-form button[type=submit]")
    page.click("#confirm-ok")
    expect(page.locator("#action-result")).to_contain_text('failed, HTTP 400 {"error":"bad body"}')
    expect(page.locator("#action-result")).to_have_class("result fail")
    page.click('[data-action="snapshot"]')
    page.click("#confirm-ok")
    expect(page.locator("#action-result")).to_contain_text("/admission/snapshot → HTTP 200")
    expect(page.locator('[data-k="snapshot_age"]')).to_contain_text("ago")


def test_4_keyboard_reaches_the_controls(tracker: tuple[TrackerProcess, Path], page: Page) -> None:
    page.focus("#operator-id")
    reached = set()
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
    assert {"logout", "drain-n", "block-id"} <= reached, reached
    assert any("Snapshot now" in name for name in reached), reached


def test_5_screenshots_at_both_sizes_without_horizontal_scrolling(
    tracker: tuple[TrackerProcess, Path], page: Page
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in [(1280, 800), (390, 844)]:
        page.set_viewport_size({"width": width, "height": height})
        wait_for_refresh(page)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{width}x{height}: page scrolls horizontally by {overflow}px"
        path = ARTIFACTS / f"dashboard-{width}x{height}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        print(f"dashboard screenshot: {path}")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_6_the_token_never_leaks(
    tracker: tuple[TrackerProcess, Path], page: Page, requested_urls: list[str]
) -> None:
    process, _ = tracker
    assert page.evaluate("sessionStorage.getItem('trio-tracker.admin-token')") == ADMIN_TOKEN
    assert ADMIN_TOKEN not in page.content()
    assert ADMIN_TOKEN not in page.evaluate("document.documentElement.outerHTML + document.cookie")
    assert ADMIN_TOKEN not in page.evaluate("JSON.stringify(localStorage)")
    assert len(requested_urls) > 10
    assert [url for url in requested_urls if ADMIN_TOKEN in url] == []
    assert all(url.startswith(process.admin_url) for url in requested_urls), set(requested_urls)
    page.click("#logout")  # signing out forgets the token
    expect(page.locator("#login")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0
    process.stop()
    assert process.lines, "the tracker wrote no log at all"
    assert ADMIN_TOKEN not in process.stderr
