"""The dashboard's peer table in headless Chromium against `trio-tracker run` with a real QUIC peer: a peer
that enrols and advertises as a seeder appears with its id, role, address, models, headroom and load, as
GET /peers and GET /identity report them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trio
from playwright.sync_api import expect

from tests.admin.browser import ARTIFACTS, chromium, shown
from tests_e2e.test_run_support import (
    ADMIN_TOKEN,
    TrackerProcess,
    auth_headers,
    make_data_dir,
    set_listen_addr,
    start_tracker,
    use_ephemeral_ports,
)
from tracker.client import connect_peer
from tracker.identity import generate_identity

MODEL = "claude-sonnet-4-6"


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[TrackerProcess]:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    set_listen_addr(config_path, "server", "127.0.0.1:0")
    process = start_tracker(config_path)
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_an_advertising_seeder_appears_in_the_peer_table(tracker: TrackerProcess, tmp_path: Path) -> None:
    ready = tracker.ready
    assert ready is not None
    address, pin = _address(str(ready["rpc_addr"])), bytes.fromhex(str(ready["pin"]))
    connected = threading.Event()
    release = threading.Event()
    peer_ids: list[str] = []
    failures: list[BaseException] = []

    async def seeder() -> None:
        async with connect_peer(address, pin=pin, identity=generate_identity()) as peer:
            await peer.enroll()
            await peer.advertise([MODEL], headroom=0.75)
            peer_ids.append(peer.canonical_id.hex())
            connected.set()
            await trio.to_thread.run_sync(release.wait)

    def run_seeder() -> None:
        try:
            trio.run(seeder)
        except BaseException as error:
            failures.append(error)
            connected.set()

    thread = threading.Thread(target=run_seeder, daemon=True)
    thread.start()
    try:
        assert connected.wait(30) and not failures, failures
        (peer_id,) = peer_ids
        with httpx.Client(base_url=tracker.admin_url, headers=auth_headers(), timeout=10) as admin:
            listing = admin.get("/peers").json()
            seeder_record = admin.get(f"/identity/{peer_id}").json()["seeder"]
        listed = next(entry for entry in listing["peers"] if entry["canonical_id"] == peer_id)

        with chromium(tmp_path / "profile") as browser:
            page = browser.new_page()
            page.goto(tracker.admin_url + "/dashboard")
            page.fill("#token", ADMIN_TOKEN)
            page.click("#login-form button[type=submit]")
            row = page.locator(f'#peers-table tbody tr[data-peer="{peer_id}"]')
            expect(row).to_have_count(1)
            expect(page.locator("#peers-unavailable")).to_be_hidden()
            expect(page.locator('[data-k="peer_count"]')).to_have_text(f"({listing['count']})")
            cells = row.locator("td")
            assert cells.nth(0).locator(".id").get_attribute("title") == peer_id
            assert cells.nth(1).inner_text() == ", ".join(listed["roles"])
            assert cells.nth(2).inner_text() == listed["address"]
            expect(cells.nth(5)).to_have_text(MODEL)
            assert cells.nth(6).inner_text() == shown(seeder_record["headroom_estimate"])
            assert cells.nth(7).inner_text() == str(seeder_record["load"])
            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard-peers-1280x800.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"dashboard screenshot: {shot}")
    finally:
        release.set()
        thread.join(30)
    assert not failures, failures
