"""How every agent iterates its stream: typed events, admitted into the current transaction,
with undecodable records dead-lettered on the way.

Admission is what lets a commit be a consistent cut (streams/runtime/transport.py): while a commit
is being prepared, no new event starts. An agent that iterates its stream any other way loses that
guarantee for the table writes it makes before its first send.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

import faust
import structlog
from faust.streams import _current_event, current_event
from faust.types import AppT, EventT

from schemas.codec import Undecodable
from schemas.errors import UndecodableEvent
from schemas.events import Event
from streams.base.topics import DEAD_LETTERS
from streams.runtime.channels import channel
from streams.runtime.dead_letters import dead_letter_for
from streams.runtime.transport import SourcePartitionTransactions

log = structlog.get_logger(__name__)


async def events(stream: faust.StreamT[Any]) -> AsyncIterator[Event]:
    """The stream's events, typed, each admitted before the agent sees it."""
    app = stream.app
    transactions = (
        cast(SourcePartitionTransactions, app.consumer.transactions) if app.in_transaction else None
    )
    async for event in stream.events():
        message = event.message
        if transactions is not None and not await transactions.admit(message):
            continue  # a rebalance began: the partition is read again from its committed offset
        value = event.value
        if isinstance(value, Undecodable):
            await dead_letter(app, message, value)
            continue
        yield value


@dataclass(frozen=True, slots=True)
class Delivered:
    """One event of a batch, with the Faust event that delivered it (its partition, its
    transaction)."""

    event: Event
    source: EventT[Any]

    @property
    def partition(self) -> int:
        return int(self.source.message.partition)


async def batches(
    stream: faust.StreamT[Any], max_events: int, within: float
) -> AsyncIterator[list[Delivered]]:
    """The stream's events in batches of at most `max_events`, cut after `within` seconds,
    each batch admitted as a whole before the agent sees it.

    Faust's `take_events` acknowledges a batch's events when the agent asks for the next
    batch, so a commit (which waits for every admitted event) never cuts a batch in half. Act
    on each event inside `handling(delivered)`: its outputs then join the transaction of its
    own source partition, and `current_partition()` names that partition.
    """
    app = stream.app
    transactions = (
        cast(SourcePartitionTransactions, app.consumer.transactions) if app.in_transaction else None
    )
    # StreamT does not declare take_events; faust.Stream has it.
    async for batch in cast(Any, stream).take_events(max_events, within):
        if transactions is not None:
            admitted = set(await transactions.admit_all([source.message for source in batch]))
            batch = [source for source in batch if source.message in admitted]
        ready = []
        for source in batch:
            value = source.value
            if isinstance(value, Undecodable):
                with handling_source(source):
                    await dead_letter(app, source.message, value)
                continue
            ready.append(Delivered(value, source))
        yield ready


def still_ours(delivered: Delivered) -> bool:
    """Whether the worker still owns the event's partition. A batch outlives a rebalance: an
    event whose partition was revoked meanwhile is redelivered to its new owner and must be
    skipped here (acting on it would also wait at admission for a commit that waits for the
    rest of the batch)."""
    app = delivered.source.app
    if not app.in_transaction:
        return True
    transactions = cast(SourcePartitionTransactions, app.consumer.transactions)
    return transactions.is_admitted(delivered.source.message)


@contextmanager
def handling(delivered: Delivered) -> Iterator[None]:
    """Within this block the agent acts on `delivered`: sends join its transaction."""
    with handling_source(delivered.source):
        yield


@contextmanager
def handling_source(source: EventT[Any]) -> Iterator[None]:
    token = _current_event.set(weakref.ref(source))
    try:
        yield
    finally:
        _current_event.reset(token)


async def dead_letter(app: AppT, message: Any, value: Undecodable) -> None:
    """Dead-letter an undecodable record, inside the transaction of the event being handled."""
    error = UndecodableEvent(value.reason, schema_id=value.schema_id).at(
        message.topic, message.partition, message.offset
    )
    log.warning("dead_lettered", error=str(error))
    dead = dead_letter_for(message, error, value.data)
    await channel(app, DEAD_LETTERS).send(key=message.topic.encode(), value=dead)


def current_partition() -> int:
    """The partition number of the event the agent is processing: where an agent that keeps
    state writes the events that change it (streams/runtime/state.py)."""
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
