"""The plugin RPC listener of `trio-tracker run` over real QUIC: the pin from `init` and the ready line,
enrol + balance + advertise, the registry and /peers seen through the admin API, SIGTERM with 50 connected
peers (exit 0, every peer closed with "server close"), and a UDP port in use (exit 1, nothing opened)."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import trio

from tests_e2e.conftest import run_cli
from tests_e2e.test_run_support import (
    auth_headers,
    make_data_dir,
    set_listen_addr,
    start_tracker,
    tracker_env,
    use_ephemeral_ports,
)
from tracker.client import PeerClient, connect_peer
from tracker.identity import generate_identity


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def test_init_prints_the_pin_the_ready_line_reports(tmp_path: Path) -> None:
    result = run_cli("init", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    pins = [line.split()[1] for line in result.stdout.splitlines() if line.strip().startswith("pin ")]
    assert len(pins) == 1 and len(pins[0]) == 64
    config_path = tmp_path / "data" / "tracker.yaml"
    use_ephemeral_ports(config_path)
    set_listen_addr(config_path, "server", "127.0.0.1:0")
    tracker = start_tracker(config_path)
    try:
        ready = tracker.wait_ready()
        assert ready["pin"] == pins[0]
        assert str(ready["rpc_addr"]).startswith("127.0.0.1:")
    finally:
        assert tracker.stop() == 0


async def test_enrol_balance_advertise_then_sigterm_with_50_peers(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    use_ephemeral_ports(config_path)
    set_listen_addr(config_path, "server", "127.0.0.1:0")
    tracker = start_tracker(config_path)
    try:
        ready = await trio.to_thread.run_sync(tracker.wait_ready)
        address, pin = _address(str(ready["rpc_addr"])), bytes.fromhex(str(ready["pin"]))
        closed: list[str] = []
        connected = trio.Semaphore(0)

        async def idle_peer(index: int, done: trio.Event) -> None:
            async with connect_peer(address, pin=pin, identity=generate_identity()) as peer:
                if index == 0:
                    await _enrol_and_advertise(peer, str(ready["admin_addr"]))
                connected.release()
                with trio.fail_after(30):
                    closed.append(await peer.wait_closed())
            done.set()

        events = [trio.Event() for _ in range(50)]
        async with trio.open_nursery() as nursery:
            for index, event in enumerate(events):
                nursery.start_soon(idle_peer, index, event)
            for _ in events:
                await connected.acquire()
            tracker.send_signal(15)
            exit_code = await trio.to_thread.run_sync(tracker.wait, 30.0)
        assert exit_code == 0, tracker.stderr
        assert closed == ["server close"] * 50
    finally:
        tracker.kill()


async def _enrol_and_advertise(peer: PeerClient, admin_addr: str) -> None:
    enrolled = await peer.enroll()
    again = await peer.enroll()
    assert enrolled == again and enrolled.starter_grant_credits == 1000
    assert (await peer.balance()).body.credits == 1000
    assert (await peer.balance(peer.canonical_id)).body.credits == 1000
    await peer.advertise(["claude-sonnet-4-6"], headroom=0.75)
    async with httpx.AsyncClient(base_url=f"http://{admin_addr}", headers=auth_headers()) as admin:
        response = await admin.get(f"/identity/{peer.canonical_id.hex()}")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["balance"]["credits"] == 1000
        assert body["seeder"]["available"] is True and body["seeder"]["models"] == ["claude-sonnet-4-6"]
        stats = (await admin.get("/stats")).json()
        assert stats["connections"] >= 1
        peers = (await admin.get("/peers")).json()["peers"]
        listed = next(entry for entry in peers if entry["canonical_id"] == peer.canonical_id.hex())
        assert listed["raw_pub_id"] == peer.raw_pub_id.hex()
        assert listed["roles"] == ["consumer"]
        assert listed["address"] == await peer.stun_allocate()


def test_rpc_port_in_use_exits_1_and_opens_nothing(tmp_path: Path) -> None:
    config_path = make_data_dir(tmp_path / "data")
    occupied = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    occupied.bind(("127.0.0.1", 0))
    try:
        set_listen_addr(config_path, "server", f"127.0.0.1:{occupied.getsockname()[1]}")
        result = run_cli("run", "--config", str(config_path), env=tracker_env())
    finally:
        occupied.close()
    assert result.returncode == 1, result.stderr
    assert "rpc listener" in result.stderr and "address already in use" in result.stderr
    assert not (tmp_path / "data" / "ledger.sqlite").exists()
