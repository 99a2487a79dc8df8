"""Group commit onto one topic: many concurrent callers, one produce request per partition.

An HTTP endpoint that must answer only after Kafka stored a record (the webhook receiver) has
many requests waiting at once. Sending each through `AIOKafkaProducer.send` costs a future, a
partitioner call and an accumulator round per record, and Kafka sees many small batches. Here
callers append (key, value) to a queue and wait; a flusher takes everything queued, builds one
batch per partition, sends them together (acks=all, idempotent) on one of a few connections, and
wakes each caller with its batch's outcome. While every connection has a group in flight the
next group accumulates, so groups grow with the load and a caller waits about one broker round
trip. Records of one key may be stored out of the order they were sent in when two groups are in
flight at once; callers that need an order (webhooks do not: WAHA promises none) use
`pipelines=1`.

Records go to the partition the Java client's default partitioner (murmur2 of the key) picks,
as `AIOKafkaProducer.send` would, so keyed consumers see them where they expect them.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.partitioner import DefaultPartitioner

from streams.producer import ProduceFailed

log = structlog.get_logger(__name__)

_Pending = tuple[bytes, bytes, "asyncio.Future[None]", float]
#: How often waiting callers are checked against their deadlines.
_SWEEP_S = 0.1


class GroupCommitProducer:
    """Stores records on `topic` with acks=all; `send` returns once its record is stored."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        request_timeout_s: float = 30.0,
        max_group: int = 2000,
        compression: str | None = None,
        pipelines: int = 2,
    ) -> None:
        self._bootstrap = bootstrap
        self.topic = topic
        self._max_group = max_group
        # aiokafka keeps one produce request in flight per connection; a few producers let a
        # group go out while earlier ones wait for their acknowledgement, so a slow round trip
        # (a busy broker) does not cap the rate at one group per round trip.
        self._producers = [
            AIOKafkaProducer(
                bootstrap_servers=bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=0,
                request_timeout_ms=int(request_timeout_s * 1000),
                max_batch_size=1024 * 1024,
                compression_type=compression,
            )
            for _ in range(max(1, pipelines))
        ]
        self._idle: asyncio.Queue[AIOKafkaProducer] = asyncio.Queue()
        self._flushing: set[asyncio.Task[None]] = set()
        self._waiting: list[tuple[asyncio.Future[None], float]] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._partitioner = DefaultPartitioner()
        self._partitions: list[int] = []
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0
        self.records = 0

    async def __aenter__(self) -> GroupCommitProducer:
        try:
            for producer in self._producers:
                await producer.start()
                self._idle.put_nowait(producer)
            self._partitions = sorted(await self._producers[0].partitions_for(self.topic))
        except KafkaConnectionError as exc:
            for producer in self._producers:
                await producer.stop()
            raise ProduceFailed(
                f"no Kafka broker answers at {self._bootstrap}; start the local one with "
                "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
            ) from exc
        self._flusher = asyncio.create_task(
            self._flush_forever(), name=f"group-commit {self.topic}"
        )
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="group-commit deadlines")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in (self._flusher, self._sweeper):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._flushing:
            await asyncio.wait(self._flushing, timeout=10)
        self._fail(self._queue, ProduceFailed("the producer stopped before storing the record"))
        self._queue = []
        for producer in self._producers:
            await producer.stop()

    async def send(self, key: bytes, value: bytes, timeout_s: float = 30.0) -> None:
        """Store one record; raises ProduceFailed when Kafka did not acknowledge it, or not
        within `timeout_s` (checked every 0.1 s by one sweeper, not a timer per record)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._queue.append((key, value, future, loop.time() + timeout_s))
        self._waiting.append((future, loop.time() + timeout_s))
        self._wakeup.set()
        await future

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(_SWEEP_S)
            now = loop.time()
            waiting = []
            for future, deadline in self._waiting:
                if future.done():
                    continue
                if deadline <= now:
                    future.set_exception(
                        ProduceFailed(f"Kafka at {self._bootstrap} did not acknowledge in time")
                    )
                else:
                    waiting.append((future, deadline))
            self._waiting = waiting

    async def _flush_forever(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                # Wait for a free connection first: what queues meanwhile joins this group.
                producer = await self._idle.get()
                group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
                task = asyncio.create_task(self._flush_on(producer, group))
                self._flushing.add(task)
                task.add_done_callback(self._flushing.discard)

    async def _flush_on(self, producer: AIOKafkaProducer, group: list[_Pending]) -> None:
        try:
            await self._flush(producer, group)
        finally:
            self._idle.put_nowait(producer)

    async def _flush(self, producer: AIOKafkaProducer, group: list[_Pending]) -> None:
        by_partition: dict[int, list[_Pending]] = {}
        for item in group:
            if item[2].done():
                continue  # its caller gave up (timeout, 503): storing it now only duplicates
            partition = self._partitioner(item[0], self._partitions, self._partitions)
            by_partition.setdefault(partition, []).append(item)
        sent: list[tuple[list[_Pending], asyncio.Future[object]]] = []
        for partition, items in by_partition.items():
            start = 0
            while start < len(items):
                batch = producer.create_batch()
                end = start
                while end < len(items):
                    key, value, _, _ = items[end]
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        break  # full: the rest goes in the next batch
                    end += 1
                if end == start:  # one record larger than a batch: let it fail alone
                    end = start + 1
                chunk = items[start:end]
                try:
                    future = await producer.send_batch(batch, self.topic, partition=partition)
                except KafkaError as exc:
                    self._fail(chunk, self._failure(exc))
                else:
                    sent.append((chunk, future))
                start = end
        self.flushes += 1
        for chunk, future in sent:
            try:
                await future
            except KafkaError as exc:
                self._fail(chunk, self._failure(exc))
                continue
            self.records += len(chunk)
            for _, _, waiter, _ in chunk:
                if not waiter.done():
                    waiter.set_result(None)

    def _failure(self, exc: KafkaError) -> ProduceFailed:
        log.warning("group_commit_failed", topic=self.topic, error=repr(exc))
        return ProduceFailed(f"Kafka at {self._bootstrap} did not store the records: {exc!r}")

    @staticmethod
    def _fail(items: list[_Pending], error: Exception) -> None:
        for _, _, waiter, _ in items:
            if not waiter.done():
                waiter.set_exception(error)
