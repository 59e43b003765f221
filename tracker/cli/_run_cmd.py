"""`trio-tracker run` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse


def register(subcommands: argparse._SubParsersAction) -> None:
    return None
