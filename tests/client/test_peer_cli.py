"""`trio-tracker peer keygen|enroll|balance|advertise` against an in-process tracker listener (the command
runs in a worker thread with its own Trio loop)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio

from tests.rpc.tracker_stack import tracker_stack
from tracker.cli import main
from tracker.rpc import RpcServiceSettings


async def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = await trio.to_thread.run_sync(main, argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_keygen_enroll_balance_advertise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key = tmp_path / "peer.key"
    code, out, _ = await _run(["peer", "keygen", "--out", str(key)], capsys)
    assert code == 0 and key.stat().st_size == 64 and oct(key.stat().st_mode & 0o777) == "0o600"
    ids = json.loads(out)
    code, _, err = await _run(["peer", "keygen", "--out", str(key)], capsys)
    assert code == 1 and "already exists" in err

    settings = RpcServiceSettings(enroll_rate_per_min_per_ip=1)
    async with tracker_stack(tmp_path, settings) as stack:
        host, port = stack.server.local_address
        common = ["--tracker", f"{host}:{port}", "--pin", stack.server.pin.hex(), "--key", str(key)]

        code, out, _ = await _run(["peer", "enroll", *common], capsys)
        assert code == 0
        enrolled = json.loads(out)
        assert enrolled["identity_id"] == ids["canonical_id"]
        assert enrolled["starter_grant_credits"] == 1000 and enrolled["starter_grant_seq"] == 1

        code, out, _ = await _run(["peer", "balance", *common], capsys)
        assert code == 0 and json.loads(out)["credits"] == 1000
        code, out, _ = await _run(["peer", "balance", *common, "--id", ids["canonical_id"]], capsys)
        assert code == 0 and json.loads(out)["credits"] == 1000

        code, out, _ = await _run(
            ["peer", "advertise", *common, "--models", "a,b", "--headroom", "0.25"], capsys
        )
        assert code == 0
        advertised = json.loads(out)
        record = stack.registry.get(bytes.fromhex(ids["canonical_id"]))
        assert record is not None and record.capabilities.models == ["a", "b"]
        assert record.net_coords.external_addr == advertised["external_addr"]

        code, _, err = await _run(["peer", "advertise", *common, "--models", "a", "--headroom", "2"], capsys)
        assert code == 1 and "rpc error: INVALID INVALID: invalid headroom" in err

        other = tmp_path / "other.key"
        await _run(["peer", "keygen", "--out", str(other)], capsys)
        other_common = [*common[:-1], str(other)]
        code, _, err = await _run(["peer", "enroll", *other_common], capsys)
        assert code == 1 and "NO_CAPACITY" in err

        wrong_pin = [*common[:3], "00" * 32, *common[4:]]
        code, _, err = await _run(["peer", "balance", *wrong_pin], capsys)
        assert code == 1 and "pin" in err
