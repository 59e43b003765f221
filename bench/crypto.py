"""Benchmark: Ed25519 sign and verify per second through `tracker.identity` (libsodium via PyNaCl's cffi
module) against `cryptography` (OpenSSL) in the same run, same 200-byte message, printed as a ratio. PyNaCl's
public object API (`nacl.signing`) is shown as a second reference.

Run: .venv/bin/python bench/crypto.py [--operations N] [--rounds R]
Rounds interleave the libraries so that noise from other processes hits all of them alike; best round shown.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nacl.signing import SigningKey as NaclSigningKey
from nacl.signing import VerifyKey as NaclVerifyKey

from tracker.identity import SigningKey, verify

MESSAGE_SIZE = 200


def _rate(operation: Callable[[], object], operations: int) -> float:
    started = time.perf_counter()
    for _ in range(operations):
        operation()
    return operations / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=20_000, help="operations per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is shown")
    args = parser.parse_args()
    seed = hashlib.sha256(b"bench-crypto-seed").digest()
    message = hashlib.sha256(b"m").digest() * (MESSAGE_SIZE // 32) + b"\x00" * (MESSAGE_SIZE % 32)
    ours = SigningKey(seed)
    openssl = Ed25519PrivateKey.from_private_bytes(seed)
    openssl_public = openssl.public_key()
    nacl_key = NaclSigningKey(seed)
    nacl_verify_key = NaclVerifyKey(ours.public_key)
    signature = ours.sign(message)
    assert signature == openssl.sign(message) == nacl_key.sign(message).signature
    public_key = ours.public_key

    def openssl_verify() -> None:
        openssl_public.verify(signature, message)

    cases: dict[str, Callable[[], object]] = {
        "sign   cryptography (OpenSSL)": lambda: openssl.sign(message),
        "sign   tracker.identity (libsodium)": lambda: ours.sign(message),
        "sign   nacl.signing (libsodium, object API)": lambda: nacl_key.sign(message).signature,
        "verify cryptography (OpenSSL, key object cached)": openssl_verify,
        "verify tracker.identity (libsodium)": lambda: verify(public_key, message, signature),
        "verify nacl.signing (libsodium, object API)": lambda: nacl_verify_key.verify(message, signature),
    }
    best: dict[str, float] = dict.fromkeys(cases, 0.0)
    for _ in range(args.rounds):
        for name, operation in cases.items():
            best[name] = max(best[name], _rate(operation, args.operations))
    print(
        f"Ed25519 benchmark: {MESSAGE_SIZE}-byte message, {args.operations} operations per measurement, "
        f"best of {args.rounds} interleaved rounds, {os.cpu_count()} CPUs"
    )
    width = max(len(name) for name in cases) + 1
    for name, rate in best.items():
        print(f"{name + ':':<{width}} {rate:9.0f} ops/s  {1e6 / rate:6.1f} µs/op")
    for what in ("sign", "verify"):
        openssl_name = next(name for name in cases if name.startswith(what) and "OpenSSL" in name)
        ours_name = next(name for name in cases if name.startswith(what) and "tracker.identity" in name)
        ratio = best[ours_name] / best[openssl_name]
        print(f"{what} ratio tracker.identity / cryptography: {ratio:.2f}x")


if __name__ == "__main__":
    main()
