"""The composition root of `trio-tracker run`: listeners, subsystems, one supervising nursery, shutdown.

Layout:

    _run.py         `run_tracker`: signals → listeners → subsystems → `supervise` → clean shutdown
    _context.py     `ServiceContext` in, `TrackerServices` out (a leaf: imports no other app module)
    _services.py    the one place that knows every subsystem's constructor, open and close order
    _supervisor.py  the nursery: background tasks, HTTP servers, drain and forced exit
    _listeners.py   binding sockets and serving an ASGI app on them with Hypercorn
    _in_flight.py   counting HTTP requests in flight for the drain
    _shutdown.py    the shutdown latches and signal watching
    _tickers.py     the registry sweep (every other ticker belongs to its subsystem)
    _errors.py      start-up errors and crash summaries
    _gc.py          the garbage-collector settings of a serving tracker process (also used by bench/)

Rules: the only package that imports every subsystem, always through their faces; `_run` reaches
`_services` only through its module attribute (tests replace the opener); nothing here holds subsystem
internals (admission is `AdmissionService`, the ledger `AsyncLedger`).
"""

from tracker.app._context import ServiceContext
from tracker.app._errors import StartupError, describe_failure, leaf_errors
from tracker.app._gc import settle_heap_after_startup
from tracker.app._listeners import ListenerBindError
from tracker.app._run import TrackerReady, run_tracker
from tracker.app._shutdown import ShutdownController
from tracker.app._supervisor import BackgroundTask, BackgroundTaskStopped

__all__ = [
    "BackgroundTask",
    "BackgroundTaskStopped",
    "ListenerBindError",
    "ServiceContext",
    "ShutdownController",
    "StartupError",
    "TrackerReady",
    "describe_failure",
    "leaf_errors",
    "run_tracker",
    "settle_heap_after_startup",
]
