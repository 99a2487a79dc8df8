"""Producing events from outside the worker (CLI, imports, tests): acks=all, idempotent.

Agents never use this: inside the worker every output goes through the transaction of the
event that caused it (streams/runtime/transport.py).

**A refused batch must not poison the producer.** aiokafka numbers each partition's batches
(the idempotent producer's sequence) when it sends them, and does not take a number back when
the broker refuses a batch for good (MESSAGE_TOO_LARGE, an invalid record): the broker still
expects the refused number, so every later batch of that producer to that partition is refused
as OutOfOrderSequenceNumber, until the process restarts (issue 18: a receiver failing ~9% of
valid webhooks after one oversized one). `IdempotentProducer` owns the aiokafka producer and,
after a failed delivery, puts a new one (a new producer id, its sequences from 0) in its place;
both `EventProducer` and `streams.runtime.group_commit.GroupCommitProducer` are built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterable
from functools import cache
from types import TracebackType
from typing import Any, Final

import numpy as np
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)

from schemas.codec import encode
from schemas.events import Event
from streams.base.errors import ProduceFailed, RecordTooLarge
from streams.base.topics import topic_for_event
from streams.runtime.kafka_limits import RECORD_OVERHEAD, record_bytes
from streams.runtime.partitioning import partitions_for

log = structlog.get_logger(__name__)

#: Largest record batch the producer builds: big batches are what makes a bulk load fast (one
#: CRC, one request, one append on the broker per batch), and 512 KiB stays under the broker's
#: default message.max.bytes (1 MiB) with room to spare.
MAX_BATCH_BYTES: Final = 512 * 1024
#: aiokafka's default max_request_size: the largest record these producers send (a record is
#: refused before it is sent, `RecordTooLarge`, rather than by the broker).
MAX_REQUEST_BYTES: Final = 1_048_576


@cache
def _topic_of(event_type: str) -> str:
    return topic_for_event(event_type).name


#: Broker refusals meaning a batch is too large for the topic (MESSAGE_TOO_LARGE) or a request
#: too large for the broker (RECORD_LIST_TOO_LARGE).
TOO_LARGE_ERRORS: Final = (MessageSizeTooLargeError, RecordListTooLargeError)


def too_large_record(topic: str, size: int, limit: int, setting: str) -> RecordTooLarge:
    """The error for one record over `limit` bytes, naming the setting that bounds it."""
    return RecordTooLarge(
        f"a record of {size:,} bytes for {topic} is larger than the {limit:,} bytes "
        f"{setting} allows; it was not sent",
        topic=topic,
        size=size,
        limit=limit,
    )


class IdempotentProducer:
    """An acks=all, idempotent `AIOKafkaProducer` that a refused batch does not poison.

    Users take the producer with `lease()`; one whose delivery failed calls `renew(producer)`: a
    new producer takes the place of the failed one (once, however many users saw it fail), and
    the failed one is stopped when its last lease ends, so batches still in flight on it finish.
    """

    def __init__(self, bootstrap: str, **options: Any) -> None:
        self.bootstrap = bootstrap
        self._options = {"acks": "all", "enable_idempotence": True, **options}
        self._current = self._new()
        self._leases: dict[AIOKafkaProducer, int] = {}
        self._retired: set[AIOKafkaProducer] = set()
        self._stopping: set[asyncio.Task[None]] = set()
        self._renewing = asyncio.Lock()
        self.renewals = 0
        """How many times a failed producer was replaced since start."""

    def _new(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(bootstrap_servers=self.bootstrap, **self._options)

    @property
    def current(self) -> AIOKafkaProducer:
        """The producer new batches go to."""
        return self._current

    async def start(self) -> None:
        """Connect; raises ProduceFailed when no broker answers (the producer is then stopped)."""
        try:
            await self._current.start()
        except KafkaError as exc:
            await self._current.stop()
            raise _unreachable(self.bootstrap, exc) from exc

    async def stop(self) -> None:
        """Stop the current producer and any failed one still finishing."""
        for producer in list(self._retired):
            self._stop_later(producer)
        if self._stopping:
            await asyncio.wait(self._stopping)
        await self._current.stop()

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[AIOKafkaProducer]:
        """The current producer, kept running until the lease ends even if it is renewed."""
        producer = self._current
        self._leases[producer] = self._leases.get(producer, 0) + 1
        try:
            yield producer
        finally:
            left = self._leases[producer] - 1
            if left:
                self._leases[producer] = left
            else:
                del self._leases[producer]
                if producer in self._retired:
                    self._stop_later(producer)

    async def renew(self, failed: AIOKafkaProducer) -> bool:
        """Replace `failed` by a new producer unless that was done already; True when this call
        replaced it. Raises ProduceFailed when the new one cannot connect (`failed` then stays:
        its next failure renews again)."""
        async with self._renewing:
            if failed is not self._current:
                return False
            fresh = self._new()
            try:
                await fresh.start()
            except KafkaError as exc:
                await fresh.stop()
                raise _unreachable(self.bootstrap, exc) from exc
            self._current = fresh
            self.renewals += 1
        if failed in self._leases:
            self._retired.add(failed)
        else:
            self._stop_later(failed)
        log.info("kafka_producer_renewed", bootstrap=self.bootstrap, renewals=self.renewals)
        return True

    def _stop_later(self, producer: AIOKafkaProducer) -> None:
        self._retired.discard(producer)
        task = asyncio.create_task(producer.stop(), name="stop a renewed producer")
        self._stopping.add(task)
        task.add_done_callback(self._stopping.discard)


def _unreachable(bootstrap: str, exc: KafkaError) -> ProduceFailed:
    if isinstance(exc, KafkaConnectionError):
        return ProduceFailed(
            f"no Kafka broker answers at {bootstrap}; start the local one with "
            "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
        )
    return ProduceFailed(f"cannot start a Kafka producer on {bootstrap}: {exc!r}")


class EventProducer:
    """Send events to the topic the catalogue assigns to their type.

    A record larger than `max_request_bytes` is refused before anything is sent
    (`RecordTooLarge`); after a failed delivery the producer is renewed (`IdempotentProducer`),
    so the failure is reported once and later sends are not refused for it.
    """

    def __init__(
        self,
        bootstrap: str,
        *,
        linger_ms: int = 5,
        max_batch_bytes: int = MAX_BATCH_BYTES,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self._bootstrap = bootstrap
        self._max_record_bytes = max_request_bytes
        self._producer = IdempotentProducer(
            bootstrap,
            linger_ms=linger_ms,
            compression_type=None,
            max_batch_size=max_batch_bytes,
            max_request_size=max_request_bytes,
        )

    @property
    def renewals(self) -> int:
        """How many times a failed delivery replaced the underlying producer."""
        return self._producer.renewals

    async def __aenter__(self) -> EventProducer:
        await self._producer.start()
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
        await self._store([(topic, keys, values) for topic, (keys, values) in by_topic.items()])
        return len(records)

    async def send_keyed(self, topic: str, keys: list[bytes], values: list[bytes]) -> int:
        """Send encoded records to one topic, `values[i]` under `keys[i]`; return once every
        one is acknowledged (a bulk load's path: no tuple per record)."""
        await self._store([(topic, keys, values)])
        return len(keys)

    async def _store(self, sends: list[tuple[str, list[bytes], list[bytes]]]) -> None:
        """Hand every record to the producer and wait for every acknowledgement; on a failure,
        renew the producer and raise ProduceFailed (RecordTooLarge for a refused size)."""
        for topic, keys, values in sends:
            self._check_sizes(topic, keys, values)
        failure: KafkaError
        async with self._producer.lease() as producer:
            try:
                futures: list[asyncio.Future[Any]] = []
                for topic, keys, values in sends:
                    futures += await self._enqueue(producer, topic, keys, values)
                for future in futures:
                    await future
                return
            except KafkaError as exc:
                failure = exc
        # Outside the lease: the failed producer stops once no other send still uses it.
        try:
            await self._producer.renew(producer)
        except ProduceFailed as exc:
            log.warning("kafka_producer_not_renewed", error=str(exc))
        topics = ", ".join(topic for topic, _, _ in sends)
        if isinstance(failure, TOO_LARGE_ERRORS):
            raise RecordTooLarge(
                f"Kafka at {self._bootstrap} refused a record batch for {topics} as too large "
                f"({failure!r}): a record is over the topic's max.message.bytes",
                topic=topics,
                size=None,
                limit=None,
            ) from failure
        raise ProduceFailed(
            f"Kafka at {self._bootstrap} did not store the batch: {failure!r}"
        ) from failure

    def _check_sizes(self, topic: str, keys: list[bytes], values: list[bytes]) -> None:
        if not values:
            return
        limit = self._max_record_bytes
        # Two C-speed passes rule out the common case; 10 bytes cover the length varints.
        if max(map(len, values)) + max(map(len, keys)) + RECORD_OVERHEAD + 10 <= limit:
            return
        for key, value in zip(keys, values, strict=True):
            size = record_bytes(key, value)
            if size > limit:
                raise too_large_record(
                    topic, size, limit, "the producer's max_request_size (max_request_bytes)"
                )

    @staticmethod
    async def _enqueue(
        producer: AIOKafkaProducer, topic: str, keys: list[bytes], values: list[bytes]
    ) -> list[asyncio.Future[Any]]:
        """Append the records to one record batch per partition, chosen from the key as the
        Java client's partitioner would (so a key lands on the same partition whoever produced
        it), and hand the batches to the producer; the futures of their acknowledgements."""
        futures: list[asyncio.Future[Any]] = []
        if not keys:
            return futures
        ids = sorted(await producer.partitions_for(topic))
        chosen = partitions_for(keys, ids)
        order = np.argsort(chosen, kind="stable").tolist()  # each key's records in order
        bounds = np.flatnonzero(np.diff(chosen[order], prepend=-1, append=-1)).tolist()
        for start, end in itertools.pairwise(bounds):
            partition = int(chosen[order[start]])
            builder = producer.create_batch()
            for i in order[start:end]:
                # A batch takes its first record whatever its size (sizes are checked above).
                if builder.append(key=keys[i], value=values[i], timestamp=None) is None:
                    futures.append(await producer.send_batch(builder, topic, partition=partition))
                    builder = producer.create_batch()
                    builder.append(key=keys[i], value=values[i], timestamp=None)
            if builder.record_count():
                futures.append(await producer.send_batch(builder, topic, partition=partition))
        return futures
