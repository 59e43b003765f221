"""`take_backup`: a consistent copy of a (possibly running) tracker's state, verified, with a manifest.

What consistent means here. The ledger is the source of truth; admission state is derived from it and
start-up replay rebuilds it as newest good snapshot + tlog + every ledger entry the tlog has not seen
(`AdmissionService` start-up replay). So a restore is consistent as long as the copied snapshots and tlog
reflect no ledger entry beyond the copied ledger: entries the tlog misses are re-read from the ledger at the
first start, entries the ledger misses could never be undone. The copy therefore goes snapshots → tlog →
ledger. The tracker writes a ledger entry before its tlog record, so everything the tlog holds at the moment
it is copied is already in the ledger that is copied after it; verification checks it
(`admission_ledger_position <= ledger_tip_seq`). The price: local admission records (operator overrides,
disputes) written between the tlog copy and the ledger copy are not in the backup — a window of the ledger
copy's duration.
"""

from __future__ import annotations

import contextlib
import datetime
import sqlite3
from collections.abc import Callable
from pathlib import Path

import tracker
from tracker.backup._admission_files import SnapshotError, ledger_seq_of, scan_tlog_file
from tracker.backup._copy import (
    check_snapshot,
    copy_file,
    copy_ledger,
    copy_snapshots,
    copy_tlog,
    fsync_path,
)
from tracker.backup._manifest import MANIFEST_NAME, SUMS_NAME, BackupFile, Manifest, sha256_of_file
from tracker.config import Config
from tracker.identity import IdentityKeyError, load_identity
from tracker.ledger import LedgerStorageError, LedgerStore, verify_ledger

__all__ = ["BackupError", "take_backup", "verify_backup"]

Progress = Callable[[str], None]


class BackupError(Exception):
    """The backup could not be written (nothing usable left behind); the message says why."""


def _now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prepare_directory(directory: Path) -> bool:
    """Create `directory` (0700) or accept an existing empty one; True if created here."""
    if directory.exists():
        if not directory.is_dir():
            raise BackupError(f"{directory} exists and is not a directory")
        if any(directory.iterdir()):
            raise BackupError(f"{directory} is not empty; back up into a new or empty directory")
        return False
    try:
        directory.mkdir(parents=True, mode=0o700)
    except OSError as error:
        raise BackupError(f"cannot create {directory}: {error.strerror or error}") from None
    return True


def _remove_partial(directory: Path, created: bool) -> None:
    for entry in directory.iterdir():
        with contextlib.suppress(OSError):
            entry.unlink()
    if created:
        with contextlib.suppress(OSError):
            directory.rmdir()


def take_backup(config: Config, config_path: str, target: str, progress: Progress | None = None) -> Manifest:
    """Copy config, identity key, TLS cert/key, admission snapshots and tlog, then the ledger into the new
    or empty directory `target`; verify the copy; write SHA256SUMS and manifest.json. Returns the manifest
    (`verified` False with `problems` when verification failed; the files are kept for inspection). Raises
    BackupError when copying failed (the partial copy is removed)."""
    say = progress or (lambda message: None)
    try:
        identity = load_identity(config.server.identity_key_path)
    except IdentityKeyError as error:
        raise BackupError(f"identity key: {error}") from None
    directory = Path(target).absolute()
    created = _prepare_directory(directory)
    manifest = Manifest(
        created_at=_now_rfc3339(),
        tracker_version=tracker.__version__,
        tracker_id=identity.tracker_id.hex(),
        config_path=str(Path(config_path).absolute()),
    )
    try:
        _copy_everything(config, config_path, directory, manifest, say)
    except (OSError, sqlite3.Error, BackupError) as error:
        _remove_partial(directory, created)
        if isinstance(error, BackupError):
            raise
        raise BackupError(f"copy failed: {error}") from None
    say("backup: verifying the copy")
    manifest.problems = verify_backup(directory, manifest, progress=say)
    manifest.verified = not manifest.problems
    manifest.write(directory)
    fsync_path(directory)
    return manifest


def _record(manifest: Manifest, directory: Path, target: Path, role: str, source: Path) -> None:
    if target.parent != directory:
        raise BackupError(f"internal: {target} is outside {directory}")
    manifest.files.append(
        BackupFile(
            name=target.name,
            role=role,
            source=str(source),
            size=target.stat().st_size,
            sha256=sha256_of_file(target),
        )
    )


def _target(directory: Path, source: Path, manifest: Manifest) -> Path:
    name = source.name
    if name in (MANIFEST_NAME, SUMS_NAME) or any(item.name == name for item in manifest.files):
        raise BackupError(
            f"two files to back up are both named {name!r} ({source}); give them distinct file names"
        )
    return directory / name


def _copy_everything(
    config: Config, config_path: str, directory: Path, manifest: Manifest, say: Progress
) -> None:
    plain = [
        ("config", Path(config_path), 0o600),
        ("identity_key", Path(config.server.identity_key_path), 0o600),
        ("tls_cert", Path(config.server.tls_cert_path) if config.server.tls_cert_path else None, 0o644),
        ("tls_key", Path(config.server.tls_key_path) if config.server.tls_key_path else None, 0o600),
    ]
    for role, source, mode in plain:
        if source is None or (role.startswith("tls") and not source.exists()):
            continue
        target = _target(directory, source, manifest)
        copy_file(source, target, mode)
        _record(manifest, directory, target, role, source.absolute())
    prefix = config.admission.snapshot_path_prefix
    if prefix:
        say("backup: copying admission snapshots")
        kept, skipped = copy_snapshots(Path(prefix), directory)
        manifest.skipped.extend(skipped)
        for source, target, _seq in kept:
            _record(manifest, directory, target, "admission_snapshot", source)
    if config.admission.tlog_path:
        say("backup: copying the admission transaction log")
        copied = copy_tlog(Path(config.admission.tlog_path), directory)
        for source, target in zip(copied.sources, copied.targets, strict=True):
            _record(manifest, directory, target, "admission_tlog", source)
    say("backup: copying the ledger (SQLite online backup)")
    ledger_source = Path(config.ledger.storage_path)
    ledger_target = _target(directory, ledger_source, manifest)
    copy_ledger(ledger_source, ledger_target)
    _record(manifest, directory, ledger_target, "ledger", ledger_source.absolute())


def verify_backup(directory: Path, manifest: Manifest, progress: Progress | None = None) -> list[str]:
    """Check a backup directory against `manifest`: every file's size and SHA-256; the ledger copy passes the
    full audit (`ledger verify`) with the copied identity key; tlog copies are clean; snapshots pass their
    CRC and layout checks; the admission files reflect no ledger entry beyond the ledger copy's tip. Fills
    in the manifest's ledger tip and admission position; returns the problems found (empty = sound)."""
    say = progress or (lambda message: None)
    problems: list[str] = []
    for item in manifest.files:
        path = directory / item.name
        try:
            size, digest = path.stat().st_size, sha256_of_file(path)
        except OSError as error:
            problems.append(f"{item.name}: unreadable: {error.strerror or error}")
            continue
        if size != item.size or digest != item.sha256:
            problems.append(f"{item.name}: size or SHA-256 differs from what was written")
    by_role: dict[str, list[Path]] = {}
    for item in manifest.files:
        by_role.setdefault(item.role, []).append(directory / item.name)
    position = 0
    for path in by_role.get("admission_snapshot", []):
        try:
            position = max(position, ledger_seq_of(check_snapshot(path)))
        except (SnapshotError, OSError) as error:
            problems.append(f"{path.name}: {error}")
    for path in by_role.get("admission_tlog", []):
        scan = scan_tlog_file(path)
        if not scan.clean:
            offset = scan.corrupt_offset if scan.corrupt_offset is not None else scan.good_end
            problems.append(
                f"{path.name}: damaged at offset {offset} "
                "(check the source tlog with `trio-tracker admission inspect`)"
            )
        if scan.last_seq is not None:
            position = max(position, ledger_seq_of(scan.last_seq))
    manifest.admission_ledger_position = position
    problems.extend(_verify_ledger_copy(by_role, manifest, say))
    if manifest.ledger_tip_seq < position:
        problems.append(
            f"admission files reflect ledger seq {position} but the ledger copy ends at seq "
            f"{manifest.ledger_tip_seq}: not a consistent copy"
        )
    return problems


def _verify_ledger_copy(by_role: dict[str, list[Path]], manifest: Manifest, say: Progress) -> list[str]:
    keys, ledgers = by_role.get("identity_key", []), by_role.get("ledger", [])
    if len(keys) != 1 or len(ledgers) != 1:
        return ["the backup needs exactly one identity key and one ledger"]
    try:
        identity = load_identity(keys[0])
    except IdentityKeyError as error:
        return [f"{keys[0].name}: {error}"]
    if identity.tracker_id.hex() != manifest.tracker_id:
        return [f"{keys[0].name}: not the key of tracker {manifest.tracker_id}"]
    try:
        store = LedgerStore.open(ledgers[0], read_only=True)
    except LedgerStorageError as error:
        return [f"{ledgers[0].name}: {error}"]
    try:
        report = verify_ledger(
            store,
            identity.public_key,
            progress=lambda checked, total: say(f"backup: ledger verify {checked}/{total} entries checked"),
        )
    except sqlite3.Error as error:
        return [f"{ledgers[0].name}: {error}"]
    finally:
        store.close()
    manifest.ledger_tip_seq = report.tip_seq
    manifest.ledger_tip_hash = report.tip_hash.hex() if report.tip_hash is not None else None
    if report.damage is not None:
        return [
            f"{ledgers[0].name}: ledger verify: first bad seq={report.damage.seq}: {report.damage.reason}"
        ]
    return []
