"""Go-compatible text helpers used in validation messages: `net.SplitHostPort` errors, `%g`-style float
formatting and `filepath.Dir`."""

from __future__ import annotations

import math
import posixpath
from decimal import Decimal


class HostPortError(ValueError):
    """`address <addr>: <reason>`, the text of Go's *net.AddrError."""

    def __init__(self, address: str, reason: str) -> None:
        self.address = address
        self.reason = reason
        super().__init__(f"address {address}: {reason}" if address else reason)


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go `net.SplitHostPort`: the port is not checked for being numeric; raises HostPortError."""
    missing_port = "missing port in address"
    too_many_colons = "too many colons in address"
    last_colon = hostport.rfind(":")
    if last_colon < 0:
        raise HostPortError(hostport, missing_port)
    no_bracket_before, no_bracket_after = 0, 0
    if hostport[0] == "[":
        end = hostport.find("]")
        if end < 0:
            raise HostPortError(hostport, "missing ']' in address")
        if end + 1 == len(hostport):
            raise HostPortError(hostport, missing_port)
        if end + 1 != last_colon:
            if hostport[end + 1] == ":":
                raise HostPortError(hostport, too_many_colons)
            raise HostPortError(hostport, missing_port)
        host = hostport[1:end]
        no_bracket_before, no_bracket_after = 1, end + 1
    else:
        host = hostport[:last_colon]
        if ":" in host:
            raise HostPortError(hostport, too_many_colons)
    if "[" in hostport[no_bracket_before:]:
        raise HostPortError(hostport, "unexpected '[' in address")
    if "]" in hostport[no_bracket_after:]:
        raise HostPortError(hostport, "unexpected ']' in address")
    return host, hostport[last_colon + 1 :]


def format_go_float(value: float) -> str:
    """Go `%v`/`strconv.FormatFloat(v, 'g', -1, 64)`: shortest round-trip digits; exponent form when the
    decimal exponent is < -4 or >= 6 (`1e+06`, two-digit minimum exponent); integral values without `.0`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    digits = "".join(str(digit) for digit in digits_tuple)
    assert isinstance(exponent, int)
    decimal_exponent = len(digits) - 1 + exponent
    prefix = "-" if sign else ""
    if decimal_exponent < -4 or decimal_exponent >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        exponent_sign = "-" if decimal_exponent < 0 else "+"
        return f"{prefix}{mantissa}e{exponent_sign}{abs(decimal_exponent):02d}"
    if exponent >= 0:
        return prefix + digits + "0" * exponent
    point = len(digits) + exponent
    if point > 0:
        return f"{prefix}{digits[:point]}.{digits[point:]}"
    return f"{prefix}0.{'0' * -point}{digits}"


def go_dir(path: str) -> str:
    """Go `filepath.Dir` on POSIX: everything before the last slash, cleaned; "." for a bare name."""
    last_slash = path.rfind("/")
    directory = posixpath.normpath(path[: last_slash + 1]) if last_slash >= 0 else "."
    if directory.startswith("//"):
        directory = "/" + directory.lstrip("/")
    return directory
