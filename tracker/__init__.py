"""trio-tracker: the regional tracker of the token-bay network, on Trio."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trio-tracker")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
