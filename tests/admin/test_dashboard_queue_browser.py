"""The dashboard's queue panel in headless Chromium against the admin app served in-process (Hypercorn on
loopback, real ledger, admission and broker): queued entries need brokered requests arriving under pressure,
so here they are queued directly through the admission core. Eject and drain from the
page move the queue depth; an inflight broker request and its reservation are shown and released; each action
is recorded under the operator id."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve
from playwright.sync_api import Page, expect

from tests.admin.browser import ARTIFACTS, chromium, shown
from tests.admin.conftest import FIXED_NOW, TOKEN
from tests.admin.stack import AdminStack, admin_stack
from tests.admin.test_admission_routes import queue_consumers
from tracker.admin import DashboardFeed
from tracker.admin._dashboard_history import DashboardSample, DecisionTotals, PressureHistory

OPERATOR = "ops-queue-é"


@dataclass
class ServedStack:
    url: str
    stack: AdminStack
    request_ids: list[bytes]
    trio_token: trio.lowlevel.TrioToken

    def call(self, function, *args):  # type: ignore[no-untyped-def]
        """Run an async function of the stack on its Trio loop, from the test thread."""
        return trio.from_thread.run(partial(function, *args), trio_token=self.trio_token)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedStack]:
    ready: queue.Queue[ServedStack | BaseException] = queue.Queue()
    stop = threading.Event()
    history = PressureHistory()
    for index in range(180):  # 15 minutes of 5 s samples, pressure rising to 1.0
        at = FIXED_NOW - 5 * (179 - index)
        decisions = DecisionTotals(admit=2 * index, queue=index // 3, reject=index // 10)
        history.record(DashboardSample(at, min(1.0, index / 150), 0, decisions))

    data_dir = tmp_path / "data"
    data_dir.mkdir()

    async def main() -> None:
        try:
            async with admin_stack(data_dir, dashboard=DashboardFeed(history=history)) as stack:
                request_ids = queue_consumers(stack, 1, 2, 3)
                stack.add_broker_request(0x44)
                config = HypercornConfig()
                config.bind = ["127.0.0.1:0"]
                config.accesslog = None
                stopped = trio.Event()
                async with trio.open_nursery() as nursery:
                    binds = await nursery.start(
                        partial(serve, stack.app, config, shutdown_trigger=stopped.wait)  # type: ignore[arg-type]
                    )
                    ready.put(ServedStack(binds[0], stack, request_ids, trio.lowlevel.current_trio_token()))
                    await trio.to_thread.run_sync(stop.wait)
                    stopped.set()
        except BaseException as error:  # reported to the test thread, which raises it
            ready.put(error)

    thread = threading.Thread(target=trio.run, args=(main,), daemon=True)
    thread.start()
    started = ready.get(timeout=30)
    if isinstance(started, BaseException):
        raise started
    try:
        yield started
    finally:
        stop.set()
        thread.join(30)


def confirm(page: Page) -> None:
    expect(page.locator("#confirm")).to_be_visible()
    page.click("#confirm-ok")


def test_eject_and_drain_from_the_page_move_the_queue(served: ServedStack, tmp_path: Path) -> None:
    with chromium(tmp_path / "profile") as browser:
        page = browser.new_page()
        page.goto(served.url + "/dashboard")
        page.fill("#token", TOKEN)
        page.click("#login-form button[type=submit]")
        page.fill("#operator-id", OPERATOR)
        expect(page.locator('[data-k="queue_depth"]')).to_have_text("3")
        rows = page.locator("#queue-table tbody tr")
        expect(rows).to_have_count(3)
        assert page.locator('[data-k="pressure"]').inner_text() == shown(1.0)
        assert page.locator('[data-k="history_samples"]').inner_text() == "180"
        assert page.locator("#sparkline polyline").count() == 1
        expect(page.locator('[data-k="oldest_wait"]')).to_have_text("0 s")
        # decisions per second from the last two samples: admit 2/5, queue 0/5 or 1/5, reject 0/5
        assert page.locator('[data-k="rate_admit"]').inner_text() == shown(0.4)

        ARTIFACTS.mkdir(exist_ok=True)
        shot = ARTIFACTS / "dashboard-queue-1280x800.png"
        page.screenshot(path=str(shot), full_page=True)
        print(f"dashboard screenshot: {shot}")

        shown_ids = {rows.nth(index).get_attribute("data-request") for index in range(3)}
        assert shown_ids == {request_id.hex() for request_id in served.request_ids}
        first = rows.first.get_attribute("data-request")
        rows.first.get_by_role("button", name="Eject").click()
        confirm(page)
        expect(page.locator("#action-result")).to_contain_text('HTTP 200 {"ejected":1}')
        expect(page.locator('[data-k="queue_depth"]')).to_have_text("2")
        expect(rows).to_have_count(2)
        assert first not in {rows.nth(index).get_attribute("data-request") for index in range(2)}

        page.fill("#drain-n", "1")
        page.click("#drain-form button[type=submit]")
        confirm(page)
        expect(page.locator("#action-result")).to_contain_text('"drained":["')
        expect(page.locator('[data-k="queue_depth"]')).to_have_text("1")
        expect(rows).to_have_count(1)

        # The broker's inflight request and its reservation, with the seeder and amount of the detail route.
        inflight = page.locator("#inflight-table tbody tr")
        expect(inflight).to_have_count(1)
        expect(page.locator("#broker-unavailable")).to_be_hidden()
        cells = inflight.first.locator("td")
        assert cells.nth(0).locator(".id").get_attribute("title") == "44" * 16
        assert cells.nth(1).inner_text() == "assigned"
        assert cells.nth(4).locator(".id").get_attribute("title") == "5e" * 32
        expect(cells.nth(5)).to_have_text("100")
        reservation = page.locator("#reservations-table tbody tr")
        expect(reservation).to_have_count(1)
        assert reservation.first.locator("td").nth(5).inner_text() == "100"
        reservation.first.get_by_role("button", name="Release").click()
        confirm(page)
        expect(page.locator("#action-result")).to_contain_text('"released":true')
        expect(reservation).to_have_count(0)

    records = served.call(served.stack.override_records)
    assert [(payload.operator_id, payload.action) for _, payload in records] == [
        (OPERATOR, "queue/eject"),
        (OPERATOR, "queue/drain"),
        (OPERATOR, "broker/reservations/release"),
    ]
    assert served.stack.admission.status().queue_depth == 1
