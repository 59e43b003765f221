"""Every log call in the package has a constant message with its subsystem prefix ("admission: …"); values
travel in fields (`extra=`), never interpolated into the message, so lines can be grepped and aggregated."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import tracker

PACKAGE_DIR = Path(tracker.__file__).parent
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
PREFIX = re.compile(r"^[a-z][a-z_/-]*: \S")


def _log_calls() -> list[tuple[str, ast.Call, str]]:
    calls = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if "_proto" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in LOG_METHODS or not node.args:
                continue
            receiver = ast.unparse(node.func.value)
            if not re.search(r"(^|[._])(logger|_logger|log)$", receiver):
                continue
            calls.append((f"{path.relative_to(PACKAGE_DIR.parent)}:{node.lineno}", node, receiver))
    return calls


def _message_argument(call: ast.Call) -> tuple[ast.expr, list[ast.expr]]:
    args = list(call.args)
    if isinstance(call.func, ast.Attribute) and call.func.attr == "log":
        args = args[1:]  # logger.log(level, message, ...)
    return args[0], args[1:]


def test_the_scan_finds_the_log_calls() -> None:
    # Guard against a scan that silently matches nothing.
    assert len(_log_calls()) >= 40


def test_every_log_message_is_a_constant_with_a_subsystem_prefix() -> None:
    offenders = []
    for where, call, _ in _log_calls():
        message, rest = _message_argument(call)
        if not (isinstance(message, ast.Constant) and isinstance(message.value, str)):
            offenders.append(f"{where}: message is not a string literal: {ast.unparse(message)}")
            continue
        if rest:
            offenders.append(f"{where}: %-style arguments: {message.value!r}")
        if "%" in message.value or "{" in message.value:
            offenders.append(f"{where}: placeholder in message: {message.value!r}")
        if not PREFIX.match(message.value):
            offenders.append(f"{where}: no 'subsystem: ' prefix: {message.value!r}")
    assert offenders == []
