"""The one nursery of a running tracker: background tasks, the admin and metrics HTTP servers, and the
graceful-drain / forced-exit choreography. Knows nothing about what the tasks do."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import trio
from hypercorn.typing import ASGIFramework

from tracker.app._in_flight import InFlightRequests
from tracker.app._listeners import BoundListener, serve_listener
from tracker.app._shutdown import ShutdownController

# Hypercorn bounds connection handlers by graceful_timeout; this margin covers its lifespan shutdown. After
# it, the HTTP servers are cancelled outright, so a stuck handler can never hold the process.
_DRAIN_SAFETY_MARGIN_S = 2.0
_CLOSE_SETTLE_S = 0.05


class BackgroundTaskStopped(RuntimeError):
    """A supervised background task returned although nothing asked it to stop."""


@dataclass(frozen=True)
class BackgroundTask:
    """A long-running coroutine (a ticker, a sweep, a listener) that runs until cancelled. `drain`, when
    given, runs once a shutdown is requested, alongside the HTTP drain and bounded by the same grace period;
    the task is cancelled only after it returned."""

    name: str
    run: Callable[[], Awaitable[None]]
    drain: Callable[[], Awaitable[None]] | None = None


@dataclass(frozen=True)
class HttpServer:
    """An ASGI app to serve on an already bound listener."""

    listener: BoundListener
    app: ASGIFramework


@dataclass(frozen=True)
class ServedAddresses:
    admin_addr: str
    metrics_addr: str


async def _run_background_task(task: BackgroundTask, logger: logging.Logger) -> None:
    logger.debug("tracker: background task started", extra={"task": task.name})
    await task.run()
    raise BackgroundTaskStopped(f"background task {task.name!r} stopped unexpectedly")


async def _stop_http_when_due(
    controller: ShutdownController,
    http_scope: trio.CancelScope,
    in_flight: InFlightRequests,
    serving: trio.Event,
    grace_s: float,
    logger: logging.Logger,
) -> None:
    """After a shutdown request, close both HTTP servers as soon as they serve and every in-flight request has
    been answered, at once when forced, and at the latest after the grace period. A server still starting
    (a request during start-up) is left to finish starting: it then stops by itself (its shutdown trigger is
    set), where a cancel would leave it half started."""
    await controller.wait_requested()
    with trio.move_on_after(grace_s + _DRAIN_SAFETY_MARGIN_S) as deadline:
        async with trio.open_nursery() as race:

            async def forced() -> None:
                await controller.wait_forced()
                race.cancel_scope.cancel()

            async def drained() -> None:
                await serving.wait()
                await in_flight.wait_idle()
                # Let Hypercorn close the connections it can close itself (it sends EOF after the response).
                await trio.sleep(_CLOSE_SETTLE_S)
                race.cancel_scope.cancel()

            race.start_soon(forced)
            race.start_soon(drained)
    if deadline.cancelled_caught:
        logger.warning(
            "tracker: HTTP drain exceeded the grace period, closing connections",
            extra={"grace_s": grace_s, "in_flight": in_flight.count},
        )
    http_scope.cancel()


async def _drain_background(
    controller: ShutdownController,
    background: list[BackgroundTask],
    grace_s: float,
    done: trio.Event,
    logger: logging.Logger,
) -> None:
    """After a shutdown request, run every background task's `drain` concurrently; cut short when forced, at
    the latest after the grace period. Sets `done` when they are over."""
    try:
        await controller.wait_requested()
        drains = [task.drain for task in background if task.drain is not None]
        with trio.move_on_after(grace_s + _DRAIN_SAFETY_MARGIN_S) as deadline:
            async with trio.open_nursery() as race:

                async def forced() -> None:
                    await controller.wait_forced()
                    race.cancel_scope.cancel()

                async def all_drained() -> None:
                    async with trio.open_nursery() as each:
                        for drain in drains:
                            each.start_soon(drain)
                    race.cancel_scope.cancel()

                race.start_soon(forced)
                race.start_soon(all_drained)
        if deadline.cancelled_caught:
            logger.warning("tracker: background drains exceeded the grace period", extra={"grace_s": grace_s})
    finally:
        done.set()


async def _serve_http(
    admin: HttpServer,
    metrics: HttpServer,
    *,
    controller: ShutdownController,
    http_scope: trio.CancelScope,
    in_flight: InFlightRequests,
    serving: trio.Event,
    drained: trio.Event,
    grace_s: float,
    http_logger: logging.Logger,
    task_status: trio.TaskStatus[ServedAddresses | None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve both apps until the shutdown request has drained them. Reports the bound addresses once both
    serve, or None when cancelled before (a forced stop, or a start slower than the grace period)."""
    shutdown_trigger = trio.Event()

    async def trigger_on_request() -> None:
        await controller.wait_requested()
        shutdown_trigger.set()

    started = False
    try:
        with http_scope:
            async with trio.open_nursery() as http_nursery:
                http_nursery.start_soon(trigger_on_request)
                addresses = []
                for server in (admin, metrics):
                    address = await http_nursery.start(
                        lambda task_status, server=server: serve_listener(
                            server.listener,
                            in_flight.wrap(server.app),
                            graceful_timeout_s=grace_s,
                            shutdown_trigger=shutdown_trigger,
                            error_logger=http_logger,
                            task_status=task_status,
                        )
                    )
                    addresses.append(address)
                serving.set()
                started = True
                task_status.started(ServedAddresses(admin_addr=addresses[0], metrics_addr=addresses[1]))
        if not started:
            task_status.started(None)
    finally:
        drained.set()


async def supervise(
    *,
    admin: HttpServer,
    metrics: HttpServer,
    background: list[BackgroundTask],
    controller: ShutdownController,
    grace_s: float,
    logger: logging.Logger,
    on_ready: Callable[[ServedAddresses], None],
) -> None:
    """Run every background task and both HTTP servers in one nursery until a shutdown request has drained
    HTTP and the background tasks' drains (within `grace_s`, or at once when forced), then cancel the
    background tasks and return.

    Any task raising cancels the whole nursery and the error propagates (inside an ExceptionGroup). Returns
    only after a shutdown request; the caller then does the final flush. `on_ready` is called once both
    servers serve, unless a shutdown was requested before (during start-up)."""
    http_scope = trio.CancelScope()
    in_flight = InFlightRequests()
    serving = trio.Event()
    drained = trio.Event()
    background_drained = trio.Event()
    http_logger = logger.getChild("http")
    async with trio.open_nursery() as nursery:
        for task in background:
            nursery.start_soon(_run_background_task, task, logger, name=f"tracker:{task.name}")
        nursery.start_soon(_stop_http_when_due, controller, http_scope, in_flight, serving, grace_s, logger)
        nursery.start_soon(_drain_background, controller, background, grace_s, background_drained, logger)
        addresses = await nursery.start(
            lambda task_status: _serve_http(
                admin,
                metrics,
                controller=controller,
                http_scope=http_scope,
                in_flight=in_flight,
                serving=serving,
                drained=drained,
                grace_s=grace_s,
                http_logger=http_logger,
                task_status=task_status,
            )
        )
        if addresses is not None and not controller.requested:
            on_ready(addresses)
        else:  # a shutdown request while the servers were starting: they stop (or never started)
            logger.info("tracker: shutdown requested during start-up; not serving")
        await drained.wait()
        if not controller.requested:
            raise RuntimeError("the HTTP servers stopped although no shutdown was requested")
        await background_drained.wait()
        logger.info("tracker: HTTP drained, stopping background tasks")
        nursery.cancel_scope.cancel()
