"""trio-tracker: the regional tracker of the token-bay network, on Trio.

Importing the package runs nothing heavy (`__version__` is looked up on first use): the command line installs
its signal handlers right after this import, so the less happens here the shorter the window in which a
SIGTERM still has its default effect.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name != "__version__":
        raise AttributeError(f"module 'tracker' has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("trio-tracker")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0+source"
    globals()["__version__"] = found
    return found
