"""Opening and closing the subsystems in dependency order (config-cli-admin-run.md §4.2) and listing the
background tasks the supervisor runs. The only module that knows every subsystem's constructor.

Open: metrics families → registry → ledger (SQLite, worker threads) → admission service → startup replay
(snapshot + tlog + ledger cross-check) → subscribe admission to ledger commits → admin app.
Close (always, shielded): unsubscribe → admission: final snapshot + tlog flush/fsync/close (after a forced
exit or a crash: tlog flush/fsync/close only) → ledger close.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from functools import partial

import trio
from hypercorn.typing import ASGIFramework

from tracker.admin import DashboardFeed, create_admin_app, run_dashboard_sampler
from tracker.admission import AdmissionMetrics, AdmissionService, PersistenceMetrics
from tracker.app._context import ServiceContext
from tracker.app._errors import StartupError
from tracker.app._supervisor import BackgroundTask
from tracker.app._tickers import run_registry_sweep
from tracker.broker import BrokerMetrics, BrokerService, BrokerSettings, PriceTable
from tracker.ledger import AsyncLedger, LedgerMetrics, SettlementStore, open_ledger, run_merkle_rollup
from tracker.metrics import ScrapeTimeGauge
from tracker.registry import Registry
from tracker.rpc import open_rpc_listener

_logger = logging.getLogger("tracker.app")


@dataclass
class TrackerSubsystems:
    """The opened subsystems (handles for the admin app and tests) plus what the supervisor runs."""

    ledger: AsyncLedger
    registry: Registry
    admission: AdmissionService
    admin_app: ASGIFramework
    broker: BrokerService | None = None
    dashboard: DashboardFeed = field(default_factory=DashboardFeed)
    background: list[BackgroundTask] = field(default_factory=list)


@contextmanager
def _startup_step(name: str) -> Iterator[None]:
    """Turn a failure of one start-up step into StartupError('<step>: <error>')."""
    try:
        yield
    except StartupError:
        raise
    except Exception as error:
        raise StartupError(f"{name}: {error}") from error


def _background_tasks(context: ServiceContext, subsystems: TrackerSubsystems) -> list[BackgroundTask]:
    config = context.config
    tasks = [BackgroundTask(name, run) for name, run in subsystems.admission.background_tasks()]
    tasks.append(
        BackgroundTask(
            "dashboard-sampler",
            partial(run_dashboard_sampler, subsystems.dashboard, subsystems.admission, context.clock),
        )
    )
    tasks.append(
        BackgroundTask(
            "registry-stale-sweep",
            partial(
                run_registry_sweep,
                subsystems.registry,
                config.admission.heartbeat_window_minutes,
                context.clock,
            ),
        )
    )
    if config.ledger.merkle_root_interval_minutes > 0:
        tasks.append(
            BackgroundTask(
                "ledger-merkle-rollup",
                partial(
                    run_merkle_rollup,
                    subsystems.ledger,
                    config.ledger.merkle_root_interval_minutes,
                    clock=context.clock,
                ),
            )
        )
    return tasks


@asynccontextmanager
async def open_tracker_services(context: ServiceContext) -> AsyncIterator[TrackerSubsystems]:
    """Open every subsystem; raises StartupError naming the failing step. On exit the admission log is always
    flushed and fsynced and the ledger closed, even when cancelled."""
    config = context.config
    metrics_registry = context.metrics_registry
    registry = Registry()
    ScrapeTimeGauge(
        metrics_registry, "registry_seeders", "Seeders currently in the registry.", registry.__len__
    )
    ledger_metrics = LedgerMetrics(metrics_registry)
    admission_metrics = AdmissionMetrics(metrics_registry)
    persistence_metrics = PersistenceMetrics(metrics_registry)

    async with AsyncExitStack() as stack:
        with _startup_step("admission"):  # before the ledger opens: a tlog path may name the ledger file
            await AdmissionService.check_files(config.admission)
        with _startup_step("ledger"):
            ledger = await stack.enter_async_context(
                open_ledger(
                    config.ledger.storage_path, context.identity, clock=context.clock, metrics=ledger_metrics
                )
            )
        with _startup_step("admission"):
            admission = AdmissionService.create(
                config.admission,
                registry,
                context.identity,
                metrics=admission_metrics,
                persistence_metrics=persistence_metrics,
                clock=context.clock,
            )
        closed_cleanly = False

        async def close_admission() -> None:
            # final snapshot only after a clean run; otherwise the next start replays the tlog instead
            await admission.aclose(final_snapshot=closed_cleanly and not context.controller.forced)

        stack.push_async_callback(close_admission)
        with _startup_step("admission startup replay"):
            await admission.startup_replay(ledger)
        stack.callback(ledger.subscribe(admission.on_ledger_entry))
        broker: BrokerService | None = None
        rpc = None
        if context.rpc_socket is not None:
            with _startup_step("broker"):
                settlements = await trio.to_thread.run_sync(SettlementStore.open, ledger.path)
                stack.callback(settlements.close)
                broker = BrokerService(
                    ledger=ledger,
                    settlements=settlements,
                    registry=registry,
                    admission=admission,
                    prices=PriceTable.from_config(config.pricing),
                    settings=BrokerSettings.from_config(config),
                    metrics=BrokerMetrics(metrics_registry),
                    clock=context.clock,
                )
            with _startup_step("rpc listener"):
                rpc = await stack.enter_async_context(
                    open_rpc_listener(
                        context.rpc_socket,
                        config=config,
                        identity=context.identity,
                        ledger=ledger,
                        registry=registry,
                        metrics_registry=metrics_registry,
                        clock=context.clock,
                        broker=broker,
                    )
                )
        dashboard = DashboardFeed.from_metrics(
            decisions=admission_metrics.decisions,
            fsync_duration=persistence_metrics.tlog_fsync_duration,
            snapshot_last_success=persistence_metrics.snapshot_last_success,
        )
        with _startup_step("admin"):
            admin_app = create_admin_app(
                ledger=ledger,
                registry=registry,
                admission=admission,
                request_shutdown=context.controller.request_from_admin,
                admin_token=context.admin_token,
                clock=context.clock,
                logger=logging.getLogger("tracker.admin"),
                merkle_root_minutes=config.ledger.merkle_root_interval_minutes,
                connection_count=rpc.connection_count if rpc is not None else None,
                connected_peers=rpc.connected_peers if rpc is not None else None,
                broker=broker,
                dashboard=dashboard,
            )
        subsystems = TrackerSubsystems(
            ledger=ledger,
            registry=registry,
            admission=admission,
            admin_app=admin_app,
            broker=broker,
            dashboard=dashboard,
        )
        subsystems.background = _background_tasks(context, subsystems)
        if rpc is not None:
            drain_rpc = partial(rpc.drain, float(config.server.shutdown_grace_s))
            subsystems.background.append(BackgroundTask("rpc-listener", rpc.run, drain=drain_rpc))
        if broker is not None:
            subsystems.background.append(BackgroundTask("broker", broker.run))
        yield subsystems
        closed_cleanly = True
