"""Per-session send spacing with jitter.

WhatsApp bans accounts that send like machines, and WAHA has no limiter of its own
(WAHA_API.md, section 5: Rate limits), so each session's sends are spaced: about one message per
second by default, each gap drawn from `interval * (1 ± jitter)` so the rhythm is not regular.
Sessions are independent: one tenant's backlog never slows another's account.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["SessionRateLimiter"]


@dataclass(slots=True)
class SessionRateLimiter:
    """Hands out send slots per session; `per_second <= 0` turns the limit off."""

    per_second: float = 1.0
    jitter: float = 0.2
    """Fraction of the interval each gap may vary by, in [0, 1)."""
    rng: random.Random = field(default_factory=random.Random)
    _next_free: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.jitter < 1:
            raise ValueError(f"jitter {self.jitter} must be in [0, 1)")

    @property
    def interval(self) -> float:
        """Mean seconds between two sends of one session (0 when the limit is off)."""
        return 1.0 / self.per_second if self.per_second > 0 else 0.0

    def reserve(self, session: str, now: float) -> float:
        """Book the session's next slot; returns how long to wait before sending (>= 0).

        Call once per send actually made (a retry books a new slot: it is a new message to
        WhatsApp's eyes).
        """
        if self.per_second <= 0:
            return 0.0
        slot = max(now, self._next_free.get(session, now))
        gap = self.interval * (1 + self.rng.uniform(-self.jitter, self.jitter))
        self._next_free[session] = slot + gap
        return slot - now
