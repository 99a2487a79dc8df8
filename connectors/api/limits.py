"""Request rate per caller: a token bucket per API key or user, in each replica's memory.

Behind N replicas a caller gets up to N times the rate; the limit protects each process from
one noisy client, which is what it is for. Buckets idle long enough to be full are dropped, so
memory follows the callers active in the last minute or so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["RateLimiter"]


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self, per_s: float, burst: int, *, max_callers: int = 100_000) -> None:
        self.per_s = per_s
        self.burst = burst
        self._max_callers = max_callers
        self._buckets: dict[str, _Bucket] = {}

    def take(self, caller: str, now: float) -> float:
        """Spend one request of `caller` at monotonic time `now`: 0 when allowed, else the
        seconds to wait before the next one is."""
        bucket = self._buckets.get(caller)
        if bucket is None:
            if len(self._buckets) >= self._max_callers:
                self._forget_full(now)
            bucket = self._buckets[caller] = _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.per_s)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.per_s

    def _forget_full(self, now: float) -> None:
        refill = self.burst / self.per_s
        for caller in [c for c, b in self._buckets.items() if now - b.at >= refill]:
            del self._buckets[caller]
        if len(self._buckets) >= self._max_callers:
            # Every caller is active: forget the oldest half rather than grow without bound.
            for caller in sorted(self._buckets, key=lambda c: self._buckets[c].at)[
                : math.ceil(len(self._buckets) / 2)
            ]:
                del self._buckets[caller]
