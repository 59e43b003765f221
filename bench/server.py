"""Benchmark of `trio-tracker run`: start-to-ready time and admin requests/s against a bare Hypercorn +
Quart-Trio hello app measured in the same run.

    .venv/bin/python bench/server.py [--seconds 5] [--connections 16] [--starts 5]

Prints one line per figure. Targets: start → ready ≤ 1.5 s on an `init` data dir; /health and
/admission/status ≥ 80 % of the bare app's /health requests/s. The load client is a separate process speaking
raw HTTP/1.1 keep-alive over loopback (cheaper than any Python HTTP library, so the server is what is
measured).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TRIO_TRACKER = [str(Path(sys.executable).parent / "trio-tracker")]
ADMIN_TOKEN = "bench-token"
READY_MESSAGE = "tracker: ready"


# ---------------------------------------------------------------------------------------------- bare app
def serve_bare_app() -> None:
    """Child mode: a Quart-Trio hello app on Hypercorn at 127.0.0.1:0; prints the bound address."""
    import trio
    from hypercorn.config import Config
    from hypercorn.trio import serve
    from quart_trio import QuartTrio

    app = QuartTrio("bare")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    listening = socket.create_server(("127.0.0.1", 0), backlog=1024)
    host, port = listening.getsockname()[:2]
    address = f"{host}:{port}"
    config = Config()
    config.bind = [f"fd://{listening.detach()}"]
    config.accesslog = None
    config.errorlog = None

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(lambda task_status: serve(app, config, task_status=task_status))
            print(address, flush=True)

    trio.run(main)


# ---------------------------------------------------------------------------------------------- load client
def run_load(address: str, path: str, seconds: float, connections: int, token: str | None) -> None:
    """Child mode: `connections` keep-alive connections each sending GET `path` back to back for `seconds`;
    prints `{"requests": n, "errors": n, "seconds": s}`."""
    import trio

    host, port = address.rsplit(":", 1)
    headers = f"GET {path} HTTP/1.1\r\nHost: {address}\r\n"
    if token:
        headers += f"Authorization: Bearer {token}\r\n"
    request = (headers + "\r\n").encode()
    counts = {"requests": 0, "errors": 0}

    async def one_connection(deadline: float) -> None:
        stream = await trio.open_tcp_stream(host, int(port))
        buffer = b""
        async with stream:
            while trio.current_time() < deadline:
                await stream.send_all(request)
                while b"\r\n\r\n" not in buffer:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                while len(buffer) < length:
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        return
                    buffer += chunk
                buffer = buffer[length:]
                counts["requests" if status == 200 else "errors"] += 1

    async def main() -> None:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            for _ in range(connections):
                nursery.start_soon(one_connection, start + seconds)
        counts["seconds"] = trio.current_time() - start

    trio.run(main)
    print(json.dumps(counts), flush=True)


def measure(
    address: str, path: str, seconds: float, connections: int, token: str | None
) -> tuple[float, int]:
    output = subprocess.run(
        [sys.executable, __file__, "--load", address, path, str(seconds), str(connections), token or ""],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    result = json.loads(output.strip().splitlines()[-1])
    return result["requests"] / result["seconds"], result["errors"]


# ---------------------------------------------------------------------------------------------- tracker
def init_data_dir(directory: Path) -> Path:
    subprocess.run([*TRIO_TRACKER, "init", "--data-dir", str(directory)], check=True, capture_output=True)
    return directory / "tracker.yaml"


def start_tracker(config_path: Path) -> tuple[subprocess.Popen[str], float, dict[str, object]]:
    """Start `trio-tracker run`; returns the process, seconds from spawn to ready line, the ready record."""
    env = dict(os.environ, TOKEN_BAY_ADMIN_TOKEN=ADMIN_TOKEN)
    started = time.perf_counter()
    process = subprocess.Popen(
        [*TRIO_TRACKER, "run", "--config", str(config_path)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stderr is not None
    for line in process.stderr:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == READY_MESSAGE:
            elapsed = time.perf_counter() - started
            # Keep draining stderr so the tracker never blocks on a full pipe.
            subprocess_drain(process)
            return process, elapsed, record
    raise RuntimeError(f"tracker exited with {process.wait()} before becoming ready")


def subprocess_drain(process: subprocess.Popen[str]) -> None:
    import threading

    assert process.stderr is not None
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]


def stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGTERM)
    return process.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of each throughput run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent keep-alive connections")
    parser.add_argument("--starts", type=int, default=5, help="start → ready measurements")
    arguments = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-tracker-") as temporary:
        config_path = init_data_dir(Path(temporary) / "data")
        start_times = []
        for _ in range(arguments.starts):
            process, elapsed, _ = start_tracker(config_path)
            start_times.append(elapsed)
            stop(process)
        median_start = statistics.median(start_times)
        verdict = "OK" if median_start <= 1.5 else "SLOW"
        print(
            f"start→ready: median {median_start * 1000:.0f} ms, min {min(start_times) * 1000:.0f} ms, "
            f"max {max(start_times) * 1000:.0f} ms over {len(start_times)} starts "
            f"(target ≤ 1500 ms) {verdict}"
        )

        bare = subprocess.Popen([sys.executable, __file__, "--bare"], stdout=subprocess.PIPE, text=True)
        assert bare.stdout is not None
        bare_address = bare.stdout.readline().strip()
        try:
            bare_rps, bare_errors = measure(
                bare_address, "/health", arguments.seconds, arguments.connections, None
            )
        finally:
            bare.kill()
            bare.wait(30)
        print(
            f"bare Hypercorn+Quart-Trio GET /health: {bare_rps:,.0f} req/s "
            f"({arguments.connections} connections, {arguments.seconds:g} s, {bare_errors} non-200)"
        )

        process, _, ready = start_tracker(config_path)
        try:
            admin_address = str(ready["admin_addr"])
            for path in ("/health", "/admission/status"):
                rps, errors = measure(
                    admin_address, path, arguments.seconds, arguments.connections, ADMIN_TOKEN
                )
                ratio = rps / bare_rps if bare_rps else float("nan")
                verdict = "OK" if ratio >= 0.8 and errors == 0 else "BELOW TARGET"
                print(
                    f"trio-tracker GET {path}: {rps:,.0f} req/s = {ratio:.0%} of bare "
                    f"(target ≥ 80 %, {errors} non-200) {verdict}"
                )
        finally:
            code = stop(process)
        print(f"trio-tracker exit code after SIGTERM: {code}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--bare":
        serve_bare_app()
    elif len(sys.argv) > 1 and sys.argv[1] == "--load":
        address, path, seconds, connections, token = sys.argv[2:7]
        run_load(address, path, float(seconds), int(connections), token or None)
    else:
        main()
