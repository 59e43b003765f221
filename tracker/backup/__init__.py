"""Online backup of a tracker's state: `take_backup` copies the config, identity key, TLS cert/key, admission
snapshots and tlog, then the ledger (in that order, so the copy is consistent: see `_take.py`), verifies the
copy and writes `manifest.json` + `SHA256SUMS`.

Reads the files of the ledger and admission subsystems; imports nothing from tracker.app, tracker.admin or
tracker.cli, and never writes outside the target directory.
"""

from tracker.backup._manifest import MANIFEST_NAME, SUMS_NAME, BackupFile, Manifest
from tracker.backup._take import BackupError, take_backup, verify_backup

__all__ = [
    "MANIFEST_NAME",
    "SUMS_NAME",
    "BackupError",
    "BackupFile",
    "Manifest",
    "take_backup",
    "verify_backup",
]
