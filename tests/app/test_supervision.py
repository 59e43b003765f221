"""run_tracker's supervision with fake subsystems: ready, /metrics, graceful drain, forced exit, crashes,
port in use. Real sockets on 127.0.0.1, port 0."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

import httpx
import pytest
import trio
from quart_trio import QuartTrio

from tracker.app import (
    BackgroundTask,
    BackgroundTaskStopped,
    ListenerBindError,
    ServiceContext,
    ShutdownController,
    TrackerReady,
    leaf_errors,
    run_tracker,
)
from tracker.identity import identity_from_seed

IDENTITY = identity_from_seed(bytes(range(32)))
LOGGER = logging.getLogger("tracker.test-app")


def make_config(admin_addr: str = "127.0.0.1:0", metrics_addr: str = "127.0.0.1:0", grace_s: int = 2):
    return SimpleNamespace(
        admin=SimpleNamespace(listen_addr=admin_addr),
        metrics=SimpleNamespace(listen_addr=metrics_addr),
        server=SimpleNamespace(shutdown_grace_s=grace_s, listen_addr="127.0.0.1:0"),
    )


@dataclass
class FakeServices:
    admin_app: QuartTrio
    background: list[BackgroundTask]
    exit_error: list[BaseException | None] = field(default_factory=list)
    ticks: int = 0
    opened: bool = False
    slow_started: trio.Event = field(default_factory=trio.Event)
    """Set once a GET /slow is being handled (in flight), whatever the machine's load."""


def make_services(slow_request_s: float = 0.0, crash_after_s: float | None = None) -> FakeServices:
    app = QuartTrio("fake-admin")
    services = FakeServices(admin_app=app, background=[])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        services.slow_started.set()
        await trio.sleep(slow_request_s)
        return {"slow": "done"}

    async def ticker() -> None:
        while True:
            await trio.sleep(0.01)
            services.ticks += 1

    async def crasher() -> None:
        assert crash_after_s is not None
        await trio.sleep(crash_after_s)
        raise ValueError("ticker exploded")

    services.background.append(BackgroundTask("ticker", ticker))
    if crash_after_s is not None:
        services.background.append(BackgroundTask("crasher", crasher))
    return services


def opener_for(services: FakeServices):
    @asynccontextmanager
    async def open_services(context: ServiceContext) -> AsyncIterator[FakeServices]:
        services.opened = True
        try:
            yield services
        except BaseException as error:
            services.exit_error.append(error)
            raise
        else:
            services.exit_error.append(None)

    return open_services


async def start_tracker(
    nursery: trio.Nursery, services: FakeServices, controller: ShutdownController, **kwargs
):
    config = kwargs.pop("config", make_config())
    return await nursery.start(
        lambda task_status: run_tracker(
            config,
            IDENTITY,
            admin_token="t",
            logger=LOGGER,
            handle_signals=False,
            open_services=opener_for(services),
            controller=controller,
            task_status=task_status,
        )
    )


async def get(url: str, **kwargs) -> httpx.Response:
    # httpx's sync client in a worker thread keeps the Trio loop free to serve the request.
    return await trio.to_thread.run_sync(lambda: httpx.get(url, timeout=10, **kwargs))


async def test_ready_reports_bound_ports_and_serves_both_apps() -> None:
    services = make_services()
    controller = ShutdownController(LOGGER)
    async with trio.open_nursery() as nursery:
        ready: TrackerReady = await start_tracker(nursery, services, controller)
        assert not ready.admin_addr.endswith(":0") and not ready.metrics_addr.endswith(":0")
        assert ready.tracker_id == IDENTITY.tracker_id.hex()
        health = await get(f"http://{ready.admin_addr}/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        metrics = await get(f"http://{ready.metrics_addr}/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "process_cpu_seconds_total" in metrics.text
        assert "python_gc_objects_collected_total" in metrics.text
        other = await get(f"http://{ready.metrics_addr}/nope")
        assert other.status_code == 404
        wrong_method = await trio.to_thread.run_sync(
            lambda: httpx.post(f"http://{ready.metrics_addr}/metrics", timeout=10)
        )
        assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]
        head = await trio.to_thread.run_sync(
            lambda: httpx.head(f"http://{ready.metrics_addr}/metrics", timeout=10)
        )
        assert head.status_code == 200 and head.content == b""
        controller.request("test")
    assert services.exit_error == [None]
    assert services.ticks > 0


async def test_graceful_drain_lets_in_flight_request_finish_then_closes_listeners() -> None:
    services = make_services(slow_request_s=0.5)
    controller = ShutdownController(LOGGER)
    responses: list[httpx.Response] = []
    async with trio.open_nursery() as nursery:
        ready = await start_tracker(nursery, services, controller)

        async def slow_client() -> None:
            responses.append(await get(f"http://{ready.admin_addr}/slow"))

        nursery.start_soon(slow_client)
        await services.slow_started.wait()
        controller.request("test")
    assert [response.json() for response in responses] == [{"slow": "done"}]
    assert services.exit_error == [None]
    with pytest.raises(httpx.ConnectError):
        await get(f"http://{ready.admin_addr}/health")


async def test_forced_shutdown_does_not_wait_for_slow_requests() -> None:
    services = make_services(slow_request_s=30)
    controller = ShutdownController(LOGGER)
    async with trio.open_nursery() as nursery:
        ready = await start_tracker(nursery, services, controller, config=make_config(grace_s=30))

        async def slow_client() -> None:
            with contextlib.suppress(httpx.HTTPError):
                await get(f"http://{ready.admin_addr}/slow")

        nursery.start_soon(slow_client)
        await services.slow_started.wait()
        started = trio.current_time()
        controller.request("SIGTERM")
        await trio.sleep(0.1)
        controller.force("SIGTERM")
    assert trio.current_time() - started < 5
    assert services.exit_error == [None]
    assert controller.forced


async def test_crashing_background_task_stops_everything_with_the_error() -> None:
    services = make_services(crash_after_s=0.2)
    controller = ShutdownController(LOGGER)
    with pytest.raises(BaseException) as raised:
        async with trio.open_nursery() as nursery:
            await start_tracker(nursery, services, controller)
    assert [type(error) for error in leaf_errors(raised.value)] == [ValueError]
    assert "ticker exploded" in str(leaf_errors(raised.value)[0])
    assert len(services.exit_error) == 1 and services.exit_error[0] is not None


async def test_background_task_returning_is_reported_as_a_crash() -> None:
    services = make_services()

    async def quits() -> None:
        return None

    services.background.append(BackgroundTask("quitter", quits))
    with pytest.raises(BaseException) as raised:
        async with trio.open_nursery() as nursery:
            await start_tracker(nursery, services, ShutdownController(LOGGER))
    assert [type(error) for error in leaf_errors(raised.value)] == [BackgroundTaskStopped]


async def test_port_in_use_fails_before_opening_subsystems() -> None:
    occupied = socket.create_server(("127.0.0.1", 0))
    try:
        busy_addr = f"127.0.0.1:{occupied.getsockname()[1]}"
        services = make_services()
        with pytest.raises(
            ListenerBindError, match=r"metrics listener: cannot bind .*address already in use"
        ):
            await run_tracker(
                make_config(metrics_addr=busy_addr),
                IDENTITY,
                admin_token="t",
                logger=LOGGER,
                handle_signals=False,
                open_services=opener_for(services),
            )
        assert not services.opened
    finally:
        occupied.close()


async def test_shutdown_requested_during_startup_never_serves() -> None:
    services = make_services()
    controller = ShutdownController(LOGGER)
    controller.request("SIGINT")
    await run_tracker(
        make_config(),
        IDENTITY,
        admin_token=None,
        logger=LOGGER,
        handle_signals=False,
        open_services=opener_for(services),
        controller=controller,
    )
    assert services.exit_error == [None]
    assert services.ticks == 0


async def test_drain_under_keep_alive_load_ends_without_waiting_for_the_grace_period() -> None:
    # Regression: Hypercorn alone keeps a keep-alive connection whose next request arrived during shutdown
    # open until graceful_timeout (here 30 s); the supervisor ends the drain once nothing is in flight.
    services = make_services()
    controller = ShutdownController(LOGGER)
    stop_clients = threading.Event()
    answered = [0]

    def keep_alive_client(url: str) -> None:
        with httpx.Client(timeout=5) as client:
            while not stop_clients.is_set():
                try:
                    client.get(url)
                    answered[0] += 1
                except httpx.HTTPError:
                    continue

    async with trio.open_nursery() as nursery:
        ready = await start_tracker(nursery, services, controller, config=make_config(grace_s=30))
        clients = [
            threading.Thread(
                target=keep_alive_client, args=(f"http://{ready.admin_addr}/health",), daemon=True
            )
            for _ in range(6)
        ]
        for client in clients:
            client.start()
        while answered[0] <= 10:  # the keep-alive load is on, however slowly the machine runs
            await trio.sleep(0.05)
        started = trio.current_time()
        controller.request("SIGTERM")
    elapsed = trio.current_time() - started
    stop_clients.set()
    for client in clients:
        client.join(10)
    assert answered[0] > 10
    assert elapsed < 3, f"drain took {elapsed:.1f} s"
    assert not controller.forced
    assert services.exit_error == [None]


async def test_background_drains_run_on_shutdown_before_the_tasks_are_cancelled() -> None:
    services = make_services()
    events: list[str] = []

    async def listener() -> None:
        try:
            await trio.sleep_forever()
        finally:
            events.append("cancelled")

    async def drain() -> None:
        events.append("drain started")
        await trio.sleep(0.3)
        events.append("drain done")

    services.background.append(BackgroundTask("listener", listener, drain=drain))
    controller = ShutdownController(LOGGER)
    async with trio.open_nursery() as nursery:
        await start_tracker(nursery, services, controller)
        controller.request("test")
    assert events == ["drain started", "drain done", "cancelled"]
    assert services.exit_error == [None]


async def test_forced_shutdown_cuts_background_drains_short() -> None:
    services = make_services()

    async def drain() -> None:
        await trio.sleep(30)

    services.background.append(BackgroundTask("listener", trio.sleep_forever, drain=drain))
    controller = ShutdownController(LOGGER)
    async with trio.open_nursery() as nursery:
        await start_tracker(nursery, services, controller, config=make_config(grace_s=30))
        started = trio.current_time()
        controller.request("SIGTERM")
        await trio.sleep(0.1)
        controller.force("SIGTERM")
    assert trio.current_time() - started < 5


@pytest.mark.parametrize("force", [False, True])
async def test_shutdown_requested_while_the_http_servers_start_is_a_clean_stop(force: bool) -> None:
    # A SIGTERM at that instant once ended `run` with exit 1 ("child exited without calling
    # task_status.started()"): the drain cancelled a Hypercorn server that was still starting.
    services = make_services()
    controller = ShutdownController(LOGGER)
    ready: list[object] = []

    @services.admin_app.before_serving
    async def slow_start() -> None:  # Hypercorn's lifespan start-up, slower than the drain's settle time
        await trio.sleep(0.3)

    async def request_at_once() -> None:
        controller.request("SIGTERM")
        if force:
            controller.force("SIGTERM")
        await trio.sleep_forever()

    services.background.append(BackgroundTask("requester", request_at_once))
    with trio.fail_after(30):
        await run_tracker(
            make_config(),
            IDENTITY,
            admin_token="t",
            logger=LOGGER,
            handle_signals=False,
            open_services=opener_for(services),
            controller=controller,
            task_status=SimpleNamespace(started=ready.append),  # type: ignore[arg-type]
        )
    assert services.exit_error == [None]
    assert ready == []  # never reported ready: the request came first
