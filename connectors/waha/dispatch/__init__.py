"""Dispatch policies: pure rules the WAHA dispatcher follows (no I/O, no clock, no sleeping).

Each rule takes the current time (monotonic seconds) and, where it draws jitter, a
`random.Random`, so tests drive it directly. The dispatcher (streams/agents/dispatch.py) asks them
what to do and does the waiting and the HTTP calls itself.

- `rate`: per-session spacing between sends, with jitter (about one message per second).
- `backoff`: exponential backoff with jitter, and `Retry-After`.
- `breaker`: a circuit breaker per session.
- `sessions`: a session that is not WORKING pauses its sends until a status check says it is.
- `chat_ids`: the Brazilian 9th digit: which numbers need `contacts/check-exists`, remembered once.
- `lanes`: which approvals may be in flight together (one lane per chat, in order).
"""

from __future__ import annotations

from connectors.waha.dispatch.backoff import Backoff, parse_retry_after
from connectors.waha.dispatch.breaker import BreakerState, CircuitBreaker
from connectors.waha.dispatch.chat_ids import ChatIdMemo, direct_chat_id, needs_lookup
from connectors.waha.dispatch.lanes import lane_key, lanes
from connectors.waha.dispatch.rate import SessionRateLimiter
from connectors.waha.dispatch.sessions import SessionGate

__all__ = [
    "Backoff",
    "BreakerState",
    "ChatIdMemo",
    "CircuitBreaker",
    "SessionGate",
    "SessionRateLimiter",
    "direct_chat_id",
    "lane_key",
    "lanes",
    "needs_lookup",
    "parse_retry_after",
]
