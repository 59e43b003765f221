"""Termination signals outside the tracker's own handling: from the first line of the command's code until
Trio's signal receiver takes over (and again after it lets go), SIGTERM and SIGHUP are delivered exactly like
SIGINT — through whatever SIGINT handler is current (Python's KeyboardInterrupt, or Trio's, which raises it
only at a safe point) — and the command then exits 128 + the signal number (130, 143, 129) with one line,
never a traceback and never killed by the signal. While `run` is serving, its own receiver turns all three
into a graceful stop (exit 0). Imports only the standard library: it is installed before anything else.
"""

from __future__ import annotations

import signal
from types import FrameType

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []


def _forward_to_sigint_handler(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored or default in C: still stop, as the signal asked
        raise KeyboardInterrupt


def install_early_signal_handlers() -> None:
    """Route SIGTERM and SIGHUP through the SIGINT handler (call first, from the main thread)."""
    for signal_number in FORWARDED_SIGNALS:
        signal.signal(signal_number, _forward_to_sigint_handler)


def interrupted_exit_code() -> int:
    """128 + the first termination signal received (SIGINT when none was forwarded)."""
    return 128 + (_received[0] if _received else int(signal.SIGINT))


def interrupted_signal_name() -> str:
    return signal.Signals(interrupted_exit_code() - 128).name


def ignore_termination_signals() -> None:
    """For the exiting process, once its work is done: while Python finalises it puts every handler it
    installed back to the default action, so a late SIGTERM would kill it (exit -15) after a clean stop.
    Ignored signals stay ignored."""
    for signal_number in (signal.SIGINT, *FORWARDED_SIGNALS):
        signal.signal(signal_number, signal.SIG_IGN)
