"""`load(path)` = read → parse → apply_defaults → validate, and `config_for_data_dir` for tests and `init`."""

from __future__ import annotations

import os
from pathlib import Path

from tracker._regular_file import FileTooLargeError, read_regular_file
from tracker.config._defaults import apply_defaults
from tracker.config._errors import ParseError
from tracker.config._parse import ParseStats, parse_with_stats
from tracker.config._schema import Config
from tracker.config._validate import validate

# A real config is a few KiB; the cap keeps a huge file from hanging the command (and only regular files are
# read: a FIFO or `/dev/zero` is refused before any read).
MAX_CONFIG_BYTES = 1 << 20


def load_with_stats(path: str | os.PathLike[str]) -> tuple[Config, ParseStats]:
    """Like `load`, also returning what the file itself set (sections present, leaf fields given)."""
    path_text = os.fspath(path)
    try:  # OSError (missing, permission, directory, FIFO or device) propagates as is
        text = read_regular_file(path_text, MAX_CONFIG_BYTES)
    except FileTooLargeError:
        raise ParseError(
            f"file is larger than {MAX_CONFIG_BYTES} bytes; is it really a config?", path_text
        ) from None
    config, stats = parse_with_stats(text, path_text)
    apply_defaults(config)
    validate(config)
    return config, stats


def load(path: str | os.PathLike[str]) -> Config:
    """The validated, defaults-applied config in the file at `path`.

    Raises OSError for a file that cannot be read (missing, permission denied, a directory, a FIFO or device:
    see `tracker._regular_file`), ParseError
    for content that is not one YAML document matching the schema, ValidationError for broken rules."""
    return load_with_stats(path)[0]


def config_for_data_dir(data_dir: str | os.PathLike[str]) -> Config:
    """A defaults-applied, valid config rooted at `data_dir` (made absolute; not created on disk): every
    path inside it and every listener on loopback — `127.0.0.1:0` for the admin and metrics HTTP servers
    (the OS picks), fixed distinct placeholder ports for the not-yet-bound QUIC/STUN/TURN listeners.
    Validation stats `data_dir` (the tlog parent), so it must exist before `validate` is called."""
    root = str(Path(data_dir).absolute())
    config = Config(data_dir=root)
    config.server.listen_addr = "127.0.0.1:7777"
    config.server.identity_key_path = root + "/identity.key"
    config.server.tls_cert_path = root + "/tls.crt"
    config.server.tls_key_path = root + "/tls.key"
    config.admin.listen_addr = "127.0.0.1:0"
    config.metrics.listen_addr = "127.0.0.1:0"
    config.stun_turn.stun_listen_addr = "127.0.0.1:3478"
    config.stun_turn.turn_listen_addr = "127.0.0.1:3479"
    config.ledger.storage_path = root + "/ledger.sqlite"
    return apply_defaults(config)
