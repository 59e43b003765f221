"""The dashboard in headless Chromium against `trio-tracker run` after a brokered request over QUIC: two
reference peers (consumer, seeder) complete broker_request → offer accepted → assignment → usage_report →
countersignature and stay connected while the page is checked; the peer table shows both peers, the recent
ledger entries show the USAGE entry with its cost and countersigned = yes, and every figure equals what
GET /peers and GET /dashboard/api/ledger return at the same moment."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
from playwright.sync_api import Page, expect

from tests.admin.browser import ARTIFACTS, chromium
from tests_e2e.test_broker_run import SONNET, broker_data_dir, enrolled_pair, rpc_address
from tests_e2e.test_dashboard_browser import sign_in, wait_for_refresh
from tests_e2e.test_run_support import ADMIN_TOKEN, TrackerProcess, auth_headers, start_tracker
from tracker.client import SeederPeer

COST = 3300  # 100 input + 200 output tokens of SONNET at the configured prices (as in test_broker_run)


@dataclass
class Settled:
    consumer_id: str
    seeder_id: str
    request_id: str
    entry_hash: str


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[TrackerProcess]:
    process = start_tracker(broker_data_dir(tmp_path / "data"))
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def brokered_request(tracker: TrackerProcess, settled: list[Settled], release: threading.Event) -> None:
    """One brokered request by a consumer and a seeder peer that then stay connected until `release`."""
    assert tracker.ready is not None
    address, pin = rpc_address(tracker.ready)

    async def peers() -> None:
        async with enrolled_pair(address, pin) as pair:
            seeder, consumer = pair.seeder, pair.consumer
            consumer_role = pair.consumer_role
            assignment = await consumer_role.request(SONNET, 100, 200)
            assert not isinstance(assignment, str), assignment
            await SeederPeer.report(seeder, assignment.reservation_token, SONNET, 100, 200)
            entry_hash = await consumer_role.wait_settled(assignment.reservation_token)
            settled.append(
                Settled(
                    consumer_id=consumer.canonical_id.hex(),
                    seeder_id=seeder.canonical_id.hex(),
                    request_id=assignment.reservation_token.hex(),
                    entry_hash=entry_hash.hex(),
                )
            )
            await trio.to_thread.run_sync(release.wait)

    trio.run(peers)


def snapshot(admin: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    peers = admin.get("/peers")
    ledger = admin.get("/dashboard/api/ledger?limit=20")
    assert peers.status_code == 200 and ledger.status_code == 200, (peers.text, ledger.text)
    return peers.json(), ledger.json()


def usage_entry(ledger: dict[str, Any], settled: Settled) -> dict[str, Any] | None:
    return next((entry for entry in ledger["entries"] if entry["hash"] == settled.entry_hash), None)


def check_page(page: Page, peers: dict[str, Any], ledger: dict[str, Any]) -> None:
    """The page's peer table and recent ledger entries against one reading of the JSON routes."""
    expect(page.locator('[data-k="peer_count"]')).to_have_text(f"({peers['count']})")
    peer_rows = page.locator("#peers-table tbody tr")
    expect(peer_rows).to_have_count(len(peers["peers"]))
    for listed in peers["peers"]:
        cells = page.locator(f'#peers-table tbody tr[data-peer="{listed["canonical_id"]}"] td')
        assert cells.nth(0).locator(".id").get_attribute("title") == listed["canonical_id"]
        assert cells.nth(1).inner_text() == ", ".join(listed["roles"])
        assert cells.nth(2).inner_text() == listed["address"]

    ledger_rows = page.locator("#ledger-table tbody tr")
    expect(ledger_rows).to_have_count(len(ledger["entries"]))
    for index, entry in enumerate(ledger["entries"]):
        row = ledger_rows.nth(index)
        assert row.get_attribute("data-seq") == str(entry["seq"])
        assert row.get_attribute("data-kind") == entry["kind"]
        cells = row.locator("td")
        assert cells.nth(1).inner_text() == entry["kind"] + (f" · {entry['model']}" if entry["model"] else "")
        assert cells.nth(2).inner_text() == str(entry["cost_credits"])
        if entry["consumer_id"]:
            assert cells.nth(3).locator(".id").get_attribute("title") == entry["consumer_id"]
        party = entry["seeder_id"] or entry["recipient_id"]
        if party:
            assert cells.nth(4).locator(".id").get_attribute("title") == party
        assert cells.nth(5).inner_text() == {None: "–", True: "yes", False: "no"}[entry["countersigned"]]


def test_a_brokered_request_shows_its_peers_and_its_countersigned_usage_entry(
    tracker: TrackerProcess, tmp_path: Path
) -> None:
    started = time.monotonic()
    settled: list[Settled] = []
    release = threading.Event()
    failures: list[BaseException] = []

    def run_peers() -> None:
        try:
            brokered_request(tracker, settled, release)
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=run_peers, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not settled and not failures and time.monotonic() < deadline:
            time.sleep(0.05)
        assert settled and not failures, failures or "the brokered request did not settle in 60 s"
        (done,) = settled
        with httpx.Client(base_url=tracker.admin_url, headers=auth_headers(), timeout=10) as admin:
            peers, ledger = snapshot(admin)
            while (entry := usage_entry(ledger, done)) is None or not entry["countersigned"]:
                assert time.monotonic() < deadline, ledger["entries"]
                time.sleep(0.1)
                peers, ledger = snapshot(admin)
            listed = {peer["canonical_id"]: peer for peer in peers["peers"]}
            assert {done.consumer_id, done.seeder_id} <= set(listed), peers
            assert entry["kind"] == "USAGE" and entry["model"] == SONNET
            assert entry["cost_credits"] == COST
            assert (entry["consumer_id"], entry["seeder_id"]) == (done.consumer_id, done.seeder_id)
            assert entry["request_id"] == done.request_id

            with chromium(tmp_path / "profile") as browser:
                page = browser.new_page()
                page.goto(tracker.admin_url + "/dashboard")
                sign_in(page, ADMIN_TOKEN)
                expect(page.locator("#board")).to_be_visible()
                expect(page.locator("#peers-unavailable")).to_be_hidden()
                for peer_id in (done.consumer_id, done.seeder_id):
                    expect(page.locator(f'#peers-table tbody tr[data-peer="{peer_id}"]')).to_have_count(1)
                usage_row = page.locator(f'#ledger-table tbody tr[data-seq="{entry["seq"]}"]')
                expect(usage_row).to_have_attribute("data-kind", "USAGE")
                expect(usage_row.locator("td").nth(2)).to_have_text(str(COST))
                expect(usage_row.locator("td").nth(5)).to_have_text("yes")

                # The page and the JSON routes read at the same moment: after one more poll, between two
                # identical readings of the routes (the clients stay connected, nothing else changes).
                wait_for_refresh(page)
                before = snapshot(admin)
                check_page(page, *before)
                assert snapshot(admin) == before, "the tracker's state moved while the page was checked"
                assert thread.is_alive(), "the peers disconnected before the page was checked"

                ARTIFACTS.mkdir(exist_ok=True)
                shot = ARTIFACTS / "dashboard-broker-1280x800.png"
                page.screenshot(path=str(shot), full_page=True)
                assert shot.stat().st_size > 10_000
                print(f"dashboard screenshot: {shot}")
    finally:
        release.set()
        thread.join(30)
    assert not failures, failures
    print(f"brokered dashboard test took {time.monotonic() - started:.1f} s")
