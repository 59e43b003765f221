"""`run_tracker`: bind the listeners, open the subsystems, supervise them, shut down cleanly.

Order (config-cli-admin-run.md §4.2, adapted): signal handling first (so an early Ctrl-C is a clean request,
never a traceback) → bind admin and metrics sockets (a port in use fails here, before anything irreversible) →
metrics registry → subsystems (ledger, registry, admission with startup replay) → one nursery
(`supervise`) → on shutdown the subsystems' exit does the final tlog flush + fsync (shielded), final snapshot
and SQLite close.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import trio
from hypercorn.typing import ASGIFramework

from tracker.app import _services
from tracker.app._context import ServiceContext, ServicesOpener
from tracker.app._gc import settle_heap_after_startup
from tracker.app._listeners import bind_listeners, bind_udp_listener, format_address
from tracker.app._shutdown import ShutdownController, watch_signals
from tracker.app._supervisor import HttpServer, ServedAddresses, supervise
from tracker.app._systemd_notify import notify
from tracker.config import Config
from tracker.identity import TrackerIdentity
from tracker.metrics import build_metrics_registry, create_metrics_app
from tracker.rpc import certificate_pin, tracker_certificate


@dataclass(frozen=True)
class TrackerReady:
    """Reported once both listeners are bound and serving (`task_status.started` and the ready log line)."""

    admin_addr: str
    metrics_addr: str
    tracker_id: str
    startup_seconds: float
    rpc_addr: str = ""
    pin: str = ""


async def run_tracker(
    config: Config,
    identity: TrackerIdentity,
    *,
    admin_token: str | None,
    logger: logging.Logger | None = None,
    clock: Callable[[], float] = time.time,
    handle_signals: bool = True,
    open_services: ServicesOpener | None = None,
    controller: ShutdownController | None = None,
    task_status: trio.TaskStatus[TrackerReady] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run the tracker until a shutdown request (SIGINT/SIGTERM, POST /maintenance, `controller.request`)
    has drained; returns normally after a clean shutdown. Once start-up is done the process's garbage
    collector is tuned (`tracker/app/_gc.py`).

    Raises `ListenerBindError` (port in use, …) before opening anything, the subsystems' own errors during
    start-up, and an ExceptionGroup with the failing task's error if a supervised task crashes (after the
    tlog has been flushed). `handle_signals=False` leaves SIGINT/SIGTERM and the garbage collector alone
    (in-process tests: the process is not the tracker's)."""
    started_at = time.perf_counter()
    logger = logger or logging.getLogger("tracker")
    controller = controller or ShutdownController(logger)
    opener: ServicesOpener = (
        open_services or _services.open_tracker_services
    )  # looked up late: tests replace it
    failure: BaseException | None = None
    async with trio.open_nursery() as signal_nursery:
        if handle_signals:
            await signal_nursery.start(watch_signals, controller)
        try:
            await _run(
                config,
                identity,
                admin_token,
                logger,
                clock,
                opener,
                controller,
                started_at,
                task_status,
                owns_process=handle_signals,
            )
        except BaseException as error:  # re-raised below, outside the nursery, so it is not wrapped
            failure = error
        finally:
            signal_nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
    logger.info("tracker: stopped", extra={"reason": controller.reason, "forced": controller.forced})


async def _run(
    config: Config,
    identity: TrackerIdentity,
    admin_token: str | None,
    logger: logging.Logger,
    clock: Callable[[], float],
    opener: ServicesOpener,
    controller: ShutdownController,
    started_at: float,
    task_status: trio.TaskStatus[TrackerReady],
    *,
    owns_process: bool,
) -> None:
    listeners = bind_listeners({"admin": config.admin.listen_addr, "metrics": config.metrics.listen_addr})
    try:
        rpc_socket = bind_udp_listener("rpc", config.server.listen_addr)
    except BaseException:
        for listener in listeners.values():
            listener.close()
        raise
    try:
        metrics_registry = build_metrics_registry()
        context = ServiceContext(
            config=config,
            identity=identity,
            metrics_registry=metrics_registry,
            controller=controller,
            admin_token=admin_token,
            clock=clock,
            logger=logger,
            rpc_socket=rpc_socket,
        )
        async with opener(context) as services:
            if controller.requested:
                logger.info("tracker: shutdown requested during start-up; not serving")
                return
            if owns_process:
                settle_heap_after_startup()  # before serving: its one full collection delays no request

            def on_ready(addresses: ServedAddresses) -> None:
                ready = TrackerReady(
                    admin_addr=addresses.admin_addr,
                    metrics_addr=addresses.metrics_addr,
                    tracker_id=identity.tracker_id.hex(),
                    startup_seconds=time.perf_counter() - started_at,
                    rpc_addr=format_address(rpc_socket.getsockname()),
                    pin=certificate_pin(tracker_certificate(identity)).hex(),
                )
                logger.info(
                    "tracker: ready",
                    extra={
                        "admin_addr": ready.admin_addr,
                        "metrics_addr": ready.metrics_addr,
                        "tracker_id": ready.tracker_id,
                        "rpc_addr": ready.rpc_addr,
                        "pin": ready.pin,
                        "startup_ms": round(ready.startup_seconds * 1000, 1),
                    },
                )
                notify("READY=1")
                task_status.started(ready)

            await supervise(
                admin=HttpServer(listeners["admin"], services.admin_app),
                metrics=HttpServer(
                    listeners["metrics"],
                    # tracker.metrics types ASGI loosely (mutable-mapping scopes); it is a plain ASGI app
                    cast(ASGIFramework, create_metrics_app(metrics_registry)),
                ),
                background=services.background,
                controller=controller,
                grace_s=float(config.server.shutdown_grace_s),
                logger=logger,
                on_ready=on_ready,
            )
    finally:
        rpc_socket.close()
        for listener in listeners.values():
            listener.close()
