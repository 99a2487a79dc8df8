"""How every agent iterates its stream: typed events, admitted into the current transaction,
with undecodable records dead-lettered on the way.

Admission is what lets a commit be a consistent cut (streams/transport.py): while a commit is
being prepared, no new event starts. An agent that iterates its stream any other way loses that
guarantee for the table writes it makes before its first send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

import faust
import structlog
from faust.streams import current_event

from schemas.codec import Undecodable
from schemas.errors import UndecodableEvent
from schemas.events import Event
from streams.channels import CHANNELS
from streams.dead_letters import dead_letter_for
from streams.topics import DEAD_LETTERS
from streams.transport import SourcePartitionTransactions

log = structlog.get_logger(__name__)


async def events(stream: faust.StreamT[Any]) -> AsyncIterator[Event]:
    """The stream's events, typed, each admitted before the agent sees it."""
    app = stream.app
    transactions = (
        cast(SourcePartitionTransactions, app.consumer.transactions) if app.in_transaction else None
    )
    async for event in stream.events():
        message = event.message
        if transactions is not None:
            await transactions.admit(message)
        value = event.value
        if isinstance(value, Undecodable):
            error = UndecodableEvent(value.reason, schema_id=value.schema_id).at(
                message.topic, message.partition, message.offset
            )
            log.warning("dead_lettered", error=str(error))
            dead = dead_letter_for(message, error, value.data)
            await CHANNELS[DEAD_LETTERS.name].send(key=message.topic.encode(), value=dead)
            continue
        yield value


def current_partition() -> int:
    """The partition number of the event the agent is processing: where an agent that keeps
    state writes the events that change it (streams/state.py)."""
    event = current_event()
    if event is None:
        raise RuntimeError("current_partition() called outside an agent processing an event")
    return int(event.message.partition)


def current_key() -> bytes | None:
    """The record key of the event the agent is processing: what an agent that writes its
    outputs to the input's partition keys them with, so key and partition agree."""
    event = current_event()
    if event is None:
        raise RuntimeError("current_key() called outside an agent processing an event")
    key = event.message.key
    return key if isinstance(key, bytes) or key is None else str(key).encode()


def current_value_bytes() -> bytes | None:
    """The raw bytes of the record being processed (for a dead letter)."""
    event = current_event()
    if event is None:
        raise RuntimeError("current_value_bytes() called outside an agent processing an event")
    value = event.message.value
    return value if isinstance(value, bytes) else None
