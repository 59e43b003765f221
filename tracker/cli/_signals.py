"""Termination signals outside the tracker's own handling, from the first line of the command's code to the
process's exit, so that SIGINT, SIGTERM and SIGHUP end a command with 128 + the signal number (130, 143,
129) and one line — never a traceback, never killed by the signal — until `run`'s Trio signal receiver takes
over (it turns them into a graceful stop).

1. `install_early_signal_handlers` (at import of `tracker.cli`, before the command modules, which take a few
   hundred milliseconds to import): all three signals are only recorded.
2. `arm_signal_handlers` (first thing `main` does, inside its try): SIGINT gets Python's KeyboardInterrupt
   handler back (which Trio replaces by its own, raising only at a safe point); SIGTERM and SIGHUP are
   delivered through whatever SIGINT handler is current; a signal recorded during step 1 is raised now.
3. `ignore_termination_signals` (when `main` returns, the work done): while Python finalises it would put
   every handler back to the default action, and a late SIGTERM would kill the exiting process.

Imports only the standard library.
"""

from __future__ import annotations

import signal
from types import FrameType

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_TERMINATION_SIGNALS = (signal.SIGINT, *FORWARDED_SIGNALS)
_received: list[int] = []


def _record(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)


def _forward_to_sigint_handler(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signal.SIGINT, frame)
    else:  # SIGINT ignored or default in C: still stop, as the signal asked
        raise KeyboardInterrupt


def install_early_signal_handlers() -> None:
    """Step 1: record SIGINT/SIGTERM/SIGHUP without acting (call from the main thread)."""
    for signal_number in _TERMINATION_SIGNALS:
        signal.signal(signal_number, _record)


def arm_signal_handlers() -> None:
    """Step 2: act on termination signals; raises KeyboardInterrupt for one that arrived before."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for signal_number in FORWARDED_SIGNALS:
        signal.signal(signal_number, _forward_to_sigint_handler)
    if _received:
        raise KeyboardInterrupt


def ignore_termination_signals() -> None:
    """Step 3, for the exiting process once its work is done. Ignored signals stay ignored."""
    for signal_number in _TERMINATION_SIGNALS:
        signal.signal(signal_number, signal.SIG_IGN)


def interrupted_exit_code() -> int:
    """128 + the first termination signal received (SIGINT when none was recorded)."""
    return 128 + (_received[0] if _received else int(signal.SIGINT))


def interrupted_signal_name() -> str:
    return signal.Signals(interrupted_exit_code() - 128).name
