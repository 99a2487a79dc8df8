"""The key that joins a WhatsApp chat to the debt imported for its phone.

Imports carry E.164 phones with Brazil's 9th digit (`+5531987654321`); WhatsApp names the chat
of that phone `5531987654321@c.us` or, for most mobiles of DDD 31 and above, which WhatsApp
registered before the 9th digit existed, `553187654321@c.us`. NOWEB and GOWS spell the domain
`@s.whatsapp.net`. All of these must land on one key, so the debt the régua indexes and the
messages the normalizer writes share a partition (docs/adr/0010-conversation-agent.md).

The key is the number's digits in E.164 with the 9th digit: `5531987654321`. Ids that are not a
phone (groups `@g.us`, `@lid`, broadcasts) are their own key, unchanged.
"""

from __future__ import annotations

import re
from typing import Final

from streams.domain.brazil.phones import ninth_digit_added

__all__ = ["chat_key", "phone_of_key", "record_key"]

_PHONE_DOMAINS: Final = frozenset({"", "c.us", "s.whatsapp.net"})
_PHONE_PUNCTUATION: Final = re.compile(r"[\s().+-]")


def chat_key(chat: str) -> str:
    """The chat key of an E.164 phone or a WhatsApp chat id.

    ``"+55 31 98765-4321"``, ``"5531987654321@c.us"``, ``"553187654321@c.us"`` and
    ``"553187654321@s.whatsapp.net"`` → ``"5531987654321"``; ``"1203...@g.us"`` stays as it is.
    """
    value = chat.strip()
    local, _, domain = value.partition("@")
    if domain not in _PHONE_DOMAINS:
        return value
    digits = _PHONE_PUNCTUATION.sub("", local.split(":", 1)[0])
    if not digits.isdigit():
        return value
    return ninth_digit_added(digits)


def phone_of_key(key: str) -> str | None:
    """The E.164 phone a chat key names (``"5531987654321"`` → ``"+5531987654321"``), or None
    for a chat that is not a phone."""
    return f"+{key}" if key.isdigit() else None


def record_key(tenant_id: str, chat: str) -> bytes:
    """The Kafka key of a chat's records on cobranca.conversations and the topics
    co-partitioned with it: ``tenant_id:chat_key``."""
    return f"{tenant_id}:{chat_key(chat)}".encode()
