"""Headless Chromium for the dashboard tests: Debian's /usr/bin/chromium driven by Playwright (Playwright's
own browser downloads are never used), with a fresh profile directory and no background networking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import BrowserContext, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
UI_TIMEOUT_MS = 10_000
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
"""Screenshots land here (git-ignored)."""


@contextmanager
def chromium(profile_dir: Path) -> Iterator[BrowserContext]:
    """A browser context at 1280×800 on a fresh `--user-data-dir`."""
    assert Path(CHROMIUM).is_file(), (
        f"{CHROMIUM} missing: run ci/install_chromium.sh (apt-get install chromium)"
    )
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def shown(value: float | None) -> str:
    """A number as the page prints it (dashboard.js `num`)."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}"
