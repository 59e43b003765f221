"""`trio-tracker run` across restarts: seeded state served as computed in-process, SIGTERM under admin load
(exit 0 quickly, clean tlog, final snapshot, same state after restart), SIGKILL recovery, second-signal
exit."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import httpx

from tests_e2e.test_run_support import (
    CONSUMERS,
    ExpectedConsumer,
    TrackerProcess,
    auth_headers,
    make_data_dir,
    recompute_from_ledger,
    seed_ledger_only,
    seed_through_admission,
    served_consumer,
    start_tracker,
    use_ephemeral_ports,
)
from tracker.admission.persistence._snapshot_store import enumerate_snapshots
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file
from tracker.config import load as load_config


def _normalised(expected: dict[bytes, ExpectedConsumer]) -> dict[bytes, ExpectedConsumer]:
    # The served JSON went through json.dumps/loads; compare like with like.
    return {
        key: ExpectedConsumer(value.balance, json.loads(json.dumps(value.admission)))
        for key, value in expected.items()
    }


def _served_state(tracker: TrackerProcess) -> dict[bytes, ExpectedConsumer]:
    return {consumer.identity_id: served_consumer(tracker, consumer.identity_id) for consumer in CONSUMERS}


def _start_ready(config_path: Path) -> TrackerProcess:
    tracker = start_tracker(config_path)
    tracker.wait_ready()
    return tracker


class AdminLoad:
    """Threads hammering reads and mutating admission routes (each mutation writes a tlog record)."""

    def __init__(self, tracker: TrackerProcess, threads: int = 6) -> None:
        self._tracker = tracker
        self._stop = threading.Event()
        self.ok = 0
        self.server_errors = 0
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._loop, args=(index,), daemon=True) for index in range(threads)
        ]

    def _loop(self, index: int) -> None:
        consumer = CONSUMERS[index % len(CONSUMERS)].identity_id.hex()
        peer = f"{index:064x}"
        requests = [
            ("GET", "/admission/status"),
            ("GET", f"/identity/{consumer}"),
            ("GET", f"/admission/consumer/{consumer}"),
            ("POST", f"/admission/peers/blocklist/{peer}"),
            ("DELETE", f"/admission/peers/blocklist/{peer}"),
        ]
        with httpx.Client(base_url=self._tracker.admin_url, headers=auth_headers(), timeout=5) as client:
            step = 0
            while not self._stop.is_set():
                method, path = requests[step % len(requests)]
                step += 1
                try:
                    response = client.request(method, path)
                except httpx.HTTPError:
                    continue  # the server is going away
                with self._lock:
                    if response.status_code >= 500:
                        self.server_errors += 1
                    elif response.status_code == 200:
                        self.ok += 1

    def __enter__(self) -> AdminLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(10)


def test_sigterm_under_admin_load_is_clean_and_restart_keeps_state(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    in_process = _normalised(seed_through_admission(config_path))
    config = load_config(config_path)

    tracker = _start_ready(config_path)
    try:
        # The seeded data dir is served exactly as the in-process run computed it.
        assert _served_state(tracker) == in_process
        with AdminLoad(tracker) as load:
            time.sleep(0.7)
            signalled_at = time.time()
            started = time.monotonic()
            tracker.send_signal(signal.SIGTERM)
            code = tracker.wait(10)
            elapsed = time.monotonic() - started
        assert code == 0, tracker.stderr
        assert elapsed < 5, f"shutdown took {elapsed:.1f} s"
        assert load.ok > 20 and load.server_errors == 0
    finally:
        tracker.kill()

    scans = [scan_tlog_file(path) for path in enumerate_tlog_files(config.admission.tlog_path)]
    assert scans and all(scan.clean for scan in scans), scans
    assert sum(scan.records for scan in scans) > 0
    snapshots = enumerate_snapshots(config.admission.snapshot_path_prefix)
    newest_seq, newest_path = snapshots[-1]
    assert newest_path.stat().st_mtime >= signalled_at - 1, "no final snapshot after SIGTERM"
    assert newest_seq >= max(scan.last_seq or 0 for scan in scans)
    records = tracker.log_records()
    assert any(record.get("message") == "tracker: stopped" for record in records)

    restarted = _start_ready(config_path)
    try:
        assert _served_state(restarted) == in_process
        status = httpx.get(f"{restarted.admin_url}/admission/status", headers=auth_headers(), timeout=10)
        assert status.status_code == 200
        assert restarted.stop() == 0
    finally:
        restarted.kill()


def test_sigkill_then_restart_recovers_the_ledger_state(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    seed_ledger_only(config_path, 0)

    tracker = _start_ready(config_path)
    try:
        # The start-up cross-check applied (and logged to the tlog) what admission had never seen.
        before = _served_state(tracker)
        assert all(value.balance > 0 for value in before.values())
        for consumer in CONSUMERS:
            response = httpx.post(
                f"{tracker.admin_url}/admission/recompute/{consumer.identity_id.hex()}",
                headers={**auth_headers(), "X-Operator-Id": "e2e"},
                timeout=10,
            )
            assert response.status_code == 200
        tracker.send_signal(signal.SIGKILL)
        assert tracker.wait(10) == -signal.SIGKILL
    finally:
        tracker.kill()

    seed_ledger_only(config_path, 1)  # committed while the tracker was down
    expected = _normalised(recompute_from_ledger(config_path))
    assert expected != _normalised(before)

    restarted = _start_ready(config_path)
    try:
        assert _served_state(restarted) == expected
        status = httpx.get(f"{restarted.admin_url}/admission/status", headers=auth_headers(), timeout=10)
        assert status.status_code == 200 and status.json()["queue_depth"] == 0
        assert restarted.stop() == 0
    finally:
        restarted.kill()
    # And once more after a clean stop: the state survives its own final snapshot.
    again = _start_ready(config_path)
    try:
        assert _served_state(again) == expected
        assert again.stop() == 0
    finally:
        again.kill()


def test_second_signal_forces_a_fast_exit_that_still_flushes_the_tlog(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    seed_ledger_only(config_path, 0)
    config = load_config(config_path)
    tracker = _start_ready(config_path)
    try:
        with AdminLoad(tracker, threads=3):
            time.sleep(0.3)
            tracker.send_signal(signal.SIGINT)
            time.sleep(0.01)  # Trio coalesces a signal that is still pending; let the first be received
            tracker.send_signal(signal.SIGINT)
            code = tracker.wait(10)
        assert code == 0, tracker.stderr
    finally:
        tracker.kill()
    stopped = [record for record in tracker.log_records() if record.get("message") == "tracker: stopped"]
    assert stopped and stopped[0]["reason"] == "SIGINT" and stopped[0]["forced"] is True, tracker.stderr
    scans = [scan_tlog_file(path) for path in enumerate_tlog_files(config.admission.tlog_path)]
    assert scans and all(scan.clean for scan in scans)
    # Whatever the forced exit skipped, the next start recovers the ledger state.
    expected = _normalised(recompute_from_ledger(config_path))
    restarted = _start_ready(config_path)
    try:
        assert _served_state(restarted) == expected
        assert restarted.stop() == 0
    finally:
        restarted.kill()
