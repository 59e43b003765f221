"""`trio-tracker run --log-format journald`: every stderr line starts with an sd-daemon `<N>` priority, the
ready line at info (<6>), and the tracker still starts and stops as usual."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests_e2e.test_run_support import READY_TIMEOUT_S, make_data_dir, start_tracker, use_ephemeral_ports

PRIORITY = re.compile(r"^<[0-7]>")


def test_journald_format_prefixes_every_line_with_its_priority(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    tracker = start_tracker(config_path, extra_args=("--log-format", "journald"))
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not any(line.startswith("<6>INFO  tracker: ready ") for line in tracker.lines):
            assert tracker.process.poll() is None and time.monotonic() < deadline, tracker.stderr
            time.sleep(0.05)
        assert tracker.stop() == 0
    finally:
        tracker.kill()
    assert tracker.lines and all(PRIORITY.match(line) for line in tracker.lines), tracker.stderr
    assert any(line.startswith("<6>INFO  tracker: stopped") for line in tracker.lines), tracker.stderr
    assert not any(line.startswith("<3>") for line in tracker.lines), tracker.stderr
