"""The composition root of `trio-tracker run`: listeners, subsystems, one supervising nursery, shutdown."""

from tracker.app._context import ServiceContext
from tracker.app._errors import StartupError, describe_failure, leaf_errors
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
]
