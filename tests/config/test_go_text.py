"""Go-compatible text helpers: SplitHostPort errors, %g floats, filepath.Dir."""

from __future__ import annotations

import pytest

from tracker.config._go_text import HostPortError, format_go_float, go_dir, split_host_port


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.1, "1.1"),
        (2.0, "2"),
        (0.9, "0.9"),
        (1.0000000000000002, "1.0000000000000002"),
        (0.30000000000000004, "0.30000000000000004"),
        (1e6, "1e+06"),
        (123456.0, "123456"),
        (1234567.5, "1.2345675e+06"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-0.25, "-0.25"),
        (1e21, "1e+21"),
        (1e100, "1e+100"),
        (0.0, "0"),
        (float("nan"), "NaN"),
        (float("inf"), "+Inf"),
    ],
)
def test_format_go_float(value: float, text: str) -> None:
    assert format_go_float(value) == text


@pytest.mark.parametrize(
    ("address", "host", "port"),
    [
        (":7777", "", "7777"),
        ("0.0.0.0:1", "0.0.0.0", "1"),
        ("[::1]:80", "::1", "80"),
        ("h:", "h", ""),
        (":abc", "", "abc"),
    ],
)
def test_split_host_port_accepts(address: str, host: str, port: str) -> None:
    assert split_host_port(address) == (host, port)


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("not-a-host-port", "missing port in address"),
        ("a:b:c", "too many colons in address"),
        ("[::1", "missing ']' in address"),
        ("[::1]", "missing port in address"),
        ("[::1]x:80", "missing port in address"),
        ("[::1]:80:90", "too many colons in address"),
        ("a[:80", "unexpected '[' in address"),
        ("a]:80", "unexpected ']' in address"),
    ],
)
def test_split_host_port_errors(address: str, reason: str) -> None:
    with pytest.raises(HostPortError) as raised:
        split_host_port(address)
    assert str(raised.value) == f"address {address}: {reason}"


@pytest.mark.parametrize(
    ("path", "directory"),
    [
        ("admission.tlog", "."),
        ("/a/b/c", "/a/b"),
        ("/a//b/c", "/a/b"),
        ("/x", "/"),
        ("a/b", "a"),
        ("/a/b/", "/a/b"),
    ],
)
def test_go_dir(path: str, directory: str) -> None:
    assert go_dir(path) == directory
