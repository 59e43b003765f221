"""A signal that lands while the CLI imports a module exits like any interrupt: the message and 128 + signal,
also when Python 3.11 wraps the KeyboardInterrupt (raised in a dataclass's __set_name__) in a RuntimeError."""

from __future__ import annotations

import argparse

import pytest

import tracker.cli


def _parser_running(handler: object) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.set_defaults(handler=handler)
    return parser


def _interrupted_in_set_name(args: argparse.Namespace) -> int:
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt as interrupt:
        raise RuntimeError("Error calling __set_name__ on 'Field' instance") from interrupt


def _other_runtime_error(args: argparse.Namespace) -> int:
    raise RuntimeError("not an interrupt")


def test_a_wrapped_interrupt_exits_as_interrupted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tracker.cli, "build_parser", lambda: _parser_running(_interrupted_in_set_name))
    assert tracker.cli.main([]) == 130
    assert "error: interrupted by SIGINT" in capsys.readouterr().err


def test_another_runtime_error_is_not_taken_for_an_interrupt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracker.cli, "build_parser", lambda: _parser_running(_other_runtime_error))
    with pytest.raises(RuntimeError, match="not an interrupt"):
        tracker.cli.main([])
