"""`tracker._regular_file`: only regular files are read, never past a limit; FIFOs, devices and directories
(directly or through a symlink) are refused at once with the path in the error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tracker._regular_file import (
    FileTooLargeError,
    NotRegularFileError,
    check_regular_file,
    read_regular_file,
)


def test_reads_a_regular_file_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_bytes(b"abc")
    (tmp_path / "link").symlink_to(target)
    assert read_regular_file(tmp_path / "link", 3) == b"abc"
    check_regular_file(tmp_path / "link")


def test_a_file_past_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"abcd")
    with pytest.raises(FileTooLargeError) as raised:
        read_regular_file(tmp_path / "f", 3)
    assert raised.value.filename == str(tmp_path / "f")


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(NotRegularFileError) as raised:
        read_regular_file(fifo, 100)
    assert raised.value.strerror == "not a regular file: it is a named pipe (FIFO)"
    with pytest.raises(NotRegularFileError):
        check_regular_file(fifo)


def test_a_symlink_to_dev_zero_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(NotRegularFileError) as raised:
        read_regular_file(tmp_path / "zero", 100)
    assert raised.value.strerror == "not a regular file: it is a character device"


def test_a_directory_is_an_is_a_directory_error(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        read_regular_file(tmp_path, 100)


def test_a_missing_file_is_the_plain_not_found_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_regular_file(tmp_path / "nope", 100)
