"""A per-key token bucket (per source IP for enrolments) with bounded memory. Pure: time comes in."""

from __future__ import annotations

MAX_TRACKED_KEYS = 100_000


class RateLimiter:
    """`rate_per_min` tokens a minute per key, bursts up to max(1, burst) (burst defaults to
    rate_per_min). When more than
    MAX_TRACKED_KEYS keys are tracked, keys whose bucket has refilled are forgotten (a full bucket is the same
    as no entry)."""

    def __init__(self, rate_per_min: float, burst: float | None = None) -> None:
        self._per_second = rate_per_min / 60.0
        self._capacity = max(1.0, float(rate_per_min if burst is None else burst))
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    @property
    def rate_per_min(self) -> float:
        return self._per_second * 60.0

    def _tokens(self, key: str, now: float) -> float:
        entry = self._buckets.get(key)
        if entry is None:
            return self._capacity
        tokens, at = entry
        return min(self._capacity, tokens + max(0.0, now - at) * self._per_second)

    def allow(self, key: str, now: float) -> bool:
        """Take one token for `key` if there is one."""
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            return False
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > MAX_TRACKED_KEYS:
            self._forget_full(now)
        return True

    def _forget_full(self, now: float) -> None:
        for key in [key for key in self._buckets if self._tokens(key, now) >= self._capacity]:
            del self._buckets[key]
