"""The backup manifest: `manifest.json` (what was copied, from where, sizes, SHA-256, ledger tip, tracker id,
time, verification result) and `SHA256SUMS` (the same digests in `sha256sum -c` format)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_NAME",
    "SUMS_NAME",
    "BackupFile",
    "Manifest",
    "sha256_of_file",
]

MANIFEST_NAME = "manifest.json"
SUMS_NAME = "SHA256SUMS"
MANIFEST_FORMAT = "trio-tracker-backup/1"
_CHUNK = 1 << 20


def sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(slots=True)
class BackupFile:
    """One copied file: its name in the backup, its role, where it came from, size and SHA-256."""

    name: str
    role: str  # config | identity_key | tls_cert | tls_key | ledger | admission_snapshot | admission_tlog
    source: str
    size: int
    sha256: str


@dataclass(slots=True)
class Manifest:
    created_at: str  # RFC 3339, UTC
    tracker_version: str
    tracker_id: str
    config_path: str
    ledger_tip_seq: int = 0
    ledger_tip_hash: str | None = None
    admission_ledger_position: int = 0  # highest ledger seq the copied tlog/snapshots reflect
    files: list[BackupFile] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # source files left out, with the reason
    verified: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(item.size for item in self.files)

    def to_json(self) -> dict[str, Any]:
        document = {"format": MANIFEST_FORMAT}
        document.update(asdict(self))
        return document

    def write(self, directory: Path) -> None:
        """Write SHA256SUMS, then manifest.json (last: its presence marks a finished backup); both fsynced."""
        sums = "".join(f"{item.sha256}  {item.name}\n" for item in self.files)
        _write_synced(directory / SUMS_NAME, sums.encode())
        text = json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n"
        _write_synced(directory / MANIFEST_NAME, text.encode())


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
