"""Termination signals outside the tracker's own handling, from the first line of the command's code to the
process's exit, so that SIGINT, SIGTERM and SIGHUP end a command with 128 + the signal number (130, 143,
129) and one line — never a traceback, never killed by the signal, never lost — until `run`'s Trio signal
receiver takes over (it turns them into a graceful stop).

1. `install_early_signal_handlers` (at import of `tracker.cli`, before the command modules, which take a few
   hundred milliseconds to import): all three signals are only recorded.
2. `arm_signal_handlers` (first thing `main` does, inside its try): each signal is recorded and raises
   KeyboardInterrupt — SIGTERM and SIGHUP through whatever SIGINT handler is current (Trio's, inside
   `trio.run`, which only marks the interrupt pending and raises it at the next checkpoint); a signal
   recorded during step 1 is raised now.
3. `raise_if_interrupted` (before a command goes on for long: `run` calls it once Trio's handler is in
   place): a Python signal handler runs between any two bytecodes, also inside a `__del__` method or a
   weakref callback (importlib's module locks have one), where Python prints "Exception ignored" and
   swallows the KeyboardInterrupt. The record survives: the interrupt is raised again here, so `run` never
   starts serving as if nothing had happened (and then waits forever for a signal that already came).
4. `ignore_termination_signals` (when `main` returns, the work done): while Python finalises it would put
   every handler back to the default action, and a late SIGTERM would kill the exiting process.

`stacks_on_sigquit` is for diagnosis: while `run` runs, SIGQUIT dumps every thread's stack, then ends it.

Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys
from collections.abc import Iterator
from types import FrameType

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_TERMINATION_SIGNALS = (signal.SIGINT, *FORWARDED_SIGNALS)
_received: list[int] = []


def _record(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)


def _record_and_interrupt(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)
    raise KeyboardInterrupt


def _forward_to_sigint_handler(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not _record_and_interrupt:
        handler(signal.SIGINT, frame)
    else:  # ours (recorded already), or SIGINT ignored or default in C: still stop, as the signal asked
        raise KeyboardInterrupt


def install_early_signal_handlers() -> None:
    """Step 1: record SIGINT/SIGTERM/SIGHUP without acting (call from the main thread)."""
    for signal_number in _TERMINATION_SIGNALS:
        signal.signal(signal_number, _record)


def arm_signal_handlers() -> None:
    """Step 2: act on termination signals; raises KeyboardInterrupt for one that arrived before."""
    signal.signal(signal.SIGINT, _record_and_interrupt)
    for signal_number in FORWARDED_SIGNALS:
        signal.signal(signal_number, _forward_to_sigint_handler)
    raise_if_interrupted()


def raise_if_interrupted() -> None:
    """Step 3: raise KeyboardInterrupt if a termination signal was received (its own may have been
    swallowed)."""
    if _received:
        raise KeyboardInterrupt


def ignore_termination_signals() -> None:
    """Step 4, for the exiting process once its work is done. Ignored signals stay ignored."""
    for signal_number in _TERMINATION_SIGNALS:
        signal.signal(signal_number, signal.SIG_IGN)


def interrupted_exit_code() -> int:
    """128 + the first termination signal received (SIGINT when none was recorded)."""
    return 128 + (_received[0] if _received else int(signal.SIGINT))


def interrupted_signal_name() -> str:
    return signal.Signals(interrupted_exit_code() - 128).name


@contextlib.contextmanager
def stacks_on_sigquit() -> Iterator[None]:
    """While the block runs, SIGQUIT first writes every thread's Python stack to stderr (faulthandler), then
    has its default effect (the process ends), as a Go program does: a hung tracker can be diagnosed. A
    stderr without a file descriptor (a caller's captured stream) leaves SIGQUIT alone."""
    try:
        faulthandler.register(signal.SIGQUIT, file=sys.__stderr__, all_threads=True, chain=True)
    except (AttributeError, OSError, ValueError, RuntimeError):  # no fd behind stderr, no SIGQUIT
        yield
        return
    try:
        yield
    finally:
        faulthandler.unregister(signal.SIGQUIT)
