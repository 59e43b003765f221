"""Where the admin bearer token comes from (`trio-tracker run` reads it once at start-up), first match wins:

1. the file named by $TOKEN_BAY_ADMIN_TOKEN_FILE (it must exist and hold a token);
2. `$CREDENTIALS_DIRECTORY/admin-token` when that file exists (systemd `LoadCredential=admin-token:…`);
3. the environment variable $TOKEN_BAY_ADMIN_TOKEN.

Nothing found → None (the tracker starts and answers 401 on every guarded route). A token file is read once,
bounded, with surrounding whitespace (the trailing newline of `echo … >file`) stripped.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = [
    "ADMIN_TOKEN_ENV",
    "ADMIN_TOKEN_FILE_ENV",
    "CREDENTIAL_NAME",
    "AdminTokenError",
    "admin_token_from_env",
]

ADMIN_TOKEN_ENV = "TOKEN_BAY_ADMIN_TOKEN"
ADMIN_TOKEN_FILE_ENV = "TOKEN_BAY_ADMIN_TOKEN_FILE"
CREDENTIAL_NAME = "admin-token"
_MAX_TOKEN_FILE_BYTES = 4096


class AdminTokenError(Exception):
    """A token file was named but cannot be used; the message names the file and the reason."""


def _read_token_file(path: str, source: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(_MAX_TOKEN_FILE_BYTES + 1)
    except OSError as error:
        raise AdminTokenError(f"admin token file {path} ({source}): {error.strerror or error}") from None
    if len(data) > _MAX_TOKEN_FILE_BYTES:
        raise AdminTokenError(
            f"admin token file {path} ({source}): larger than {_MAX_TOKEN_FILE_BYTES} bytes; not a token"
        )
    try:
        token = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise AdminTokenError(f"admin token file {path} ({source}): not UTF-8 text") from None
    if not token:
        raise AdminTokenError(f"admin token file {path} ({source}): empty")
    return token


def admin_token_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """The admin token from the sources above, or None. Raises AdminTokenError for an unusable file."""
    env = os.environ if environ is None else environ
    named = env.get(ADMIN_TOKEN_FILE_ENV, "")
    if named:
        return _read_token_file(named, f"${ADMIN_TOKEN_FILE_ENV}")
    credentials = env.get("CREDENTIALS_DIRECTORY", "")
    if credentials:
        path = os.path.join(credentials, CREDENTIAL_NAME)
        if os.path.exists(path):
            return _read_token_file(path, "systemd credential")
    return env.get(ADMIN_TOKEN_ENV) or None
