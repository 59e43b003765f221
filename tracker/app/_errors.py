"""Turning what escaped the nursery (possibly nested ExceptionGroups) into the errors an operator reads."""

from __future__ import annotations

import trio


def leaf_errors(error: BaseException) -> list[BaseException]:
    """The real errors inside `error`: ExceptionGroups flattened, trio.Cancelled dropped."""
    if isinstance(error, BaseExceptionGroup):
        leaves: list[BaseException] = []
        for inner in error.exceptions:
            leaves.extend(leaf_errors(inner))
        return leaves
    if isinstance(error, trio.Cancelled):
        return []
    return [error]


def describe_failure(error: BaseException) -> str:
    """One line: `Type: message` for each real error, joined by `; `."""
    leaves = leaf_errors(error) or [error]
    return "; ".join(
        f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__ for leaf in leaves
    )


class StartupError(Exception):
    """A start-up step failed (ledger open, admission replay, …); the message starts with the step name,
    e.g. `ledger: …`, `admission startup replay: …` (config-cli-admin-run.md §4.2)."""
