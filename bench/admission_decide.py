"""Benchmark: admission Decide latency (p50 / p99 / max over 100k decisions, 10k known consumers, pressure
0.5) without and with a peer attestation — the attestation verified through tracker.identity (libsodium) and,
as the in-run "before", through `cryptography` (OpenSSL, the previous implementation) — the Ed25519 verify
time alone with both libraries as baselines, and the memory of consumer credit state at 100k consumers.

Run: .venv/bin/python bench/admission_decide.py [--decisions N] [--consumers N]
Targets: p99 ≤ 50 µs without attestation, ≤ 150 µs with (on a quiet machine); ≤ 1 KB per consumer state.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import random
import sys
import time
import tracemalloc

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from prometheus_client import CollectorRegistry

from tracker._proto.admission_pb2 import CreditAttestationBody, SignedCreditAttestation
from tracker.admission import AdmissionMetrics, Outcome, ScoreSource
from tracker.admission.core._attestation import canonical_body_bytes, sign_credit_attestation
from tracker.admission.core._events import LedgerEvent, LedgerEventKind, apply_ledger_event
from tracker.admission.core._gatekeeper import AdmissionCore
from tracker.admission.core._peers import AllowAllPeerSet
from tracker.admission.core._supply import SupplySnapshot
from tracker.config import AdmissionConfig
from tracker.identity import identity_from_seed, verify
from tracker.registry import Registry

NOW = 1777118400
DAY = 86400
TRACKER = identity_from_seed(b"bench-admission-tracker-seed-v1x")
PEER = identity_from_seed(b"bench-admission-peer-seed-v1-xxx")


def consumer_id(i: int) -> bytes:
    return i.to_bytes(8, "big") + b"\xc1" * 24


def history_events(i: int, rng: random.Random) -> list[LedgerEvent]:
    """A plausible month: a starter grant, then settlements on 5 distinct days (as consumer and as seeder)."""
    me = consumer_id(i)
    other = consumer_id((i + 1) % 1_000_000_007)
    events = [LedgerEvent(LedgerEventKind.STARTER_GRANT, me, NOW - 29 * DAY, cost_credits=1000)]
    for day in rng.sample(range(28), 5):
        ts = NOW - day * DAY - rng.randrange(DAY)
        events.append(
            LedgerEvent(
                LedgerEventKind.SETTLEMENT,
                me,
                ts,
                seeder_id=other,
                cost_credits=rng.randrange(1, 200),
                flags=rng.randrange(2),
            )
        )
    return events


def percentiles(samples_ns: list[int]) -> tuple[float, float, float]:
    ordered = sorted(samples_ns)
    p50 = ordered[len(ordered) // 2] / 1000
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000
    return p50, p99, ordered[-1] / 1000


def build_core(consumers: int) -> AdmissionCore:
    config = AdmissionConfig()
    core = AdmissionCore(
        config,
        Registry(),
        TRACKER,
        peer_set=AllowAllPeerSet(),
        metrics=AdmissionMetrics(CollectorRegistry()),
        clock=lambda: NOW,
    )
    rng = random.Random(1)
    for i in range(consumers):
        for event in history_events(i, rng):
            core.apply_event(event)
    core.publish_supply(SupplySnapshot(computed_at=NOW, total_headroom=1e6, pressure=0.5))
    return core


def attestation_for(i: int) -> SignedCreditAttestation:
    body = CreditAttestationBody(
        identity_id=consumer_id(i),
        issuer_tracker_id=PEER.public_key,
        score=7000,
        tenure_days=60,
        settlement_reliability=9000,
        dispute_rate=100,
        net_credit_flow_30d=50000,
        balance_cushion_log2=1,
        computed_at=NOW - 3600,
        expires_at=NOW + 23 * 3600,
    )
    return SignedCreditAttestation(body=body, tracker_sig=sign_credit_attestation(PEER.key_bytes, body))


def run_decides(
    core: AdmissionCore, decisions: int, consumers: int, attestations: list[SignedCreditAttestation] | None
) -> list[int]:
    samples: list[int] = []
    clock = time.perf_counter_ns
    decide = core.decide
    for n in range(decisions):
        index = n % consumers
        attestation = None if attestations is None else attestations[n % len(attestations)]
        consumer = consumer_id(index) if attestations is None else attestation.body.identity_id  # type: ignore[union-attr]
        now = NOW + n * 0.001
        started = clock()
        result = decide(consumer, attestation, now)
        samples.append(clock() - started)
        if result.outcome != Outcome.ADMIT:
            raise SystemExit(f"unexpected outcome {result.outcome!r} at pressure 0.5")
        if attestations is not None and result.score_source != ScoreSource.ATTESTATION:
            raise SystemExit("attestation was not accepted; the benchmark is not measuring the verify path")
        if attestations is None and result.score_source != ScoreSource.LOCAL:
            raise SystemExit("consumer history was not used; the benchmark is not measuring the score path")
    return samples


@functools.lru_cache(maxsize=4096)
def _openssl_key(raw: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(raw)


def openssl_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """The previous verify: `cryptography` with a cached key object per public key."""
    try:
        _openssl_key(bytes(public_key)).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def attested_with_openssl(
    core: AdmissionCore, decisions: int, consumers: int, attestations: list[SignedCreditAttestation]
) -> list[int]:
    """The attested run with the attestation module's verify swapped for the OpenSSL one."""
    module = sys.modules[sign_credit_attestation.__module__]
    original = module.verify
    module.verify = openssl_verify
    try:
        run_decides(core, 2000, consumers, attestations)
        return run_decides(core, decisions, consumers, attestations)
    finally:
        module.verify = original


def verify_alone(count: int, verify_function) -> list[int]:  # type: ignore[no-untyped-def]
    signed = attestation_for(0)
    message = canonical_body_bytes(signed.body)
    public_key = PEER.public_key
    signature = signed.tracker_sig
    samples: list[int] = []
    for _ in range(count):
        started = time.perf_counter_ns()
        verify_function(public_key, message, signature)
        samples.append(time.perf_counter_ns() - started)
    return samples


def memory_per_consumer(consumers: int) -> float:
    rng = random.Random(2)
    events = [history_events(i, rng) for i in range(consumers)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    states: dict = {}
    for history in events:
        for event in history:
            apply_ledger_event(states, event)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # The seeder side of every settlement creates states too; count every state held.
    return (after - before) / len(states), len(states)  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--consumers", type=int, default=10_000)
    parser.add_argument("--memory-consumers", type=int, default=100_000)
    args = parser.parse_args()

    core = build_core(args.consumers)
    run_decides(core, 2000, args.consumers, None)  # warm-up
    plain = percentiles(run_decides(core, args.decisions, args.consumers, None))
    attestations = [attestation_for(i) for i in range(1000)]
    run_decides(core, 2000, args.consumers, attestations)
    attested = percentiles(run_decides(core, args.decisions, args.consumers, attestations))
    attested_openssl = percentiles(attested_with_openssl(core, args.decisions, args.consumers, attestations))
    verify_alone(2000, verify)
    verify_times = percentiles(verify_alone(20_000, verify))
    verify_openssl = percentiles(verify_alone(20_000, openssl_verify))
    per_consumer, states = memory_per_consumer(args.memory_consumers)

    print(
        f"decide, no attestation   ({args.decisions} decisions, {args.consumers} known consumers, "
        "pressure 0.5): "
        f"p50 {plain[0]:.1f} µs  p99 {plain[1]:.1f} µs  max {plain[2]:.1f} µs  (target p99 ≤ 50 µs)"
    )
    print(
        f"decide, with attestation ({args.decisions} decisions, 1000 attested consumers, pressure 0.5): "
        f"p50 {attested[0]:.1f} µs  p99 {attested[1]:.1f} µs  max {attested[2]:.1f} µs  (target p99 ≤ 150 µs)"
    )
    print(
        "decide, with attestation, verified by cryptography/OpenSSL (before, same run): "
        f"p50 {attested_openssl[0]:.1f} µs  p99 {attested_openssl[1]:.1f} µs  "
        f"max {attested_openssl[2]:.1f} µs"
    )
    print(
        f"ed25519 verify alone, tracker.identity/libsodium (20000 verifies): p50 {verify_times[0]:.1f} µs  "
        f"p99 {verify_times[1]:.1f} µs; attestation overhead beyond verify at p50: "
        f"{attested[0] - verify_times[0]:.1f} µs"
    )
    print(
        f"ed25519 verify alone, cryptography/OpenSSL (20000 verifies):      p50 {verify_openssl[0]:.1f} µs  "
        f"p99 {verify_openssl[1]:.1f} µs"
    )
    print(
        f"consumer credit state memory: {per_consumer:.0f} bytes per consumer at {states} states "
        f"({args.memory_consumers} consumers × starter grant + 5 settlement days, seeder sides included; "
        "target ≤ 1024 bytes)"
    )
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; metrics enabled; "
        "supply published at pressure 0.5"
    )


if __name__ == "__main__":
    main()
