"""Faust topic objects for the catalogue's topics.

Values are decoded by the ``avro`` codec into the typed record named by the bytes' schema, so a
topic that carries several event types needs no `value_type`; keys stay raw bytes.
"""

from __future__ import annotations

import faust

from streams.base.topics import (
    CATALOGUE,
    CLIENTS,
    CLOCK,
    CONVERSATION_DEBTS,
    CONVERSATIONS,
    LEDGER_INPUTS,
    TopicSpec,
    topic_for_event,
)
from streams.runtime.app import app


def channel(*specs: TopicSpec) -> faust.TopicT:
    # internal=False: Faust must never create or reconfigure these; `cobranca topics create` does.
    return app.topic(*(s.name for s in specs), key_type=bytes, value_type=None, internal=False)


CHANNELS: dict[str, faust.TopicT] = {spec.name: channel(spec) for spec in CATALOGUE}
#: One stream over every ledger input, so a tenant's events are decided one at a time.
LEDGER_CHANNEL = channel(*LEDGER_INPUTS)
#: The régua's input: imported clients and clock ticks, co-partitioned, so a tick on partition P
#: acts on the clients of partition P inside P's transaction.
REGUA_INPUT = channel(CLIENTS, CLOCK)
#: The conversation agent's input: chats' traffic and the debts indexed for them, co-partitioned
#: by tenant_id:chat_key (docs/adr/0010-conversation-agent.md).
CONVERSATION_INPUT = channel(CONVERSATIONS, CONVERSATION_DEBTS)


def channel_for(event: str) -> faust.TopicT:
    """The channel an event of this type is written to."""
    return CHANNELS[topic_for_event(event).name]
