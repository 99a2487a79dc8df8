"""Sessions that may send: a session that is not WORKING pauses its sends instead of burning
retries, and resumes when a status check finds it WORKING again.

WAHA answers a send to a session that is not WORKING with 422 (`expected: ["WORKING"]`). The
dispatcher then pauses the session here and asks WAHA for its status (`GET /api/sessions/{s}`)
every `check_interval_s`; sends wait meanwhile. A `session.status` webhook normalized into
SessionStatusChanged can feed `observe` too, but the dispatcher does not subscribe to it (every
topic has one consumer); polling WAHA, which the product talks to anyway, is enough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

__all__ = ["WORKING", "SessionGate"]

WORKING: Final = "WORKING"


@dataclass(slots=True)
class _Paused:
    status: str
    since: float
    next_check: float


@dataclass(slots=True)
class SessionGate:
    """Which sessions are paused, and when to ask WAHA about each again."""

    check_interval_s: float = 2.0
    _paused: dict[str, _Paused] = field(default_factory=dict)

    def is_open(self, session: str) -> bool:
        return session not in self._paused

    def status(self, session: str) -> str:
        """The last status seen for a paused session; WORKING for an open one."""
        paused = self._paused.get(session)
        return paused.status if paused is not None else WORKING

    def pause(self, session: str, status: str, now: float) -> None:
        """WAHA said the session is `status` (not WORKING): hold its sends; check again soon."""
        current = self._paused.get(session)
        since = current.since if current is not None else now
        self._paused[session] = _Paused(status, since, now + self.check_interval_s)

    def observe(self, session: str, status: str, now: float) -> None:
        """A status read from WAHA (or a SessionStatusChanged): WORKING opens, anything else
        pauses."""
        if status == WORKING:
            self._paused.pop(session, None)
        else:
            self.pause(session, status, now)

    def check_in(self, session: str, now: float) -> float:
        """Seconds until the paused session's status should be read again (0: read it now)."""
        paused = self._paused.get(session)
        if paused is None:
            return 0.0
        return max(paused.next_check - now, 0.0)

    def paused_for(self, session: str, now: float) -> float:
        paused = self._paused.get(session)
        return 0.0 if paused is None else now - paused.since
