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
3. A Python signal handler runs between any two bytecodes, also inside a `__del__` method or a weakref
   callback (importlib's module locks have one), where Python cannot propagate the KeyboardInterrupt: it
   hands it to `sys.unraisablehook` (which prints "Exception ignored … Traceback") and goes on. Step 2 also
   installs a hook that, for such an interrupt, prints nothing and has it delivered again to the main
   thread once the callback is over (`_thread.interrupt_main`). As a last guard, `raise_if_interrupted`
   (`run` calls it once Trio's handler is in place) raises for any recorded signal, so `run` never starts
   serving as if nothing had happened (once it did, and then waited forever for a signal that had come).
4. `ignore_termination_signals` (when `main` returns, the work done): while Python finalises it would put
   every handler back to the default action, and a late SIGTERM would kill the exiting process.

`stacks_on_sigquit` is for diagnosis: while `run` runs, SIGQUIT dumps every thread's stack, then ends it.

Imports only the standard library.
"""

from __future__ import annotations

import _thread
import contextlib
import faulthandler
import signal
import sys
import time
from collections.abc import Iterator
from types import FrameType

FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_TERMINATION_SIGNALS = (signal.SIGINT, *FORWARDED_SIGNALS)
_received: list[int] = []
_interrupts = {"raised": 0, "swallowed": 0}  # KeyboardInterrupts raised here; those Python swallowed
_REDELIVERY_DELAY_S = 0.01


def _interrupt() -> None:
    _interrupts["raised"] += 1
    raise KeyboardInterrupt


def _record(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)


def _record_and_interrupt(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)
    _interrupt()


def _forward_to_sigint_handler(signal_number: int, frame: FrameType | None) -> None:
    _received.append(signal_number)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler) and handler is not _record_and_interrupt:
        handler(signal.SIGINT, frame)
    else:  # ours (recorded already), or SIGINT ignored or default in C: still stop, as the signal asked
        _interrupt()


def install_early_signal_handlers() -> None:
    """Step 1: record SIGINT/SIGTERM/SIGHUP without acting (call from the main thread)."""
    for signal_number in _TERMINATION_SIGNALS:
        signal.signal(signal_number, _record)


def _redeliver_swallowed_interrupt(unraisable: sys.UnraisableHookArgs) -> None:
    """`sys.unraisablehook` from step 2: our KeyboardInterrupt, swallowed in a `__del__` or weakref callback,
    is delivered again (through the SIGINT handler) instead of printed; anything else goes to the hook that
    was there before."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _received:
        _interrupts["swallowed"] += 1
        # From another thread, a moment later: called here, the handler would run at this function's next
        # bytecode, inside the hook, and be swallowed again. (If it lands in a callback again, so does this.)
        _thread.start_new_thread(_interrupt_main_soon, ())
        return
    _hook_before_ours(unraisable)


def _interrupt_main_soon() -> None:
    time.sleep(_REDELIVERY_DELAY_S)
    if _interrupts["swallowed"] >= _interrupts["raised"]:  # none got through meanwhile (main is not exiting)
        _thread.interrupt_main(signal.SIGINT)


_hook_before_ours = sys.unraisablehook


def arm_signal_handlers() -> None:
    """Step 2: act on termination signals; raises KeyboardInterrupt for one that arrived before."""
    global _hook_before_ours
    if sys.unraisablehook is not _redeliver_swallowed_interrupt:
        _hook_before_ours = sys.unraisablehook
        sys.unraisablehook = _redeliver_swallowed_interrupt
    signal.signal(signal.SIGINT, _record_and_interrupt)
    for signal_number in FORWARDED_SIGNALS:
        signal.signal(signal_number, _forward_to_sigint_handler)
    raise_if_interrupted()


def raise_if_interrupted() -> None:
    """Step 3's last guard: raise KeyboardInterrupt if a termination signal was received (its own may have
    been swallowed)."""
    if _received:
        _interrupt()


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
