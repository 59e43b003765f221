"""Benchmark of brokered requests end to end: a `trio-tracker run` process and a load-generator process on
127.0.0.1, N consumers and M seeders (reference peers from tracker.client). One brokered request =
broker_request → offer → assignment → usage_report → settlement push → SETTLE. Prints completed brokered
requests/s and p50/p99 end-to-end latency for each consumer count, beside the floor measured in the same run:
one BALANCE round trip (same tracker, same kind of connection) and one group-committed ledger append (same
machine, fresh ledger). Afterwards the ledger is checked: one USAGE entry per completed request (no double
charges, no lost entries) and `ledger verify` exits 0.

    .venv/bin/python bench/broker.py [--seconds 5] [--consumers 10,100] [--seeders 20]

Each run also prints the p50 of its three phases (broker_request → assignment; usage_report; settlement push →
SETTLE recorded) and the CPU (user + system, from /proc and os.times) that the tracker and the load generator
spent per completed request inside the measured window: on a shared machine throughput is noisy, CPU per
request much less so. The same window also shows how busy the whole machine was (other processes included),
and, per completed request, where the Trio thread of the tracker and of the load generator spent its time: on
a CPU, runnable but waiting for a CPU (another thread or process had it), or asleep (waiting for I/O, for the
next datagram, or for the GIL: a GIL convoy shows up here); and the tracker's worker threads (ledger writer,
tlog fsync, reads) likewise (/proc/<pid>/task/*/schedstat and status), and the tracker's garbage collections
by generation (its /metrics).

BROKER_BENCH_PROFILE=/tmp/tracker.prof runs the tracker under cProfile (the profile is written when it stops).
BROKER_BENCH_PYSPY=/tmp/dir samples the tracker and the load generator with py-spy (if installed in the venv)
during each measured window: raw stacks in /tmp/dir/{tracker,loadgen}-<consumers>.txt. Extra py-spy flags in
BROKER_BENCH_PYSPY_FLAGS (e.g. `--gil`: only samples holding the GIL; py-spy counts a thread that is runnable
but waiting for a CPU as active, so without it, the lines after a syscall that woke another thread collect the
time spent preempted).

Targets (issue "broker and settlement"): ≥ 300 completed brokered requests/s on a 2-core machine with the load
generator included; p99 ≤ 100 ms at 10 concurrent consumers.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _samples import cpu_seconds, cpu_split, percentile

REPO_ROOT = Path(__file__).resolve().parent.parent
TRIO_TRACKER = [sys.executable, "-m", "tracker"]
RUN_PREFIX = os.environ.get("BROKER_BENCH_PROFILE")  # a path: run the tracker under cProfile
SONNET = "claude-sonnet-4-6"


def _gc_collections(metrics_addr: str) -> list[float]:
    """The tracker's garbage collections so far, per generation (python_gc_collections_total)."""
    with urllib.request.urlopen(f"http://{metrics_addr}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = re.findall(r'^python_gc_collections_total\{generation="(\d)"\} (\S+)$', text, re.MULTILINE)
    return [float(value) for _, value in sorted(found)]


def _machine_busy_s() -> float:
    """CPU seconds every process on the machine spent so far, over all cores (Linux /proc/stat: user, nice,
    system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(field) for field in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _thread_stats(pid: int) -> dict[int, tuple[float, float, int, int]]:
    """Per thread of `pid` so far (Linux /proc): (seconds on a CPU, seconds runnable but waiting for a CPU,
    voluntary context switches, involuntary ones). A voluntary switch is the thread going to sleep: waiting
    for I/O, for work, or for the GIL."""
    stats: dict[int, tuple[float, float, int, int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            on_cpu_ns, run_delay_ns, _ = (task / "schedstat").read_text().split()
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread exited meanwhile
        switches = dict(line.split(":\t") for line in status.splitlines() if "ctxt_switches" in line)
        stats[int(task.name)] = (
            int(on_cpu_ns) / 1e9,
            int(run_delay_ns) / 1e9,
            int(switches["voluntary_ctxt_switches"]),
            int(switches["nonvoluntary_ctxt_switches"]),
        )
    return stats


def _thread_deltas(
    pid: int,
    before: dict[int, tuple[float, float, int, int]],
    after: dict[int, tuple[float, float, int, int]],
) -> dict[str, list[float]]:
    """{"trio": [...], "workers": [...]} (fields as `_thread_stats`) over a window: the main (Trio) thread and
    the sum of every other thread alive at its end (a thread started meanwhile counts from zero)."""
    totals = {"trio": [0.0, 0.0, 0.0, 0.0], "workers": [0.0, 0.0, 0.0, 0.0]}
    for tid, end in after.items():
        start = before.get(tid, (0.0, 0.0, 0, 0))
        total = totals["trio" if tid == pid else "workers"]
        for index in range(4):
            total[index] += end[index] - start[index]
    return totals


# ------------------------------------------------------------------------------------------- load generator
def _start_sampler(pid: int, seconds: float, name: str) -> None:
    """py-spy on `pid` for the measured window when BROKER_BENCH_PYSPY names a directory (raw stacks)."""
    directory = os.environ.get("BROKER_BENCH_PYSPY")
    if directory:
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(max(1, int(seconds))),
                "--rate",
                "200",
                "--nonblocking",
                "--threads",
                *os.environ.get("BROKER_BENCH_PYSPY_FLAGS", "").split(),
                "--format",
                "raw",
                "--output",
                str(Path(directory) / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


async def _loadgen(
    address: tuple[str, int], pin: bytes, consumers: int, seeders: int, seconds: float, tracker_pid: int
) -> dict:  # type: ignore[type-arg]
    import trio

    from tracker.client import ClientError, ConsumerPeer, SeederPeer, connect_peer
    from tracker.identity import generate_identity

    latencies: list[float] = []
    phases: list[tuple[float, float, float]] = []  # broker_request, usage_report, until countersigned
    failures: dict[str, int] = {}
    tokens: list[str] = []
    seeder_clients: dict[bytes, object] = {}
    ready = trio.Semaphore(0)
    stop = trio.Event()

    async def run_seeder() -> None:
        role = SeederPeer([SONNET])
        async with connect_peer(
            address, pin=pin, identity=generate_identity(), on_offer=role.on_offer
        ) as client:
            await client.enroll(role=2)
            await client.advertise([SONNET], headroom=0.9)
            seeder_clients[client.canonical_id] = client
            ready.release()
            await consumers_done.wait()

    async def run_consumer() -> None:
        role = ConsumerPeer()
        async with connect_peer(
            address, pin=pin, identity=generate_identity(), on_settlement=role.on_settlement
        ) as client:
            role.client = client
            await client.enroll(role=1)
            ready.release()
            await start.wait()
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    assignment = await role.request(SONNET, 10, 20)
                    assigned = time.perf_counter()
                    if isinstance(assignment, str):
                        failures[assignment] = failures.get(assignment, 0) + 1
                        await trio.sleep(0.01)
                        continue
                    seeder = seeder_by_address[assignment.seeder_addr.decode()]
                    await SeederPeer.report(seeder, assignment.reservation_token, SONNET, 10, 20)  # type: ignore[arg-type]
                    reported = time.perf_counter()
                    tokens.append(assignment.reservation_token.hex())  # acknowledged: must be in the ledger
                    await role.wait_settled(assignment.reservation_token)
                except ClientError as error:
                    failures[type(error).__name__] = failures.get(type(error).__name__, 0) + 1
                    continue
                if not stop.is_set():
                    settled = time.perf_counter()
                    latencies.append(settled - started)
                    phases.append((assigned - started, reported - assigned, settled - reported))

    start = trio.Event()
    consumers_done = trio.Event()
    seeder_by_address: dict[str, object] = {}
    async with trio.open_nursery() as nursery:
        for _ in range(seeders):
            nursery.start_soon(run_seeder)
        for _ in range(seeders):
            await ready.acquire()
        # the tracker names a seeder by the address it observed; map it back to our client
        for client in seeder_clients.values():
            seeder_by_address[await client.stun_allocate()] = client  # type: ignore[attr-defined]
        async with trio.open_nursery() as consumer_nursery:
            for _ in range(consumers):
                consumer_nursery.start_soon(run_consumer)
            for _ in range(consumers):
                await ready.acquire()
            _start_sampler(tracker_pid, seconds, f"tracker-{consumers}")
            _start_sampler(os.getpid(), seconds, f"loadgen-{consumers}")
            tracker_cpu = cpu_split(tracker_pid)
            tracker_threads = _thread_stats(tracker_pid)
            own_threads = _thread_stats(os.getpid())
            machine_busy = _machine_busy_s()
            own_cpu = os.times()
            start.set()
            began = time.perf_counter()
            await trio.sleep(seconds)
            stop.set()
            elapsed = time.perf_counter() - began
            tracker_after, own_after = cpu_split(tracker_pid), os.times()
            threads = _thread_deltas(tracker_pid, tracker_threads, _thread_stats(tracker_pid))
            own_trio = _thread_deltas(os.getpid(), own_threads, _thread_stats(os.getpid()))["trio"]
            machine_busy = _machine_busy_s() - machine_busy
            tracker_cpu = (tracker_after[0] - tracker_cpu[0], tracker_after[1] - tracker_cpu[1])
            own_cpu = (own_after.user - own_cpu.user, own_after.system - own_cpu.system)
        consumers_done.set()
    return {
        "completed": len(latencies),
        "elapsed": elapsed,
        "latencies": latencies,
        "phases": phases,
        "failures": failures,
        "tokens": tokens,
        "window_tracker_cpu_s": tracker_cpu,
        "window_loadgen_cpu_s": own_cpu,
        "window_tracker_threads": threads,
        "window_loadgen_trio_thread": own_trio,
        "window_machine_busy_s": machine_busy,
    }


async def _balance_floor(address: tuple[str, int], pin: bytes, seconds: float, tracker_pid: int) -> dict:  # type: ignore[type-arg]
    import trio

    from tracker.client import connect_peer
    from tracker.identity import generate_identity

    samples: list[float] = []
    async with connect_peer(address, pin=pin, identity=generate_identity()) as client:
        tracker_cpu = cpu_seconds(tracker_pid)
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            await client.balance()
            samples.append(time.perf_counter() - started)
        tracker_cpu = cpu_seconds(tracker_pid) - tracker_cpu
    await trio.lowlevel.checkpoint()
    return {"samples": samples, "tracker_cpu_s": tracker_cpu}


def _loadgen_main(args: argparse.Namespace) -> None:
    import trio

    host, _, port = args.address.rpartition(":")
    address = (host, int(port))
    pin = bytes.fromhex(args.pin)
    if args.role == "balance":
        result: object = trio.run(_balance_floor, address, pin, args.seconds, args.tracker_pid)
    else:
        result = trio.run(
            _loadgen, address, pin, args.consumers_one, args.seeders, args.seconds, args.tracker_pid
        )
    json.dump(result, sys.stdout)


# ----------------------------------------------------------------------------------------------- the floor
def _ledger_append_floor(seconds: float) -> list[float]:
    import trio

    from tracker.identity import generate_identity
    from tracker.ledger import open_ledger

    async def main() -> list[float]:
        samples: list[float] = []
        with tempfile.TemporaryDirectory() as directory:
            async with open_ledger(Path(directory) / "ledger.sqlite", generate_identity()) as ledger:
                deadline = time.perf_counter() + seconds
                index = 0
                while time.perf_counter() < deadline:
                    index += 1
                    started = time.perf_counter()
                    await ledger.issue_starter_grant(index.to_bytes(32, "big"), 1)
                    samples.append(time.perf_counter() - started)
        return samples

    return trio.run(main)


# -------------------------------------------------------------------------------------------------- driver
def _data_dir(directory: Path) -> Path:
    subprocess.run([*TRIO_TRACKER, "init", "--data-dir", str(directory)], check=True, capture_output=True)
    config = directory / "tracker.yaml"
    text = config.read_text()
    for pattern, value in (
        (r"(server:\n  listen_addr:)[^\n]*", r'\1 "127.0.0.1:0"'),
        (r"(admin:\n  listen_addr:)[^\n]*", r'\1 "127.0.0.1:0"'),
        (r"(metrics:\n  listen_addr:)[^\n]*", r'\1 "127.0.0.1:0"'),
        (r"starter_grant_credits: \d+", "starter_grant_credits: 1000000000"),
        (r"enroll_rate_per_min_per_ip: \d+", "enroll_rate_per_min_per_ip: 1000000"),
        (r"broker_request_rate_per_sec: [\d.]+", "broker_request_rate_per_sec: 100000.0"),
        (r"load_threshold: \d+", "load_threshold: 1000"),
        (r"queue_drain_interval_ms: \d+", "queue_drain_interval_ms: 100"),
    ):
        text, count = re.subn(pattern, value, text, count=1)
        assert count == 1, pattern
    config.write_text(text)
    return config


def _start_tracker(config: Path) -> tuple[subprocess.Popen[str], dict[str, object]]:
    env = {**os.environ, "TOKEN_BAY_ADMIN_TOKEN": "bench"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cProfile", "-o", RUN_PREFIX, "-m", "tracker", "run", "--config", str(config)]
        if RUN_PREFIX
        else [*TRIO_TRACKER, "run", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    found: queue.Queue[dict[str, object] | None] = queue.Queue()

    def read_stderr() -> None:  # keep draining: a full pipe would block the tracker's logging
        assert process.stderr is not None
        for line in process.stderr:
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and "rpc_addr" in record and "pin" in record:
                found.put(record)
        found.put(None)

    threading.Thread(target=read_stderr, daemon=True).start()
    record = found.get(timeout=60)
    if record is None:
        raise RuntimeError("tracker exited before its ready line")
    record["pid"] = process.pid
    return process, record


def _run_loadgen(ready: dict[str, object], role: str, consumers: int, seeders: int, seconds: float) -> object:
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--loadgen",
            role,
            "--address",
            str(ready["rpc_addr"]),
            "--pin",
            str(ready["pin"]),
            "--consumers-one",
            str(consumers),
            "--seeders",
            str(seeders),
            "--seconds",
            str(seconds),
            "--tracker-pid",
            str(ready["pid"]),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"load generator failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--consumers", default="10,100")
    parser.add_argument("--seeders", type=int, default=20)
    parser.add_argument("--loadgen", dest="role", help=argparse.SUPPRESS)
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--pin", help=argparse.SUPPRESS)
    parser.add_argument("--consumers-one", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--tracker-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        _loadgen_main(args)
        return

    print(
        f"broker bench: {os.cpu_count()} CPUs, tracker + load generator on 127.0.0.1, "
        f"{args.seconds:g} s per run"
    )
    with tempfile.TemporaryDirectory() as directory:
        config = _data_dir(Path(directory) / "data")
        process, ready = _start_tracker(config)
        all_tokens: list[str] = []
        try:
            floor = _run_loadgen(ready, "balance", 0, 0, min(args.seconds, 3.0))
            assert isinstance(floor, dict)
            balance = floor["samples"]
            balance_p50 = statistics.median(balance)
            balance_cpu_us = floor["tracker_cpu_s"] * 1e6 / len(balance)
            print(
                f"floor: BALANCE round trip p50 {balance_p50 * 1e3:.2f} ms, "
                f"p99 {percentile(balance, 0.99) * 1e3:.2f} ms ({len(balance)} calls); tracker CPU "
                f"{balance_cpu_us:.0f} µs per call (one request, one response, sequential)"
            )
            runs = []
            for consumers in [int(text) for text in args.consumers.split(",")]:
                cpu_before = cpu_seconds(process.pid)
                gc_before = _gc_collections(str(ready["metrics_addr"]))
                result = _run_loadgen(ready, "broker", consumers, args.seeders, args.seconds)
                assert isinstance(result, dict)
                result["tracker_cpu_s"] = cpu_seconds(process.pid) - cpu_before
                result["tracker_gc"] = [
                    after - before
                    for before, after in zip(
                        gc_before, _gc_collections(str(ready["metrics_addr"])), strict=True
                    )
                ]
                all_tokens.extend(result["tokens"])
                runs.append((consumers, result))
        finally:
            process.terminate()
            process.wait(30)
        append = _ledger_append_floor(min(args.seconds, 3.0))
        append_p50 = statistics.median(append)
        print(
            f"floor: one group-committed ledger append p50 {append_p50 * 1e3:.2f} ms, "
            f"p99 {percentile(append, 0.99) * 1e3:.2f} ms ({len(append)} appends, fsync per commit)"
        )
        for consumers, result in runs:
            latencies = result["latencies"]
            rate = result["completed"] / result["elapsed"]
            p50 = percentile(latencies, 0.5)
            cpu_ms = result["tracker_cpu_s"] * 1e3 / max(1, len(result["tokens"]))
            print(
                f"brokered: {consumers} consumers / {args.seeders} seeders: {rate:.0f} completed/s, "
                f"p50 {p50 * 1e3:.1f} ms, p99 {percentile(latencies, 0.99) * 1e3:.1f} ms; "
                f"p50 / (BALANCE + append) floor = {p50 / (balance_p50 + append_p50):.1f}x; "
                f"not assigned: {result['failures'] or 'none'}; tracker CPU "
                f"{cpu_ms:.1f} ms per request (whole run)"
            )
            phases = result["phases"]
            print(
                "  p50 per phase: "
                + ", ".join(
                    f"{name} {percentile([phase[index] for phase in phases], 0.5) * 1e3:.1f} ms"
                    for index, name in enumerate(
                        ("broker_request → assignment", "usage_report", "settlement push → SETTLE done")
                    )
                )
            )
            window = max(1, result["completed"])
            tracker_user, tracker_system = result["window_tracker_cpu_s"]
            loadgen_user, loadgen_system = result["window_loadgen_cpu_s"]
            print(
                f"  CPU per completed request in the measured window: tracker "
                f"{(tracker_user + tracker_system) * 1e6 / window:.0f} µs "
                f"({tracker_system * 1e6 / window:.0f} µs system), load generator "
                f"{(loadgen_user + loadgen_system) * 1e6 / window:.0f} µs "
                f"({loadgen_system * 1e6 / window:.0f} µs system); the whole machine was busy "
                f"{result['window_machine_busy_s'] / result['elapsed']:.2f} of {os.cpu_count()} CPUs, "
                f"tracker + load generator "
                f"{(tracker_user + tracker_system + loadgen_user + loadgen_system) / result['elapsed']:.2f}"
            )
            trio_thread, workers = (result["window_tracker_threads"][name] for name in ("trio", "workers"))
            asleep = max(0.0, result["elapsed"] - trio_thread[0] - trio_thread[1])
            print(
                f"  tracker's Trio thread per completed request: {trio_thread[0] * 1e6 / window:.0f} µs on a "
                "CPU, "
                f"{trio_thread[1] * 1e6 / window:.0f} µs waiting for one, {asleep * 1e6 / window:.0f} µs "
                f"asleep ({trio_thread[2] / window:.1f} sleeps); its worker threads: "
                f"{workers[0] * 1e6 / window:.0f} µs on a CPU, {workers[1] * 1e6 / window:.0f} µs waiting, "
                f"{workers[2] / window:.1f} sleeps; tracker garbage collections in the whole run, by "
                f"generation: {', '.join(f'{count:.0f}' for count in result['tracker_gc'])}"
            )
            own_trio = result["window_loadgen_trio_thread"]
            print(
                f"  load generator's Trio thread per completed request: {own_trio[0] * 1e6 / window:.0f} µs "
                "on a "
                f"CPU, {own_trio[1] * 1e6 / window:.0f} µs waiting for one, "
                f"{max(0.0, result['elapsed'] - own_trio[0] - own_trio[1]) * 1e6 / window:.0f} µs asleep"
            )
        ledger_path = Path(directory) / "data" / "ledger.sqlite"
        connection = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
        request_ids = [
            bytes(row[0]).hex() for row in connection.execute("SELECT request_id FROM entries WHERE kind = 1")
        ]
        connection.close()
        double = len(request_ids) - len(set(request_ids))
        lost = len(set(all_tokens) - set(request_ids))
        verify = subprocess.run(
            [*TRIO_TRACKER, "ledger", "verify", "--config", str(config)], capture_output=True, text=True
        )
        print(
            f"ledger: {len(request_ids)} USAGE entries for {len(set(all_tokens))} settled requests; "
            f"double charges {double}, lost usage entries {lost}; ledger verify exit {verify.returncode}"
        )


if __name__ == "__main__":
    main()
