"""A circuit breaker per WAHA session.

After `failure_threshold` consecutive transient failures the circuit opens: no call goes to the
session for `open_s`, so a WAHA that is down is not hammered by every queued send. Then it is
half-open: exactly one trial call goes; success closes it, failure opens it again for another
`open_s`. Every change is recorded in `transitions` (the dispatcher logs them and counts them in
metrics; tests assert on them).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["BreakerState", "CircuitBreaker"]


class BreakerState(enum.StrEnum):
    """Where a circuit stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(slots=True)
class CircuitBreaker:
    """One session's breaker. Times are monotonic seconds given by the caller."""

    failure_threshold: int = 5
    open_s: float = 30.0
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    """Consecutive transient failures while closed."""
    opened_at: float = 0.0
    trial_in_flight: bool = False
    transitions: list[tuple[float, BreakerState]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError(f"failure_threshold {self.failure_threshold} must be >= 1")

    def _move(self, state: BreakerState, now: float) -> None:
        self.state = state
        self.transitions.append((now, state))

    def wait_s(self, now: float) -> float:
        """0 if a call may go now (and, when half-open, book the one trial); otherwise how long
        until the caller should ask again."""
        if self.state is BreakerState.CLOSED:
            return 0.0
        if self.state is BreakerState.OPEN:
            remaining = self.opened_at + self.open_s - now
            if remaining > 0:
                return remaining
            self._move(BreakerState.HALF_OPEN, now)
        if self.trial_in_flight:
            return min(self.open_s, 1.0)
        self.trial_in_flight = True
        return 0.0

    def record_success(self, now: float) -> None:
        self.failures = 0
        self.trial_in_flight = False
        if self.state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED, now)

    def record_failure(self, now: float) -> None:
        """A transient failure (5xx, timeout, network, 429)."""
        self.trial_in_flight = False
        if self.state is BreakerState.CLOSED:
            self.failures += 1
            if self.failures < self.failure_threshold:
                return
        self.failures = 0
        self.opened_at = now
        self._move(BreakerState.OPEN, now)

    def release(self) -> None:
        """A call that was allowed did not happen or says nothing about WAHA's health (a
        permanent 4xx): free the half-open trial without changing state."""
        self.trial_in_flight = False

    @property
    def times_opened(self) -> int:
        return sum(1 for _, state in self.transitions if state is BreakerState.OPEN)
