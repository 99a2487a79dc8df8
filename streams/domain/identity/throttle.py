"""Brute-force protection: too many failed logins lock an account or a client address.

Pure: the failures seen so far go in, the failures to keep and, when the limit is reached, the
time the lock ends come out. The API keeps the failure windows in each replica's memory and
records each lock as an event every replica honours, so behind N replicas an attacker gets at
most N windows' worth of tries before the first lock, and none after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["ThrottlePolicy", "failed"]


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """`max_failures` failures within `window` lock for `lock_for`."""

    max_failures: int
    window: timedelta
    lock_for: timedelta


def failed(
    history: tuple[datetime, ...], now: datetime, policy: ThrottlePolicy
) -> tuple[tuple[datetime, ...], datetime | None]:
    """Record one failure at `now`: the failures still inside the window, and the end of the
    lock if this failure reached the limit (then the window starts over)."""
    recent = (*(moment for moment in history if now - moment < policy.window), now)
    if len(recent) >= policy.max_failures:
        return (), now + policy.lock_for
    return recent, None
