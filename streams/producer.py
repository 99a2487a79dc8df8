"""Producing events from outside the worker (CLI, imports, tests): acks=all, idempotent.

Agents never use this: inside the worker every output goes through the transaction of the
event that caused it (streams/transport.py).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from functools import cache
from types import TracebackType
from typing import Any, Final

import numpy as np
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError

from schemas.codec import encode
from schemas.events import Event
from streams.errors import CobrancaError
from streams.partitioning import partitions_for
from streams.topics import topic_for_event

#: Largest record batch the producer builds: big batches are what makes a bulk load fast (one
#: CRC, one request, one append on the broker per batch), and 512 KiB stays under the broker's
#: default message.max.bytes (1 MiB) with room to spare.
MAX_BATCH_BYTES: Final = 512 * 1024


@cache
def _topic_of(event_type: str) -> str:
    return topic_for_event(event_type).name


class ProduceFailed(CobrancaError):
    """Kafka did not acknowledge an event; the caller must not report it as stored."""


class EventProducer:
    """Send events to the topic the catalogue assigns to their type."""

    def __init__(
        self, bootstrap: str, *, linger_ms: int = 5, max_batch_bytes: int = MAX_BATCH_BYTES
    ) -> None:
        self._bootstrap = bootstrap
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            compression_type=None,
            max_batch_size=max_batch_bytes,
        )

    async def __aenter__(self) -> EventProducer:
        try:
            await self._producer.start()
        except KafkaConnectionError as exc:
            await self._producer.stop()
            raise ProduceFailed(
                f"no Kafka broker answers at {self._bootstrap}; start the local one with "
                "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
            ) from exc
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._producer.stop()

    async def send(self, event: Event, key: str) -> None:
        """Send one event and wait until every in-sync replica has it."""
        await self.send_many([(event, key)])

    async def send_many(self, events: Iterable[tuple[Event, str]]) -> int:
        """Send a batch and wait for all acknowledgements; returns how many were stored.

        Events are encoded and appended to one record batch per partition (aiokafka's batch
        API: no coroutine and future per event), each partition chosen from the key exactly as
        a keyed `send` would; every batch is acknowledged by all in-sync replicas on return.
        """
        records = [
            (_topic_of(event.header.event_type), key.encode(), encode(event.to_representation()))
            for event, key in events
        ]
        return await self.send_encoded(records)

    async def send_encoded(self, records: list[tuple[str, bytes, bytes]]) -> int:
        """Send already encoded (topic, key, value) records; see `send_many`."""
        by_topic: dict[str, tuple[list[bytes], list[bytes]]] = {}
        for topic, key, value in records:
            keys, values = by_topic.setdefault(topic, ([], []))
            keys.append(key)
            values.append(value)
        futures = []
        for topic, (keys, values) in by_topic.items():
            futures += await self._enqueue(topic, keys, values)
        await self._acknowledged(futures)
        return len(records)

    async def send_keyed(self, topic: str, keys: list[bytes], values: list[bytes]) -> int:
        """Send encoded records to one topic, `values[i]` under `keys[i]`; return once every
        one is acknowledged (a bulk load's path: no tuple per record)."""
        await self._acknowledged(await self._enqueue(topic, keys, values))
        return len(keys)

    async def _enqueue(
        self, topic: str, keys: list[bytes], values: list[bytes]
    ) -> list[asyncio.Future[Any]]:
        """Append the records to one record batch per partition, chosen from the key as the
        Java client's partitioner would (so a key lands on the same partition whoever produced
        it), and hand the batches to the producer; the futures of their acknowledgements."""
        producer = self._producer
        futures: list[asyncio.Future[Any]] = []
        if not keys:
            return futures
        try:
            ids = sorted(await producer.partitions_for(topic))
            chosen = partitions_for(keys, ids)
            order = np.argsort(chosen, kind="stable").tolist()  # each key's records in order
            bounds = np.flatnonzero(np.diff(chosen[order], prepend=-1, append=-1)).tolist()
            for start, end in itertools.pairwise(bounds):
                partition = int(chosen[order[start]])
                builder = producer.create_batch()
                for i in order[start:end]:
                    if builder.append(key=keys[i], value=values[i], timestamp=None) is None:
                        futures.append(
                            await producer.send_batch(builder, topic, partition=partition)
                        )
                        builder = producer.create_batch()
                        if builder.append(key=keys[i], value=values[i], timestamp=None) is None:
                            raise ProduceFailed(
                                f"a record of {len(values[i]):,} bytes for {topic} does not fit "
                                "in a record batch; it is larger than the producer's "
                                "max_batch_bytes"
                            )
                if builder.record_count():
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
        except KafkaError as exc:
            raise ProduceFailed(
                f"Kafka at {self._bootstrap} did not store the batch: {exc!r}"
            ) from exc
        return futures

    async def _acknowledged(self, futures: list[asyncio.Future[Any]]) -> None:
        try:
            for future in futures:
                await future
        except KafkaError as exc:
            raise ProduceFailed(
                f"Kafka at {self._bootstrap} did not store the batch: {exc!r}"
            ) from exc
