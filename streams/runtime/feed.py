"""A batch feed: records of some topics handed to one agent as whole fetched batches.

Faust hands every record to its agents one by one: the fetcher races the conductor's callback
against the flow-control event (`Service.wait_first`: tasks and an `asyncio.wait` per record),
the conductor decodes the value into a Faust Record and queues it, and the stream takes it off
the queue, acknowledges it and reports it to the sensors. For the ledger that path cost more than
its own rules (docs/adr/0014-ledger-fetch.md). A topic registered here skips it: the worker's
fetch loop (`streams.runtime.transport.Consumer._drain_messages`) appends each fetched message,
raw, to the feed, and the agent takes them in batches (`batches`), decodes them itself and
acknowledges a batch when it asks for the next one, as `Stream.take_events` does.

What Faust's path guaranteed and the feed keeps:

- a partition's records are delivered in offset order, once (the fetch loop keeps Faust's read
  offsets and gap tracking);
- a message is tracked (`Consumer.track_message`) from the moment the agent takes it until it is
  acknowledged, so a rebalance waits for the batch in hand (`Consumer.wait_empty`) and a commit
  covers only acknowledged offsets;
- every batch is admitted into the current transaction as a whole before the agent sees it
  (`SourcePartitionTransactions.admit_all`), so a commit is still a consistent cut;
- at every revocation Faust clears the feed with its own stream buffers (the feed is one of
  `app.flow_control`'s queues); what was cleared was never tracked, and every partition starts
  again from its committed offset;
- the feed holds at most `maxsize` messages: past that, the fetcher stops fetching the partition
  until the agent has taken the feed down to a quarter (Faust's `on_buffer_full` /
  `on_buffer_drop`), so a slow agent never blocks the fetch of the other agents' topics.

One agent per feed, and no other agent may subscribe to its topics (ADR 0001's rule anyway).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.types import TP, Message

from schemas.codec import Undecodable
from schemas.errors import UndecodableEvent
from schemas.events import Event
from streams.runtime import processing
from streams.runtime.log_reader import event_from
from streams.runtime.transport import SourcePartitionTransactions, feed_topics


class BatchFeed:
    """Fetched messages of `topics`, waiting for their agent, in fetch order."""

    def __init__(self, app: faust.App, topics: Iterable[str], *, maxsize: int, agent: str) -> None:
        self.app = app
        self.agent = agent
        """The name of the agent it feeds (the `agent` label of its metrics)."""
        self.topics = frozenset(topics)
        self.maxsize = maxsize
        self._messages: deque[Message] = deque()
        self._arrived: asyncio.Event | None = None
        self._paused: set[TP] = set()
        feed_topics(app, self.topics, self)
        # Faust clears its flow-controlled queues at every revocation: the feed with them.
        # It asks only for `clear()` of what it manages.
        app.flow_control.manage_queue(cast(Any, self))

    def __len__(self) -> int:
        return len(self._messages)

    def offer(self, consumer: Any, message: Message) -> None:
        """Called by the fetch loop for each fetched message of the feed's topics."""
        self._messages.append(message)
        if self._arrived is not None:
            self._arrived.set()
        if len(self._messages) >= self.maxsize:
            # Stop fetching this partition; what is already fetched still comes in. (Faust's
            # partition sets hold its own TP; the message's may be aiokafka's.)
            tp = TP(message.topic, message.partition)
            if tp not in self._paused:
                self._paused.add(tp)
                consumer.on_buffer_full(tp)

    def clear(self) -> None:
        """Drop every message not taken yet (Faust calls this at a revocation, before the
        partitions start over from their committed offsets)."""
        self._messages.clear()
        # Assignment resets the fetched partitions; a stale pause must not outlive it.
        buffered: set[TP] = getattr(self.app.consumer, "_buffered_partitions", set())
        buffered.difference_update(self._paused)
        self._paused.clear()

    async def take(self, max_messages: int, within: float) -> list[Message]:
        """The next messages, at most `max_messages`: waits for a first one, then up to
        `within` seconds for the batch to fill."""
        await self.app.flow_control.acquire()  # suspended while Faust rebalances
        arrived = self._arrived
        if arrived is None:
            arrived = self._arrived = asyncio.Event()
        while not self._messages:
            arrived.clear()
            await arrived.wait()
            await self.app.flow_control.acquire()
        if len(self._messages) < max_messages:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while len(self._messages) < max_messages:
                left = deadline - loop.time()
                if left <= 0:
                    break
                arrived.clear()
                try:
                    await asyncio.wait_for(arrived.wait(), left)
                except TimeoutError:
                    break
            await self.app.flow_control.acquire()
        messages = self._messages
        count = min(max_messages, len(messages))
        batch = [messages.popleft() for _ in range(count)]
        if self._paused and len(messages) <= self.maxsize // 4:
            consumer = self.app.consumer
            for tp in self._paused:
                consumer.on_buffer_drop(tp)
            self._paused.clear()
        return batch


@dataclass(frozen=True, slots=True)
class Fed:
    """One decoded event of a batch and the message that carried it."""

    event: Event
    message: Message

    @property
    def partition(self) -> int:
        return int(self.message.partition)


async def batches(feed: BatchFeed, max_events: int, within: float) -> AsyncIterator[list[Fed]]:
    """The feed's events in batches of at most `max_events` (waiting up to `within` seconds
    for a batch to fill), each batch admitted as a whole into the current transaction and
    acknowledged when the agent asks for the next one. Undecodable records are dead-lettered
    in their own transaction on the way."""
    app = feed.app
    consumer = app.consumer
    transactions = (
        cast(SourcePartitionTransactions, consumer.transactions) if app.in_transaction else None
    )
    while True:
        messages = await feed.take(max_events, within)
        for message in messages:
            consumer.track_message(message)
        began = time.monotonic()
        try:
            admitted = messages if transactions is None else await transactions.admit_all(messages)
            ready = []
            for message in admitted:
                decoded = decode(message.value)
                if isinstance(decoded, Undecodable):
                    await _dead_letter(app, message, decoded)
                    continue
                ready.append(Fed(decoded, message))
            if ready:
                yield ready
        finally:
            # Asked for the next batch (or stopped): this one is done. Acknowledged even when
            # the agent failed, as Faust's streams do, so no wait for it hangs: an agent that
            # fails half-way halts the transactions first (SourcePartitionTransactions.halt,
            # see streams/agents/ledger.py), and the offsets of events it abandoned are held
            # back by the transport (SourcePartitionTransactions.abandon).
            for message in messages:
                consumer.ack(message)
            _report(app, feed.agent, messages, time.monotonic() - began)


def _report(app: Any, agent: str, messages: list[Message], seconds: float) -> None:
    """The batch's events to the sensors that count batches (`PrometheusSensor`)."""
    if not messages:
        return
    by_topic = Counter(message.topic for message in messages)
    for sensor in app.sensors:
        if (report := getattr(sensor, "on_batch_processed", None)) is not None:
            for topic, count in by_topic.items():
                report(topic, agent, count, seconds)


def decode(value: bytes | None) -> Event | Undecodable:
    """A record's value as its typed event, or what the agent dead-letters instead."""
    if value is None:
        return Undecodable(data=b"", reason="a record with no value", schema_id=None)
    try:
        return event_from(value)
    except UndecodableEvent as exc:
        return Undecodable(data=value, reason=exc.reason, schema_id=exc.schema_id)
    except (KeyError, TypeError, ValueError) as exc:  # decoded, but not an event we know
        return Undecodable(data=value, reason=f"not a known event: {exc!r}", schema_id=None)


async def _dead_letter(app: Any, message: Message, value: Undecodable) -> None:
    # The dead letter joins the transaction of the record's partition, like any output.
    source = app.create_event(message.key, value, message.headers, message)
    with processing.handling_source(source):
        await processing.dead_letter(app, message, value)
