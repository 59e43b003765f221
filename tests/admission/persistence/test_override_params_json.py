"""Operator override params written through the library API are spelled as Go's json.Marshal spells them,
byte for byte the same as the admin route writes them (sorted keys, `<`/`>`/`&` as \\u003c…)."""

from __future__ import annotations

from pathlib import Path

from tracker._go import go_json
from tracker.admission.persistence._tlog_format import OperatorOverridePayload, TLogKind
from tracker.admission.persistence._tlog_reader import enumerate_tlog_files, scan_tlog_file

from .._helpers import NOW, open_persistent

_PARAMS = {"zeta": "a<b>&c", "alpha": ["é", "\u2028"], "mid": {"y": 1, "x": 2.5}}
_GO_SPELLING = b'{"alpha":["\xc3\xa9","\\u2028"],"mid":{"x":2.5,"y":1},"zeta":"a\\u003cb\\u003e\\u0026c"}'


def _override_params(tmp_path: Path) -> list[bytes]:
    found: list[bytes] = []

    def take(seq: int, ts: int, kind: int, payload: bytes) -> None:
        if kind == TLogKind.OPERATOR_OVERRIDE:
            found.append(OperatorOverridePayload.decode(payload).params)

    for path in enumerate_tlog_files(tmp_path / "admission.tlog"):
        scan_tlog_file(path, take)
    return found


def test_the_shared_helper_spells_like_go() -> None:
    assert go_json(_PARAMS).encode() == _GO_SPELLING
    assert go_json({"n": float("nan")}) == '{"n":null}'


async def test_library_override_params_are_go_spelled(tmp_path: Path) -> None:
    persistent = await open_persistent(tmp_path)
    persistent.record_operator_override("op", "blocklist_add", _PARAMS, now=NOW)
    persistent.record_operator_override("op", "raw", b'{"kept":"as given"}', now=NOW)
    await persistent.aclose()
    assert _override_params(tmp_path) == [_GO_SPELLING, b'{"kept":"as given"}']
