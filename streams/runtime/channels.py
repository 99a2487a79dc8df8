"""Faust topic objects for the catalogue's topics, built for one app.

Values are decoded by the ``avro`` codec into the typed record named by the bytes' schema, so a
topic that carries several event types needs no `value_type`; keys stay raw bytes. A worker
builds its `Channels` when it is created (streams/agents/worker.py): nothing exists at import
time.
"""

from __future__ import annotations

import faust
from faust.types import AppT

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

__all__ = ["Channels", "channel"]


def channel(app: AppT, *specs: TopicSpec) -> faust.TopicT:
    """One Faust topic object over these topics."""
    # internal=False: Faust must never create or reconfigure these; `cobranca topics create` does.
    return app.topic(*(s.name for s in specs), key_type=bytes, value_type=None, internal=False)


class Channels:
    """Every catalogue topic of one app, and the merged inputs of the agents that read several."""

    def __init__(self, app: AppT) -> None:
        self._by_name: dict[str, faust.TopicT] = {
            spec.name: channel(app, spec) for spec in CATALOGUE
        }
        #: One stream over every ledger input, so a tenant's events are decided one at a time.
        self.ledger = channel(app, *LEDGER_INPUTS)
        #: The régua's input: imported clients and clock ticks, co-partitioned, so a tick on
        #: partition P acts on the clients of partition P inside P's transaction.
        self.regua_input = channel(app, CLIENTS, CLOCK)
        #: The conversation agent's input: chats' traffic and the debts indexed for them,
        #: co-partitioned by tenant_id:chat_key (docs/adr/0010-conversation-agent.md).
        self.conversation_input = channel(app, CONVERSATIONS, CONVERSATION_DEBTS)

    def __getitem__(self, spec: TopicSpec) -> faust.TopicT:
        return self._by_name[spec.name]

    def for_event(self, event_type: str) -> faust.TopicT:
        """The channel an event of this type is written to."""
        return self._by_name[topic_for_event(event_type).name]
