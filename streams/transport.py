"""Faust's Kafka transport with outputs tied to the transaction of the record that caused them.

Faust's exactly-once mode keeps one transactional producer per source partition and commits
each source partition's offsets in that producer's transaction. But its stock transaction
manager picks the producer from the *destination* partition, and falls back to a plain,
non-transactional producer when the destination topic is not one the worker consumes. So an
agent that re-keys (ClientImported keyed by client → SendRequested keyed by tenant) would write
its output in a transaction other than the one that commits its input, or in none: a crash
between the two commits loses or duplicates output.

Here every record an agent sends goes through the producer of the partition the current event
came from, so "input consumed" and "output written" commit or abort together, whatever the
output's key and partition: Kafka Streams' task model. The destination partition is still
computed from the key.

Faust also commits on a timer, concurrently with the agents: a transaction could commit the
output of an event whose offset is not acknowledged yet, and a crash right after would process
that event again. So a commit first closes a gate for events that have not sent anything yet,
waits until every event that did send has been acknowledged, and only then takes the offsets
and commits. Events are acknowledged as soon as the agent asks for the next one, so the wait
is one event long.

The transport is registered under the URL scheme ``cobranca://`` through the
``faust.transports`` entry point in pyproject.toml.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from faust.streams import current_event
from faust.transport.consumer import TransactionManager
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.errors import CobrancaError


class SendOutsideTransaction(CobrancaError):
    """A record was sent under exactly-once outside of an agent processing an event."""


class SourcePartitionTransactions(TransactionManager):
    """Route each send through the transactional producer of the current event's partition."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Messages whose outputs sit in an open transaction, by transactional id.
        self._senders: dict[str, set[Any]] = defaultdict(set)
        self._gate = asyncio.Event()
        self._gate.set()

    @asynccontextmanager
    async def quiescent(self) -> AsyncIterator[None]:
        """Hold new events' sends until every event with outputs in flight is acknowledged."""
        self._gate.clear()
        try:
            # Faust flips Message.acked with no notification to await, so poll; the wait is
            # one event long.
            while any(not m.acked for senders in self._senders.values() for m in senders):  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            yield
        finally:
            for senders in self._senders.values():
                senders.difference_update([m for m in senders if m.acked])
            self._gate.set()

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
        if event is None:
            raise SendOutsideTransaction(
                f"send to {topic!r} outside an agent: under processing_guarantee='exactly_once' "
                "every output must belong to the transaction of the event that caused it; "
                "produce from outside the worker with a producer of your own"
            )
        message = event.message
        source = message.tp
        group = self.app.assignor.group_for_topic(source.topic)
        tid = f"{self.app.conf.id}-{group}-{source.partition}"
        senders = self._senders[tid]
        if message not in senders:
            await self._gate.wait()
            senders.add(message)
        destination = self.consumer.key_partition(topic, key, partition)
        return await self.producer.send(
            topic, key, value, destination, timestamp, headers, transactional_id=tid
        )


class Consumer(faust_aiokafka.Consumer):
    """Commits only at a point where every output in the transaction has its offset acked."""

    async def force_commit(self, topics: Any = None, start_new_transaction: bool = True) -> bool:
        if not self.app.in_transaction:
            return bool(await super().force_commit(topics, start_new_transaction))
        # Transport.TransactionManager below makes this our class.
        transactions = cast(SourcePartitionTransactions, self.transactions)
        async with transactions.quiescent():
            return bool(await super().force_commit(topics, start_new_transaction))


class Transport(faust_aiokafka.Transport):
    """aiokafka transport whose transactions follow the source partition."""

    Consumer = Consumer
    TransactionManager = SourcePartitionTransactions
