"""Benchmark of the plugin RPC listener: unary BALANCE round trips/s and server CPU per RPC, p99 latency,
full mTLS handshakes/s, and idle connections with heartbeats (CPU share, RSS per connection, pong delay,
kernel UDP drops), printed beside a baseline measured in the same run: the same router (the same BALANCE
handler on the same kind of ledger) behind plain Trio TCP with 4-byte length-prefixed frames, one task per
request.

    .venv/bin/python bench/rpc.py [--seconds 5] [--idle 2000] [--idle-hold 45] [--idle-processes 4]
                                  [--handshake-seconds 5] [--shapes 1x16,50x16,1x64] [--profile FILE]

--profile FILE runs the QUIC server under cProfile and writes its stats to FILE when the run ends (read them
with `python -m pstats FILE`); the CPU figures of a profiled run are inflated by the profiler.

A part is skipped when its figure is 0 (--seconds 0: no unary runs; --handshake-seconds 0; --idle 0).

Server and load generator are separate processes on 127.0.0.1; server CPU is read from /proc/<pid>/stat.
Targets (issue "plugin RPC listener"): ≤ 100 µs server CPU per RPC at ≥ 16 in flight; p99 ≤ 20 ms at 64 in
flight on one connection; ≥ 200 handshakes/s per core; 2,000 idle connections with 15 s heartbeats: ≤ 10 % of
a core, ≤ 128 KB RSS per connection, every pong within 1 s, 0 kernel UDP drops.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _samples import cpu_seconds

REPO_ROOT = Path(__file__).resolve().parent.parent
HANDSHAKES_IN_PROGRESS = 8  # per idle-load process
CONNECT_ATTEMPTS = 3


# ---------------------------------------------------------------------------------------------- servers
def _service(directory: str):  # type: ignore[no-untyped-def]
    """A TrackerRpcService over a fresh ledger in `directory` (an async context manager)."""
    from contextlib import asynccontextmanager

    import trio

    from tracker.identity import generate_identity
    from tracker.ledger import IdentityStore, open_ledger
    from tracker.registry import Registry
    from tracker.rpc import RpcServiceSettings, TrackerRpcService, certificate_pin, tracker_certificate

    @asynccontextmanager
    async def opened():  # type: ignore[no-untyped-def]
        identity = generate_identity()
        path = Path(directory) / "ledger.sqlite"
        async with open_ledger(path, identity) as ledger:
            identities = await trio.to_thread.run_sync(IdentityStore.open, path)
            service = TrackerRpcService(
                ledger=ledger,
                identities=identities,
                registry=Registry(),
                tracker_identity=identity,
                tracker_pin=certificate_pin(tracker_certificate(identity)),
                settings=RpcServiceSettings(enroll_rate_per_min_per_ip=1_000_000),
            )
            try:
                yield identity, service
            finally:
                identities.close()

    return opened()


def _profile_until_terminated(path: str) -> None:
    """Profile this process from now on; on SIGTERM write the stats to `path` and exit."""
    import cProfile
    import signal

    profiler = cProfile.Profile(time.process_time)  # CPU time: waits and preemption are not costs

    def dump(*_: object) -> None:
        profiler.disable()
        profiler.dump_stats(path)
        os._exit(0)

    signal.signal(signal.SIGTERM, dump)
    profiler.enable()


def _watch_gc_pauses() -> list[float]:
    """A one-item list kept at the longest garbage-collector pause (seconds) since it was last reset."""
    import gc

    longest = [0.0]
    started = [0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            longest[0] = max(longest[0], time.perf_counter() - started[0])

    gc.callbacks.append(callback)
    return longest


def serve_quic(directory: str) -> None:
    """Child mode: the RPC listener on 127.0.0.1:0; prints `{"address": [h, p], "pin": hex}`."""
    import trio

    if os.environ.get("RPC_BENCH_PROFILE"):
        _profile_until_terminated(os.environ["RPC_BENCH_PROFILE"])

    from tracker.app import settle_heap_after_startup
    from tracker.rpc import RpcServer, RpcServerSettings, bind_udp, tracker_certificate, x509_private_key

    async def main() -> None:
        async with _service(directory) as (identity, service):
            server = RpcServer(
                bind_udp("127.0.0.1", 0),
                tracker_certificate(identity),
                x509_private_key(identity),
                service,
                RpcServerSettings(max_connections=20_000),
            )
            lag = [0.0]
            gc_pause = _watch_gc_pauses()
            async with trio.open_nursery() as nursery:
                await nursery.start(server.serve)
                settle_heap_after_startup()  # as `trio-tracker run` does before serving
                nursery.start_soon(_loop_lag_probe, lag)
                print(json.dumps({"address": server.local_address, "pin": server.pin.hex()}), flush=True)
                # Each line on stdin asks for the datagram counters and the loop lag since the last ask.
                while await trio.to_thread.run_sync(sys.stdin.readline):
                    udp = server.udp
                    stats = {
                        "sent": udp.datagrams_sent,
                        "received": udp.datagrams_received,
                        "loop_lag": lag[0],
                        "gc_pause": gc_pause[0],
                    }
                    lag[0] = gc_pause[0] = 0.0
                    print(json.dumps(stats), flush=True)

    trio.run(main)


def serve_tcp(directory: str) -> None:
    """Child mode: the baseline, the same handler behind Trio TCP with length-prefixed frames."""
    import trio

    from tracker._proto.rpc_pb2 import RpcRequest
    from tracker.app import settle_heap_after_startup
    from tracker.rpc import FrameReader, Peer, encode_frame

    peer = Peer(b"\x01" * 32, b"\x02" * 32, b"\x03" * 32, "127.0.0.1", 1, 0.0)

    async def main() -> None:
        async with _service(directory) as (_, service):

            async def handle(stream: trio.SocketStream) -> None:
                reader = FrameReader()
                lock = trio.Lock()

                async def one(body: bytes) -> None:
                    request = RpcRequest.FromString(body)
                    response = await service.handle_rpc(peer, request.method, request.payload)
                    async with lock:
                        await stream.send_all(encode_frame(response))

                try:
                    async with trio.open_nursery() as nursery:
                        async for data in stream:
                            reader.feed(data)
                            while (body := reader.next_frame()) is not None:
                                nursery.start_soon(one, body)
                except* (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # the load client went away with requests in flight

            listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
            settle_heap_after_startup()  # the same collector settings as the QUIC server
            address = listeners[0].socket.getsockname()[:2]
            print(json.dumps({"address": address}), flush=True)
            await trio.serve_listeners(handle, listeners)

    trio.run(main)


# ---------------------------------------------------------------------------------------------- load
async def _connect_then_go(one_connection, connections: int, seconds: float) -> None:  # type: ignore[no-untyped-def]
    """Open `connections` with `one_connection(ready, start, deadline)`, say ready on stdout, wait for a line
    on stdin, then let them run for `seconds`."""
    import trio

    start = trio.Event()
    deadline = [0.0]
    readies = [trio.Event() for _ in range(connections)]
    async with trio.open_nursery() as nursery:
        for ready in readies:
            nursery.start_soon(one_connection, ready, start, deadline)
        for ready in readies:
            await ready.wait()
        print(json.dumps({"ready": True}), flush=True)
        await trio.to_thread.run_sync(sys.stdin.readline)
        deadline[0] = trio.current_time() + seconds
        start.set()


def load_quic(address: list, pin: str, connections: int, in_flight: int, seconds: float) -> None:
    """Child mode: `connections` peers × `in_flight` concurrent BALANCE loops for `seconds`."""
    import trio

    from tracker._proto.rpc_pb2 import BalanceRequest
    from tracker.client import connect_peer
    from tracker.identity import generate_identity

    payload = BalanceRequest(identity_id=b"\x05" * 32).SerializeToString()
    latencies: list[float] = []
    errors = 0

    async def one_connection(ready: trio.Event, start: trio.Event, deadline: list[float]) -> None:
        nonlocal errors
        async with connect_peer(tuple(address), pin=bytes.fromhex(pin), identity=generate_identity()) as peer:
            ready.set()
            await start.wait()

            async def loop() -> None:
                nonlocal errors
                while trio.current_time() < deadline[0]:
                    began = trio.current_time()
                    response = await peer.call_raw(3, payload)
                    if response.status != 1:
                        errors += 1
                    latencies.append(trio.current_time() - began)

            async with trio.open_nursery() as nursery:
                for _ in range(in_flight):
                    nursery.start_soon(loop)

    trio.run(_connect_then_go, one_connection, connections, seconds)
    latencies.sort()
    print(json.dumps(_latency_report(latencies, errors, seconds)), flush=True)


def load_tcp(address: list, connections: int, in_flight: int, seconds: float) -> None:
    """Child mode: baseline load, `in_flight` outstanding framed requests per TCP connection."""
    import trio

    from tracker._proto.rpc_pb2 import BalanceRequest, RpcRequest
    from tracker.rpc import FrameReader, encode_frame

    frame = encode_frame(
        RpcRequest(
            method=3, payload=BalanceRequest(identity_id=b"\x05" * 32).SerializeToString()
        ).SerializeToString()
    )
    done = 0

    async def one_connection(ready: trio.Event, start: trio.Event, deadline: list[float]) -> None:
        nonlocal done
        stream = await trio.open_tcp_stream(address[0], address[1])
        ready.set()
        await start.wait()
        reader = FrameReader()
        async with stream:
            await stream.send_all(frame * in_flight)
            while trio.current_time() < deadline[0]:
                data = await stream.receive_some(65536)
                reader.feed(data)
                answered = 0
                while reader.next_frame() is not None:
                    answered += 1
                done += answered
                if answered:
                    await stream.send_all(frame * answered)

    trio.run(_connect_then_go, one_connection, connections, seconds)
    print(json.dumps({"requests": done, "errors": 0, "seconds": seconds}), flush=True)


def load_handshakes(address: list, pin: str, seconds: float, parallel: int) -> None:
    """Child mode: connect + one BALANCE + close, `parallel` loops, for `seconds`."""
    import trio

    from tracker._proto.rpc_pb2 import BalanceRequest
    from tracker.client import connect_peer
    from tracker.identity import generate_identity

    payload = BalanceRequest(identity_id=b"\x05" * 32).SerializeToString()
    count = 0

    async def loop(deadline: float) -> None:
        nonlocal count
        while trio.current_time() < deadline:
            identity = generate_identity()  # a reused identity would supersede its own live connection
            async with connect_peer(tuple(address), pin=bytes.fromhex(pin), identity=identity) as peer:
                await peer.call_raw(3, payload)
            count += 1

    async def main() -> None:
        print(json.dumps({"ready": True}), flush=True)
        sys.stdin.readline()
        deadline = trio.current_time() + seconds
        async with trio.open_nursery() as nursery:
            for _ in range(parallel):
                nursery.start_soon(loop, deadline)
        print(json.dumps({"requests": count, "errors": 0, "seconds": seconds}), flush=True)

    trio.run(main)


async def _loop_lag_probe(lag: list[float], period: float = 0.01) -> None:
    """Keep lag[0] at the largest lateness of a `period` s sleep: how long the process's event loop was busy
    or descheduled when it should have run."""
    import trio

    while True:
        began = trio.current_time()
        await trio.sleep(period)
        lag[0] = max(lag[0], trio.current_time() - began - period)


def load_idle(address: list, pin: str, connections: int, hold: float, period: float, spacing: float) -> None:
    """Child mode: `connections` peers heartbeating every `period` s (one connect every `spacing` s), held
    `hold` s after "go". Pong delays are reported for the held window and, apart, for the connect phase;
    `loop_lag` is this process's own event-loop lag while held (a pong is late by at least that much)."""
    import trio

    from tracker.client import ConnectError, connect_peer
    from tracker.identity import generate_identity

    peers: list = []

    handshakes = trio.Semaphore(HANDSHAKES_IN_PROGRESS)  # a wave paced by the server, not a flood

    retries = 0

    async def one(ready: trio.Event, stop: trio.Event) -> None:
        nonlocal retries
        identity = generate_identity()
        for attempt in range(CONNECT_ATTEMPTS):  # as a plugin does, a refused or timed-out connect is retried
            await handshakes.acquire()
            try:
                async with connect_peer(
                    tuple(address), pin=bytes.fromhex(pin), identity=identity, heartbeat_period_s=period
                ) as peer:
                    handshakes.release()
                    peers.append(peer)
                    ready.set()
                    await stop.wait()
                    return
            except ConnectError:
                handshakes.release()
                if attempt == CONNECT_ATTEMPTS - 1:
                    raise
                retries += 1
            except BaseException:
                if not ready.is_set():
                    handshakes.release()
                raise

    async def main() -> None:
        stop = trio.Event()
        lag = [0.0]
        async with trio.open_nursery() as nursery:
            readies = []
            for _ in range(connections):
                ready = trio.Event()
                readies.append(ready)
                nursery.start_soon(one, ready, stop)
                await trio.sleep(spacing)
            for ready in readies:
                await ready.wait()
            print(json.dumps({"ready": True}), flush=True)
            await trio.to_thread.run_sync(sys.stdin.readline)
            connecting_delay = max((peer.max_pong_delay for peer in peers), default=0.0)
            pongs_before = sum(peer.pongs for peer in peers)
            for peer in peers:
                peer.max_pong_delay = 0.0
            probe = trio.CancelScope()

            async def probe_lag() -> None:
                with probe:
                    await _loop_lag_probe(lag)

            nursery.start_soon(probe_lag)
            await trio.sleep(hold)
            report = {
                "connected": len(peers),
                "closed": sum(1 for peer in peers if peer.closed),
                "max_pong_delay": max((peer.max_pong_delay for peer in peers), default=0.0),
                "max_pong_delay_connecting": connecting_delay,
                "pongs": sum(peer.pongs for peer in peers) - pongs_before,
                "loop_lag": lag[0],
                "connect_retries": retries,
            }
            print(json.dumps(report), flush=True)
            probe.cancel()
            stop.set()

    trio.run(main)


def _latency_report(latencies: list[float], errors: int, seconds: float) -> dict[str, float]:
    if not latencies:
        return {"requests": 0, "errors": errors, "seconds": seconds}
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


# ---------------------------------------------------------------------------------------------- parent
def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _udp_receive_errors() -> int:
    lines = [
        line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Udp:")
    ]
    header, values = lines[0], lines[1]
    return int(values[header.index("RcvbufErrors")]) + int(values[header.index("InErrors")])


def _datagram_counters(server: subprocess.Popen[str]) -> dict[str, int]:
    """The QUIC server's datagrams sent and received so far."""
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("stats\n")
    server.stdin.flush()
    return json.loads(server.stdout.readline())


def _measure(
    server: subprocess.Popen[str], load_args: list[str], *, quic: bool = True
) -> tuple[dict, float, float]:
    """Run one load child against `server`; returns its report (with its own CPU seconds and the QUIC
    server's datagrams sent and received while it ran), server CPU seconds, wall seconds."""
    load = _child(*load_args)
    assert load.stdout is not None and load.stdin is not None
    json.loads(load.stdout.readline())  # ready
    before = _datagram_counters(server) if quic else {}
    cpu_before, wall_before = cpu_seconds(server.pid), time.perf_counter()
    load_cpu_before = cpu_seconds(load.pid)
    load.stdin.write("go\n")
    load.stdin.flush()
    report = json.loads(load.stdout.readline())
    cpu, wall = cpu_seconds(server.pid) - cpu_before, time.perf_counter() - wall_before
    report["load_cpu"] = cpu_seconds(load.pid) - load_cpu_before
    if quic:
        after = _datagram_counters(server)
        report.update({key: after[key] - before[key] for key in ("sent", "received")})
        report.update(server_loop_lag=after["loop_lag"], server_gc_pause=after["gc_pause"])
    load.stdin.close()
    load.wait(timeout=60)
    return report, cpu, wall


def _start(mode: str, directory: str) -> tuple[subprocess.Popen[str], dict]:
    server = _child(mode, directory)
    assert server.stdout is not None
    return server, json.loads(server.stdout.readline())


def _stop(server: subprocess.Popen[str]) -> None:
    server.terminate()
    server.wait(timeout=10)


def _unary_line(label: str, report: dict, cpu: float) -> str:
    requests = max(1, report["requests"])
    line = (
        f"{label}: {report['requests'] / report['seconds']:,.0f} RPC/s, "
        f"server CPU {cpu / requests * 1e6:.0f} µs/RPC"
        f" ({report['requests'] / max(cpu, 1e-9):,.0f} RPC/s per core-second)"
        f", load generator CPU {report['load_cpu'] / requests * 1e6:.0f} µs/RPC"
    )
    if "p99_ms" in report:
        line += f", p50 {report['p50_ms']:.1f} ms, p99 {report['p99_ms']:.1f} ms"
    if "sent" in report:
        line += (
            f", datagrams out/in per RPC {report['sent'] / requests:.2f}/{report['received'] / requests:.2f}"
            f", server loop lag up to {report['server_loop_lag'] * 1000:.0f} ms"
            f" (GC pause up to {report['server_gc_pause'] * 1000:.0f} ms)"
        )
    if report.get("errors"):
        line += f", {report['errors']} errors"
    return line


def _idle_line(quic: subprocess.Popen[str], address: str, pin: str, args: argparse.Namespace) -> str:
    """Hold `args.idle` heartbeating connections, spread over `args.idle_processes` load processes."""
    processes = max(1, min(args.idle_processes, args.idle))
    shares = [args.idle // processes + (1 if i < args.idle % processes else 0) for i in range(processes)]
    spacing = str(0.002 * processes)  # the whole wave connects one peer every 2 ms
    rss_before, drops_at_start = _rss_kib(quic.pid), _udp_receive_errors()
    loads = [
        _child("load-idle", address, pin, str(share), str(args.idle_hold), str(args.heartbeat), spacing)
        for share in shares
    ]
    for load in loads:
        assert load.stdout is not None
        json.loads(load.stdout.readline())
    rss_connected, drops_before = _rss_kib(quic.pid), _udp_receive_errors()
    _datagram_counters(quic)  # resets the server's loop-lag maximum
    cpu_before, wall_before = cpu_seconds(quic.pid), time.perf_counter()
    for load in loads:
        assert load.stdin is not None
        load.stdin.write("go\n")
        load.stdin.flush()
    reports = [json.loads(load.stdout.readline()) for load in loads]  # type: ignore[union-attr]
    cpu, wall = cpu_seconds(quic.pid) - cpu_before, time.perf_counter() - wall_before
    server_stats = _datagram_counters(quic)
    for load in loads:
        load.stdin.close()  # type: ignore[union-attr]
        load.wait(timeout=120)
    connected = sum(report["connected"] for report in reports)
    return (
        f"QUIC {connected} idle connections ({processes} load processes), {args.heartbeat:g} s heartbeats, "
        f"held {wall:.0f} s: server CPU {cpu / wall * 100:.1f} % of a core, RSS "
        f"{(rss_connected - rss_before) / max(1, connected):.0f} KiB per connection, "
        f"max pong delay {max(report['max_pong_delay'] for report in reports) * 1000:.0f} ms "
        f"(load processes' loop lag up to {max(report['loop_lag'] for report in reports) * 1000:.0f} ms, "
        f"server's {server_stats['loop_lag'] * 1000:.0f} ms, its longest GC pause "
        f"{server_stats['gc_pause'] * 1000:.0f} ms; while connecting "
        f"{max(report['max_pong_delay_connecting'] for report in reports) * 1000:.0f} ms), "
        f"{sum(report['pongs'] for report in reports)} pongs, "
        f"{sum(report['closed'] for report in reports)} closed, "
        f"{sum(report['connect_retries'] for report in reports)} connects retried, "
        f"kernel UDP receive errors {_udp_receive_errors() - drops_before} while held "
        f"({drops_before - drops_at_start} while connecting)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--handshake-seconds", type=float, default=5.0)
    parser.add_argument("--idle", type=int, default=2000, help="idle connections (0 = skip)")
    parser.add_argument("--idle-hold", type=float, default=45.0)
    parser.add_argument(
        "--idle-processes", type=int, default=4, help="load processes the idle connections are spread over"
    )
    parser.add_argument("--heartbeat", type=float, default=15.0)
    parser.add_argument("--shapes", default="1x16,50x16,1x64", help="unary runs: CONNECTIONSxIN_FLIGHT,...")
    parser.add_argument("--profile", help="write the QUIC server's cProfile stats to this file")
    args = parser.parse_args()
    shapes = [tuple(int(n) for n in shape.split("x")) for shape in args.shapes.split(",") if shape]
    if args.profile:
        os.environ["RPC_BENCH_PROFILE"] = str(Path(args.profile).resolve())
    print(f"machine: {os.cpu_count()} cores, load generator and server in separate processes on 127.0.0.1")
    with tempfile.TemporaryDirectory() as quic_dir, tempfile.TemporaryDirectory() as tcp_dir:
        quic, quic_info = _start("serve-quic", quic_dir)
        os.environ.pop("RPC_BENCH_PROFILE", None)
        tcp, tcp_info = _start("serve-tcp", tcp_dir)
        address, pin = json.dumps(quic_info["address"]), quic_info["pin"]
        tcp_address = json.dumps(tcp_info["address"])
        try:
            for connections, in_flight in shapes if args.seconds > 0 else ():
                shape = f"{connections} conn × {in_flight} in flight"
                report, cpu, _ = _measure(
                    quic, ["load-quic", address, pin, str(connections), str(in_flight), str(args.seconds)]
                )
                print(_unary_line(f"QUIC BALANCE {shape}", report, cpu), flush=True)
                report, cpu, _ = _measure(
                    tcp,
                    ["load-tcp", tcp_address, str(connections), str(in_flight), str(args.seconds)],
                    quic=False,
                )
                print(_unary_line(f"TCP baseline {shape}", report, cpu), flush=True)
            if args.handshake_seconds > 0:
                report, cpu, _ = _measure(
                    quic, ["load-handshakes", address, pin, str(args.handshake_seconds), "4"]
                )
                count = max(1, report["requests"])
                print(
                    f"QUIC full mTLS handshake + 1 RPC + close: {count / report['seconds']:,.0f}/s, "
                    f"server CPU {cpu / count * 1e3:.2f} ms each "
                    f"({count / max(cpu, 1e-9):,.0f}/s per core-second)",
                    flush=True,
                )
            if args.idle:
                print(_idle_line(quic, address, pin, args), flush=True)
        finally:
            _stop(quic)
            _stop(tcp)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("serve-quic", "serve-tcp"):
        (serve_quic if sys.argv[1] == "serve-quic" else serve_tcp)(sys.argv[2])
    elif len(sys.argv) > 1 and sys.argv[1] == "load-quic":
        load_quic(
            json.loads(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
        )
    elif len(sys.argv) > 1 and sys.argv[1] == "load-tcp":
        load_tcp(json.loads(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "load-handshakes":
        load_handshakes(json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4]), int(sys.argv[5]))
    elif len(sys.argv) > 1 and sys.argv[1] == "load-idle":
        load_idle(
            json.loads(sys.argv[2]),
            sys.argv[3],
            int(sys.argv[4]),
            float(sys.argv[5]),
            float(sys.argv[6]),
            float(sys.argv[7]),
        )
    else:
        main()
