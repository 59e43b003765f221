"""Reading, checking and writing the identity key file: raw 64 bytes = Ed25519 seed (32) ‖ public key (32)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from tracker._regular_file import FileTooLargeError, NotRegularFileError, read_regular_file
from tracker.identity._signing import SigningKey

IDENTITY_KEY_FILE_SIZE = 64
_SEED_SIZE = 32


class IdentityKeyError(Exception):
    """The identity key file is missing, unreadable, of the wrong length, or internally inconsistent."""


@dataclass(frozen=True)
class TrackerIdentity:
    """The tracker's signing identity. `tracker_id` = SHA-256(raw 32-byte public key)."""

    seed: bytes
    public_key: bytes
    signing_key: SigningKey = field(repr=False, compare=False)

    @property
    def key_bytes(self) -> bytes:
        """The 64-byte Go `ed25519.PrivateKey` layout: seed ‖ public key."""
        return self.seed + self.public_key

    @property
    def tracker_id(self) -> bytes:
        return hashlib.sha256(self.public_key).digest()

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message)


def identity_from_seed(seed: bytes) -> TrackerIdentity:
    if len(seed) != _SEED_SIZE:
        raise IdentityKeyError(f"identity seed must be {_SEED_SIZE} bytes, got {len(seed)}")
    signing_key = SigningKey(seed)
    return TrackerIdentity(seed=signing_key.seed, public_key=signing_key.public_key, signing_key=signing_key)


def generate_identity() -> TrackerIdentity:
    return identity_from_seed(os.urandom(_SEED_SIZE))


def load_identity(path: str | os.PathLike[str]) -> TrackerIdentity:
    """Read and check a key file. Raises IdentityKeyError with a message an operator can act on."""
    key_path = Path(path)
    try:  # regular files only, and never more than one byte past the right size
        raw = read_regular_file(key_path, IDENTITY_KEY_FILE_SIZE + 1)
    except FileNotFoundError:
        raise IdentityKeyError(
            f"identity key file {key_path} does not exist (create one with 'trio-tracker init')"
        ) from None
    except IsADirectoryError:
        raise IdentityKeyError(f"identity key path {key_path} is a directory, not a key file") from None
    except NotRegularFileError as error:
        raise IdentityKeyError(f"identity key path {key_path} is {error.strerror}") from None
    except FileTooLargeError:
        raise IdentityKeyError(
            f"identity key file {key_path} is larger than {IDENTITY_KEY_FILE_SIZE} bytes "
            "(raw Ed25519 seed ‖ public key)"
        ) from None
    except OSError as error:
        raise IdentityKeyError(
            f"cannot read identity key file {key_path}: {error.strerror or error}"
        ) from None
    if len(raw) != IDENTITY_KEY_FILE_SIZE:
        raise IdentityKeyError(
            f"identity key file {key_path} is {len(raw)} bytes, want {IDENTITY_KEY_FILE_SIZE} "
            "(raw Ed25519 seed ‖ public key)"
        )
    identity = identity_from_seed(raw[:_SEED_SIZE])
    if identity.public_key != raw[_SEED_SIZE:]:
        raise IdentityKeyError(
            f"identity key file {key_path} is inconsistent: its public half does not match its seed"
        )
    return identity


def write_identity(path: str | os.PathLike[str], identity: TrackerIdentity) -> None:
    """Write the key file with mode 0600, fsynced. Refuses to replace an existing file."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(descriptor, identity.key_bytes)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
