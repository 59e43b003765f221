"""Benchmark of durable admin mutations: authenticated blocklist add/remove from 32 concurrent clients (httpx)
against a `trio-tracker run` subprocess on 127.0.0.1, durable acknowledgements/s and latency percentiles,
beside the same server's non-durable baseline measured in the same run.

    .venv/bin/python bench/admin_mutations.py [--seconds 5] [--clients 32]

Durable: the `init` config as is; every 2xx means the OPERATOR_OVERRIDE record is written and fsynced
(concurrent requests share one write + fsync). Baseline: the same command and config with
`admission.tlog_path: ""` (the tlog disabled: the override is applied in memory and answered at once, no
record, nothing durable), so the difference is exactly the cost of durability. Target: durable acks/s >= 50 %
of the baseline. The clients run in `--procs` separate processes (httpx costs more CPU per request than the
server), each with its share of the connections. The machine may be shared with other work: figures are
noisy; the two configurations alternate twice and the better run of each is printed.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import trio
from _samples import percentile

TRIO_TRACKER = str(Path(sys.executable).parent / "trio-tracker")
ADMIN_TOKEN = "bench-token"
READY_MESSAGE = "tracker: ready"


def _set_value(config: Path, section: str, key: str, value: str) -> None:
    text = config.read_text()
    pattern = re.compile(rf"(^{section}:\n(?:[ \t]+.*\n|\n)*?[ \t]+{key}:)[^\n]*", re.MULTILINE)
    text, count = pattern.subn(rf'\g<1> "{value}"', text, count=1)
    assert count == 1, f"{section}.{key}"
    config.write_text(text)


def _data_dir(root: Path, durable: bool) -> Path:
    data_dir = root / ("durable" if durable else "baseline")
    subprocess.run([TRIO_TRACKER, "init", "--data-dir", str(data_dir)], check=True, capture_output=True)
    config = data_dir / "tracker.yaml"
    _set_value(config, "admin", "listen_addr", "127.0.0.1:0")
    _set_value(config, "metrics", "listen_addr", "127.0.0.1:0")
    if not durable:
        _set_value(config, "admission", "tlog_path", "")
    return config


class Server:
    """A `trio-tracker run` subprocess; the admin address comes from its ready log line."""

    def __init__(self, config: Path) -> None:
        env = {"TOKEN_BAY_ADMIN_TOKEN": ADMIN_TOKEN, "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen(
            [TRIO_TRACKER, "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.ready: dict[str, object] = {}
        event = threading.Event()

        def read() -> None:
            assert self.process.stderr is not None
            for line in self.process.stderr:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict) and record.get("message") == READY_MESSAGE:
                    self.ready = record
                    event.set()
            event.set()

        threading.Thread(target=read, daemon=True).start()
        event.wait(30)
        if not self.ready:
            self.process.kill()
            raise SystemExit("trio-tracker run did not become ready")

    def metric(self, name: str) -> float:
        text = httpx.get(f"http://{self.ready['metrics_addr']}/metrics", timeout=10).text
        match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else 0.0

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(30)


async def _load(admin: str, seconds: float, clients: int, first: int) -> tuple[int, int, list[float]]:
    """`clients` tasks, each with its own connection, alternate POST/DELETE of its own peer id (numbered
    from `first`). Returns (acks, errors, [elapsed, latencies…])."""
    latencies: list[float] = []
    errors = 0
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "X-Operator-Id": "bench"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async with httpx.AsyncClient(base_url=f"http://{admin}", headers=headers, limits=limits) as client:

        async def one_client(index: int, deadline: float) -> None:
            nonlocal errors
            path = f"/admission/peers/blocklist/{index:064x}"
            add = True
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                response = await (client.post(path) if add else client.delete(path))
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors += 1
                add = not add

        # warm-up, then the measured window
        for window in (min(1.0, seconds / 4), seconds):
            latencies.clear()
            errors = 0
            deadline = time.perf_counter() + window
            started = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for index in range(clients):
                    nursery.start_soon(one_client, first + index, deadline)
            elapsed = time.perf_counter() - started
    return len(latencies), errors, [elapsed, *sorted(latencies)]


def _child(admin: str, seconds: float, clients: int, first: int) -> None:
    acks, errors, timings = trio.run(_load, admin, seconds, clients, first)
    print(json.dumps({"acks": acks, "errors": errors, "elapsed": timings[0], "latencies": timings[1:]}))


def measure(config: Path, seconds: float, clients: int, procs: int) -> dict[str, float]:
    server = Server(config)
    try:
        fsyncs_before = server.metric("admission_tlog_fsyncs_total")
        share = clients // procs
        children = []
        for index in range(procs):
            count = share if index < procs - 1 else clients - share * (procs - 1)
            admin = str(server.ready["admin_addr"])
            command = [
                sys.executable,
                __file__,
                "--child",
                admin,
                str(seconds),
                str(count),
                str(1 + index * share),
            ]
            children.append(subprocess.Popen(command, stdout=subprocess.PIPE, text=True))
        outputs = [json.loads(child.communicate(timeout=seconds * 4 + 60)[0]) for child in children]
        fsyncs = server.metric("admission_tlog_fsyncs_total") - fsyncs_before
    finally:
        server.stop()
    acks = sum(output["acks"] for output in outputs)
    errors = sum(output["errors"] for output in outputs)
    elapsed = max(output["elapsed"] for output in outputs)
    ordered = sorted(latency for output in outputs for latency in output["latencies"])
    return {
        "acks_per_s": acks / elapsed,
        "p50_ms": percentile(ordered, 0.50) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "errors": errors,
        "fsyncs": fsyncs,
        "acks": acks,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--procs", type=int, default=2, help="client processes sharing the connections")
    parser.add_argument(
        "--child", nargs=4, metavar=("ADMIN", "SECONDS", "CLIENTS", "FIRST"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        admin, seconds, clients, first = args.child
        _child(admin, float(seconds), int(clients), int(first))
        return
    with tempfile.TemporaryDirectory(prefix="bench-admin-") as root:
        configs = {True: _data_dir(Path(root), True), False: _data_dir(Path(root), False)}
        results: dict[bool, list[dict[str, float]]] = {True: [], False: []}
        for durable in (False, True, False, True):
            results[durable].append(measure(configs[durable], args.seconds, args.clients, args.procs))
    best = {durable: max(runs, key=lambda run: run["acks_per_s"]) for durable, runs in results.items()}
    baseline, durable = best[False], best[True]
    print(
        f"admin blocklist add/remove, {args.clients} concurrent httpx clients in {args.procs} processes, "
        f"{args.seconds:g} s windows, best of 2 alternating runs (shared machine: noisy)"
    )
    print(
        f"baseline (tlog disabled, acks NOT durable): {baseline['acks_per_s']:8.0f} acks/s  "
        f"p50 {baseline['p50_ms']:6.2f} ms  p99 {baseline['p99_ms']:6.2f} ms  errors {baseline['errors']:.0f}"
    )
    acks_per_fsync = durable["acks"] / durable["fsyncs"] if durable["fsyncs"] else float("nan")
    print(
        f"durable (written + fsynced before 2xx):    {durable['acks_per_s']:8.0f} acks/s  "
        f"p50 {durable['p50_ms']:6.2f} ms  p99 {durable['p99_ms']:6.2f} ms  errors {durable['errors']:.0f}  "
        f"({acks_per_fsync:.1f} acks per fsync)"
    )
    ratio = durable["acks_per_s"] / baseline["acks_per_s"]
    verdict = "meets" if ratio >= 0.5 else "MISSES"
    print(f"durable / baseline = {ratio:.0%} (target >= 50 %: {verdict})")


if __name__ == "__main__":
    main()
