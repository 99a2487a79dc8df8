"""Faust's Kafka transport, with every commit a consistent cut of the worker's processing.

Faust's exactly-once mode keeps one transactional producer per source partition and commits
each partition's offsets in that producer's transaction. Three gaps in faust-streaming 0.15
break that as soon as agents re-key or keep tables (see docs/adr/0001):

1. Its transaction manager picks the producer from the *destination* partition, and falls back
   to a plain, non-transactional producer for topics the worker does not consume.
2. Commits run on a timer, concurrently with the agents, so a transaction can hold the outputs
   of an event whose offset it does not commit.
3. Table changelog writes go through a producer buffer drained by a background task, so they
   can land in the transaction after the one that commits their event's offset.

Here:

- every record an agent sends goes through the producer of the partition the current event
  came from (Kafka Streams' task model); changelog writes, which Faust addresses to the source
  partition's number, go through that same producer;
- agents iterate with `streams.processing.events`, which *admits* each event: while a commit is
  being prepared no new event is admitted;
- a commit waits until every admitted event is acknowledged (Faust acknowledges an event when
  the agent asks for the next one) and every record they produced, changelogs included, has
  been handed to Kafka; only then are the offsets taken and the transactions committed.

The transport is registered under the URL scheme ``cobranca://`` through the
``faust.transports`` entry point in pyproject.toml.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from faust.streams import current_event
from faust.transport.consumer import TransactionManager
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.errors import CobrancaError


class SendOutsideTransaction(CobrancaError):
    """A record was sent under exactly-once outside of an agent processing an event."""


class Producer(faust_aiokafka.Producer):
    """Faust's producer, keeping track of buffered records not yet handed to Kafka."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unsent: set[asyncio.Future[Any]] = set()

    def send_soon(self, fut: Any) -> None:
        # Table changelogs arrive here; they are done once the broker has them.
        self.unsent.add(fut)
        fut.add_done_callback(self.unsent.discard)
        super().send_soon(fut)


class SourcePartitionTransactions(TransactionManager):
    """Each record joins the transaction of the source partition that caused it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._admitted: set[Any] = set()
        self._open = asyncio.Event()
        self._open.set()

    async def admit(self, message: Any) -> None:
        """Let an agent start on `message`, unless a commit is being prepared."""
        if message not in self._admitted:
            await self._open.wait()
            self._admitted.add(message)

    @asynccontextmanager
    async def consistent_cut(self) -> AsyncIterator[None]:
        """Hold new events until every admitted one is acknowledged and its records sent."""
        self._open.clear()
        producer = cast(Producer, self.producer)
        try:
            # Faust flips Message.acked and resolves buffered sends with no single notification
            # to await, so poll; the wait is about one event long.
            while producer.unsent or any(not m.acked for m in self._admitted):  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            yield
        finally:
            self._admitted = {m for m in self._admitted if not m.acked}
            self._open.set()

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Any:
        event = current_event()
        if event is not None:
            await self.admit(event.message)  # for agents that do not iterate with events()
            source_topic, source_partition = event.message.tp.topic, event.message.tp.partition
            destination = self.consumer.key_partition(topic, key, partition)
        elif partition is not None and self._group_of(topic) is not None:
            # A table changelog record from Faust's buffer task: Faust addresses it to the
            # partition number of the event that changed the table, in the same topic group.
            source_topic, source_partition, destination = topic, partition, partition
        else:
            raise SendOutsideTransaction(
                f"send to {topic!r} outside an agent: under processing_guarantee='exactly_once' "
                "every output must belong to the transaction of the event that caused it; "
                "produce from outside the worker with streams.producer.EventProducer"
            )
        tid = f"{self.app.conf.id}-{self._group_of(source_topic)}-{source_partition}"
        return await self.producer.send(
            topic, key, value, destination, timestamp, headers, transactional_id=tid
        )

    def _group_of(self, topic: str) -> int | None:
        try:
            return int(self.app.assignor.group_for_topic(topic))
        except KeyError:
            return None


class Consumer(faust_aiokafka.Consumer):
    """Commits only at a consistent cut (see the module docstring)."""

    async def force_commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        if not self.app.in_transaction:
            return bool(await super().force_commit(topics, start_new_transaction))
        # Transport.TransactionManager below makes this our class.
        transactions = cast(SourcePartitionTransactions, self.transactions)
        async with transactions.consistent_cut():
            return bool(await super().force_commit(topics, start_new_transaction))


class Transport(faust_aiokafka.Transport):
    """aiokafka transport whose transactions follow the source partition."""

    Consumer = Consumer
    Producer = Producer
    TransactionManager = SourcePartitionTransactions
