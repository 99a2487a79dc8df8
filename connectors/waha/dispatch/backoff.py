"""How long to wait before the next attempt: exponential backoff with jitter, or `Retry-After`.

Delays double from `base_s` up to `cap_s`; each is drawn from `[d * (1 - jitter), d]` so workers
that failed together do not retry together. A 429's `Retry-After` (seconds or an HTTP date) wins
over the backoff, capped so a bogus header cannot park a session for a day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = ["Backoff", "parse_retry_after"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with jitter."""

    base_s: float = 0.5
    cap_s: float = 30.0
    jitter: float = 0.5
    """Fraction of each delay that is random, in [0, 1]."""
    max_retry_after_s: float = 300.0
    """Longest `Retry-After` honoured as given; longer ones are cut to this."""

    def ceiling(self, attempt: int) -> float:
        """The un-jittered delay after the `attempt`-th failure (1-based)."""
        if attempt < 1:
            raise ValueError(f"attempt {attempt} must be >= 1")
        # min() before the power would overflow for large attempts; 2**60 is plenty.
        return min(self.cap_s, self.base_s * float(2 ** min(attempt - 1, 60)))

    def delay(self, attempt: int, rng: random.Random, *, retry_after: float | None = None) -> float:
        """Seconds to wait after the `attempt`-th failure; `retry_after` (from a 429) wins."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after_s)
        ceiling = self.ceiling(attempt)
        return ceiling * (1 - self.jitter * rng.random())


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds a `Retry-After` header asks for: delta-seconds or an HTTP date; None if absent
    or unreadable (the caller then backs off as usual)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
