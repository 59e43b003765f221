"""SIGINT/SIGTERM/SIGHUP at random instants of `run`'s start-up and shutdown: never a traceback, never killed
by the signal; the exit code is 0 (or 129 for SIGHUP) once the tracker's own handler drained it, 128 + the
signal number before that; the ledger verifies afterwards.

A trial starts counting once the process catches SIGTERM (read from /proc/<pid>/status): before that the
Python interpreter itself is starting (a few tens of milliseconds, no tracker code has run) and the signal
has its default effect, which no program can change. A trial whose tracker does not exit in time has its
thread stacks dumped (SIGQUIT) into the failure message.

A signal whose KeyboardInterrupt Python swallows (the handler ran inside a `__del__` or a weakref callback,
as importlib's module locks have) still ends the start-up with its exit code and no traceback: once it left
a tracker serving and waiting for a signal that had already come (and printed "Exception ignored").
"""

from __future__ import annotations

import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import (
    READY_TIMEOUT_S,
    TrackerProcess,
    make_data_dir,
    start_tracker,
    use_ephemeral_ports,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/<pid>/status")

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_TRIALS = 20


def _wait_until_sigterm_is_caught(tracker: TrackerProcess, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    status = Path(f"/proc/{tracker.process.pid}/status")
    while time.monotonic() < deadline:
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except (FileNotFoundError, ProcessLookupError):
            raise AssertionError(f"tracker exited before catching SIGTERM: {tracker.stderr}") from None
        if int(fields["SigCgt"], 16) & (1 << (signal.SIGTERM - 1)):
            return
        time.sleep(0.001)
    raise AssertionError("the tracker never installed its SIGTERM handler")


def _wait_or_dump_stacks(tracker: TrackerProcess, timeout: float, context: str) -> int:
    """The exit code; if the tracker is still running after `timeout`, its thread stacks (SIGQUIT: Python's
    faulthandler, then the default action) go into the failure message."""
    try:
        return tracker.wait(timeout)
    except subprocess.TimeoutExpired:
        tracker.send_signal(signal.SIGQUIT)
        try:
            tracker.wait(10)
        finally:
            tracker.kill()
        raise AssertionError(
            f"no exit within {timeout} s ({context}); stderr and stacks:\n{tracker.stderr}"
        ) from None


def _graceful_code(signal_number: int) -> int:
    return 128 + signal.SIGHUP if signal_number == signal.SIGHUP else 0


def _verify_ledger(config_path: Path) -> None:
    if (config_path.parent / "ledger.sqlite").exists():
        result = run_cli("ledger", "verify", "--config", str(config_path), timeout=60)
        assert result.returncode == 0, result.stdout + result.stderr


def test_signals_at_random_instants_of_start_up(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    probe = start_tracker(config_path)
    probe.wait_ready()
    ready_after = time.monotonic() - probe.started_at
    assert probe.stop() == 0
    seed = random.randrange(1 << 30)
    chooser = random.Random(seed)
    outcomes = []
    for trial in range(_TRIALS):
        signal_number = chooser.choice(_SIGNALS)
        delay = chooser.uniform(0.0, ready_after * 1.3)
        tracker = start_tracker(config_path)
        _wait_until_sigterm_is_caught(tracker)
        if trial == _TRIALS - 1:
            # On a loaded machine start-up can outlast every random delay: one trial always lands after
            # ready, so the graceful path is exercised whatever the timing.
            tracker.wait_ready()
        else:
            time.sleep(delay)
        tracker.send_signal(signal_number)
        code = _wait_or_dump_stacks(tracker, 60, f"seed={seed} trial={trial} {signal_number!r} {delay=}")
        drained = any(record.get("message") == "tracker: stopped" for record in tracker.log_records())
        outcomes.append((signal.Signals(signal_number).name, round(delay, 3), code, drained))
        context = f"seed={seed} trial={outcomes[-1]} stderr:\n{tracker.stderr}"
        assert "Traceback" not in tracker.stderr, context
        expected = _graceful_code(signal_number) if drained else 128 + signal_number
        assert code == expected, context
        if not drained:
            assert tracker.lines[-1] == f"error: interrupted by {signal.Signals(signal_number).name}", context
        _verify_ledger(config_path)
    assert outcomes[-1][3], outcomes  # the trial sent after ready drained


def test_a_second_sigterm_at_random_instants_of_the_drain(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    chooser = random.Random()
    for _ in range(6):
        tracker = start_tracker(config_path)
        tracker.wait_ready()
        tracker.send_signal(signal.SIGTERM)
        time.sleep(chooser.uniform(0.0, 0.3))
        if tracker.process.poll() is None:
            tracker.send_signal(signal.SIGTERM)
        code = tracker.wait(60)
        assert "Traceback" not in tracker.stderr, tracker.stderr
        assert code in (0, 143), tracker.stderr
        _verify_ledger(config_path)


def test_sighup_drains_like_sigterm_and_exits_129(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    tracker = start_tracker(config_path)
    tracker.wait_ready()
    tracker.send_signal(signal.SIGHUP)
    assert tracker.wait(60) == 129
    messages = [record.get("message") for record in tracker.log_records()]
    assert "tracker: shutdown requested, draining" in messages
    stopped = [record for record in tracker.log_records() if record.get("message") == "tracker: stopped"]
    assert stopped and stopped[0]["reason"] == "SIGHUP" and stopped[0]["forced"] is False
    snapshots = sorted(config_path.parent.glob("admission.snapshot.*"))
    assert snapshots, "the graceful stop writes a final snapshot"


# `run` with a signal whose KeyboardInterrupt Python swallows: raised from a __del__ method during start-up.
# With argv[3] == "python-hook", Python's own unraisable hook prints it and drops it (no re-delivery).
_SWALLOWED_SIGNAL_RUN = """
import signal, sys
import tracker.app._preflight as preflight
from tracker.cli import main

class SignalledDuringCleanup:
    def __del__(self):
        signal.raise_signal(int(sys.argv[2]))  # its KeyboardInterrupt cannot leave __del__

guard_state_files = preflight.guard_state_files

def signalled_guard_state_files(*args, **kwargs):
    if sys.argv[3] == "python-hook":
        sys.unraisablehook = sys.__unraisablehook__
    SignalledDuringCleanup()
    return guard_state_files(*args, **kwargs)

preflight.guard_state_files = signalled_guard_state_files
sys.exit(main(["run", "--config", sys.argv[1]]))
"""


@pytest.mark.parametrize("hook", ["ours", "python-hook"])
@pytest.mark.parametrize("signal_number", _SIGNALS, ids=lambda number: signal.Signals(number).name)
def test_a_signal_whose_interrupt_python_swallowed_still_ends_the_start_up(
    tmp_path: Path, signal_number: int, hook: str
) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    command = [sys.executable, "-c", _SWALLOWED_SIGNAL_RUN, str(config_path), str(int(signal_number)), hook]
    tracker = start_tracker(config_path, command=command)
    try:
        tracker._ready_event.wait(READY_TIMEOUT_S)  # set by the ready line, or when stderr closes
        assert tracker.ready is None, f"the tracker started serving after the signal:\n{tracker.stderr}"
        assert _wait_or_dump_stacks(tracker, 60, "swallowed signal") == 128 + signal_number, tracker.stderr
    finally:
        tracker.kill()
    assert tracker.lines[-1] == f"error: interrupted by {signal.Signals(signal_number).name}", tracker.stderr
    if hook == "ours":  # delivered again at once: no "Exception ignored ... Traceback"
        assert "Traceback" not in tracker.stderr and "Exception ignored" not in tracker.stderr, tracker.stderr
    else:  # printed and dropped by Python: the last guard before serving still stops the start
        assert "Exception ignored" in tracker.stderr


def test_sigquit_writes_every_thread_stack_then_ends_the_tracker(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    core_limit = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (0, core_limit[1]))  # inherited: SIGQUIT's action leaves no core
    try:
        tracker = start_tracker(config_path)
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, core_limit)
    tracker.wait_ready()
    tracker.send_signal(signal.SIGQUIT)
    assert tracker.wait(60) == -signal.SIGQUIT  # its default action, after the dump
    assert "Current thread" in tracker.stderr and "(most recent call first)" in tracker.stderr
    assert "tracker/cli/_run_cmd.py" in tracker.stderr, tracker.stderr
