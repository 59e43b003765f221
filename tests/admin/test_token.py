"""Where `run` finds the admin token: $TOKEN_BAY_ADMIN_TOKEN_FILE, then the systemd credential, then the
environment variable; a named but unusable file is an error naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.admin import AdminTokenError, admin_token_from_env


def test_environment_variable_alone() -> None:
    assert admin_token_from_env({"TOKEN_BAY_ADMIN_TOKEN": "from-env"}) == "from-env"
    assert admin_token_from_env({"TOKEN_BAY_ADMIN_TOKEN": ""}) is None
    assert admin_token_from_env({}) is None


def test_credential_directory_wins_over_the_variable(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("from-credential\n")
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path), "TOKEN_BAY_ADMIN_TOKEN": "from-env"}
    assert admin_token_from_env(environ) == "from-credential"


def test_credential_directory_without_the_credential_falls_back(tmp_path: Path) -> None:
    environ = {"CREDENTIALS_DIRECTORY": str(tmp_path), "TOKEN_BAY_ADMIN_TOKEN": "from-env"}
    assert admin_token_from_env(environ) == "from-env"


def test_named_file_wins_over_everything(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("from-credential")
    named = tmp_path / "named"
    named.write_text("  from-file \n")
    environ = {
        "TOKEN_BAY_ADMIN_TOKEN_FILE": str(named),
        "CREDENTIALS_DIRECTORY": str(tmp_path),
        "TOKEN_BAY_ADMIN_TOKEN": "from-env",
    }
    assert admin_token_from_env(environ) == "from-file"


@pytest.mark.parametrize(
    ("content", "reason"),
    [(None, "No such file"), (b"\n", "empty"), (b"\xff\xfe", "not UTF-8"), (b"x" * 5000, "larger than")],
)
def test_unusable_named_file_is_an_error(tmp_path: Path, content: bytes | None, reason: str) -> None:
    named = tmp_path / "token"
    if content is not None:
        named.write_bytes(content)
    with pytest.raises(AdminTokenError) as caught:
        admin_token_from_env({"TOKEN_BAY_ADMIN_TOKEN_FILE": str(named), "TOKEN_BAY_ADMIN_TOKEN": "from-env"})
    assert str(named) in str(caught.value)
    assert reason in str(caught.value)
