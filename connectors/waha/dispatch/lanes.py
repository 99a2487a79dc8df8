"""Which approvals may be in flight together: one lane per chat, lanes side by side.

WAHA documents no server-side limit on concurrent sends to one session (WAHA_API.md, section 5:
"No server-side limiter is documented"); what WhatsApp cares about is the rhythm of a session's
sends, which the rate limiter keeps however many are in flight (`SessionRateLimiter.reserve`
hands out successive slots). What a debtor sees is the order of the messages in *their* chat:
two reminders, or a reminder and the reply to it, must arrive in the order they were approved.

So a batch of orders is split into lanes, one per (session, chat): a lane's orders go one after
the other, in the batch's order; different lanes go concurrently, at most `per_session` of one
session at a time. A chat is its chat key (streams/domain/chat_keys.py): `+5531987654321` and
`+553187654321` are one debtor, one lane, whatever check-exists answers for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from streams.domain.chat_keys import chat_key

__all__ = ["Routed", "lane_key", "lanes"]


class Routed(Protocol):
    """What a lane is decided from (a `SendOrder`)."""

    @property
    def session(self) -> str: ...

    @property
    def phone_e164(self) -> str: ...


def lane_key(order: Routed) -> tuple[str, str]:
    """The lane of an order: its session and the chat key of its phone."""
    return order.session, chat_key(order.phone_e164)


def lanes(orders: Sequence[Routed]) -> list[list[int]]:
    """The indices of `orders`, grouped by lane: each lane in the orders' order, lanes in the
    order of their first order."""
    by_lane: dict[tuple[str, str], list[int]] = {}
    for index, order in enumerate(orders):
        by_lane.setdefault(lane_key(order), []).append(index)
    return list(by_lane.values())
