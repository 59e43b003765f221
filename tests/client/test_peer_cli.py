"""`trio-tracker peer keygen|enroll|balance|advertise` (the installed command, run as a child process) against
an in-process tracker listener."""

from __future__ import annotations

import json
from pathlib import Path

import trio

from tests.rpc.tracker_stack import tracker_stack
from tests_e2e.conftest import TRIO_TRACKER
from tracker.rpc import RpcServiceSettings


async def _run(argv: list[str]) -> tuple[int, str, str]:
    """Run the installed command as a child process (the tracker under test keeps serving meanwhile)."""
    result = await trio.run_process(
        [*TRIO_TRACKER, *argv], capture_stdout=True, capture_stderr=True, check=False
    )
    return result.returncode, result.stdout.decode(), result.stderr.decode()


async def test_keygen_enroll_balance_advertise(tmp_path: Path) -> None:
    key = tmp_path / "peer.key"
    code, out, _ = await _run(["peer", "keygen", "--out", str(key)])
    assert code == 0 and key.stat().st_size == 64 and oct(key.stat().st_mode & 0o777) == "0o600"
    ids = json.loads(out)
    code, _, err = await _run(["peer", "keygen", "--out", str(key)])
    assert code == 1 and "already exists" in err

    settings = RpcServiceSettings(enroll_rate_per_min_per_ip=1)
    async with tracker_stack(tmp_path, settings) as stack:
        host, port = stack.server.local_address
        common = ["--tracker", f"{host}:{port}", "--pin", stack.server.pin.hex(), "--key", str(key)]

        code, out, _ = await _run(["peer", "enroll", *common])
        assert code == 0
        enrolled = json.loads(out)
        assert enrolled["identity_id"] == ids["canonical_id"]
        assert enrolled["starter_grant_credits"] == 1000 and enrolled["starter_grant_seq"] == 1

        code, out, _ = await _run(["peer", "balance", *common])
        assert code == 0 and json.loads(out)["credits"] == 1000
        code, out, _ = await _run(["peer", "balance", *common, "--id", ids["canonical_id"]])
        assert code == 0 and json.loads(out)["credits"] == 1000

        code, out, _ = await _run(["peer", "advertise", *common, "--models", "a,b", "--headroom", "0.25"])
        assert code == 0
        advertised = json.loads(out)
        record = stack.registry.get(bytes.fromhex(ids["canonical_id"]))
        assert record is not None and record.capabilities.models == ["a", "b"]
        assert record.net_coords.external_addr == advertised["external_addr"]

        code, _, err = await _run(["peer", "advertise", *common, "--models", "a", "--headroom", "2"])
        assert code == 1 and "rpc error: INVALID INVALID: invalid headroom" in err

        other = tmp_path / "other.key"
        await _run(["peer", "keygen", "--out", str(other)])
        other_common = [*common[:-1], str(other)]
        code, _, err = await _run(["peer", "enroll", *other_common])
        assert code == 1 and "NO_CAPACITY" in err

        wrong_pin = [*common[:3], "00" * 32, *common[4:]]
        code, _, err = await _run(["peer", "balance", *wrong_pin])
        assert code == 1 and "pin" in err
