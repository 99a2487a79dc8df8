"""Group commit: many concurrent callers, one produce request for every partition they write.

An HTTP endpoint that must answer only after Kafka stored a record (the webhook receiver) has
many requests waiting at once. Sending each through `AIOKafkaProducer.send` costs a future, a
partitioner call and an accumulator round per record, and Kafka sees many small batches. Here
callers append (key, value) to a queue and wait; a flusher takes everything queued, builds one
batch per partition, sends them together (acks=all, idempotent) on one of a few connections, and
wakes each caller with its batch's outcome. While every connection has a group in flight the
next group accumulates, so groups grow with the load and a caller waits about one broker round
trip. Records of one key may be stored out of the order they were sent in when two groups are in
flight at once; callers that need an order (webhooks do not: WAHA promises none) use
`pipelines=1`. One producer may write several topics: a group then carries the records of every
topic in one produce request, so a caller storing an event and its audit record, or a receiver
writing two lanes, pays for one round trip, not one per topic.

Records go to the partition the Java client's default partitioner (murmur2 of the key) picks,
as `AIOKafkaProducer.send` would, so keyed consumers see them where they expect them.

**Sizes and failures.** At start the producer asks the broker what each topic accepts
(`streams.runtime.kafka_limits`): its batches stay under the smallest, and `send` refuses at
once a record that could never be stored (`RecordTooLarge`, `max_record_bytes`). A group whose
delivery failed renews its connection's producer before the connection takes another group
(`streams.runtime.producer.IdempotentProducer`): a refused batch would otherwise leave its
partition's sequence broken and every later batch there refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner

from streams.base.errors import ProduceFailed, RecordTooLarge
from streams.runtime.kafka_limits import TopicLimits, describe_limits, record_bytes
from streams.runtime.producer import (
    MAX_REQUEST_BYTES,
    TOO_LARGE_ERRORS,
    IdempotentProducer,
    too_large_record,
)

log = structlog.get_logger(__name__)

_Pending = tuple[str, bytes, bytes, "asyncio.Future[None]", float]
#: How often waiting callers are checked against their deadlines.
_SWEEP_S = 0.1


class GroupCommitProducer:
    """Stores records on `topics` with acks=all; `send` returns once its record is stored."""

    def __init__(
        self,
        bootstrap: str,
        *topics: str,
        request_timeout_s: float = 30.0,
        max_group: int = 2000,
        compression: str | None = None,
        pipelines: int = 2,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        if not topics:
            raise ValueError("a group commit producer writes at least one topic")
        self._bootstrap = bootstrap
        self.topics = topics
        self._max_group = max_group
        self._options = {
            "linger_ms": 0,
            "request_timeout_ms": int(request_timeout_s * 1000),
            "compression_type": compression,
            "max_request_size": max_request_bytes,
        }
        self._pipeline_count = max(1, pipelines)
        self.max_request_bytes = max_request_bytes
        """The producer's max_request_size: no record larger than this is sent."""
        self._max_record_bytes = max_request_bytes  # until the topics' limits are read
        self.limits: dict[str, TopicLimits] = {}
        """What the broker accepts on each topic, read at start."""
        # aiokafka keeps one produce request in flight per connection; a few producers let a
        # group go out while earlier ones wait for their acknowledgement, so a slow round trip
        # (a busy broker) does not cap the rate at one group per round trip.
        self._pipelines: list[IdempotentProducer] = []
        self._idle: asyncio.Queue[IdempotentProducer] = asyncio.Queue()
        self._flushing: set[asyncio.Task[None]] = set()
        self._waiting: list[tuple[asyncio.Future[None], float]] = []
        self._sweeper: asyncio.Task[None] | None = None
        self._partitioner = DefaultPartitioner()
        self._partitions: dict[str, list[int]] = {}
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self.flushes = 0
        self.records = 0

    @property
    def max_record_bytes(self) -> int:
        """The largest record (`kafka_limits.record_bytes`) this producer can store on every
        topic: the smallest max.message.bytes of its topics or the producer's max_request_size."""
        return self._max_record_bytes

    @property
    def tightest(self) -> TopicLimits:
        """The limits of the topic that stores the smallest records (after start)."""
        return min(self.limits.values(), key=lambda limits: limits.max_batch_bytes)

    @property
    def renewals(self) -> int:
        """How many times a failed delivery replaced a connection's producer since start."""
        return sum(p.renewals for p in self._pipelines)

    async def __aenter__(self) -> GroupCommitProducer:
        self.limits = {t: await describe_limits(self._bootstrap, t) for t in self.topics}
        self._max_record_bytes = min(self.tightest.max_batch_bytes, self.max_request_bytes)
        # A batch over a topic's limit would be refused whole: keep every group's batches
        # under it (1 MiB at most: larger batches do not make the group commit faster).
        batch = min(1024 * 1024, self.max_record_bytes)
        self._pipelines = [
            IdempotentProducer(self._bootstrap, max_batch_size=batch, **self._options)
            for _ in range(self._pipeline_count)
        ]
        started: list[IdempotentProducer] = []
        try:
            for pipeline in self._pipelines:
                await pipeline.start()
                started.append(pipeline)
                self._idle.put_nowait(pipeline)
            for topic in self.topics:
                current = self._pipelines[0].current
                self._partitions[topic] = sorted(await current.partitions_for(topic))
        except (KafkaError, ProduceFailed) as exc:
            for pipeline in started:
                await pipeline.stop()
            if isinstance(exc, ProduceFailed):
                raise
            raise ProduceFailed(
                f"cannot produce to {', '.join(self.topics)} on {self._bootstrap} ({exc!r}); "
                "do they exist? `cobranca topics create` makes them"
            ) from exc
        self._flusher = asyncio.create_task(
            self._flush_forever(), name=f"group-commit {','.join(self.topics)}"
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
        for pipeline in self._pipelines:
            await pipeline.stop()

    async def send(
        self, key: bytes, value: bytes, timeout_s: float = 30.0, *, topic: str | None = None
    ) -> None:
        """Store one record on `topic` (which only a producer of one topic may leave out);
        raises ProduceFailed when Kafka did not acknowledge it, or not within `timeout_s`
        (checked every 0.1 s by one sweeper, not a timer per record), and RecordTooLarge at once
        for a record over `max_record_bytes`."""
        await self.submit(key, value, timeout_s, topic=topic)

    def submit(
        self, key: bytes, value: bytes, timeout_s: float = 30.0, *, topic: str | None = None
    ) -> asyncio.Future[None]:
        """`send` without its coroutine: the future resolves once the record is stored. Callers
        storing several records await their futures together, with no task per record."""
        if topic is None:
            if len(self.topics) > 1:
                raise ValueError(f"which topic? this producer writes {', '.join(self.topics)}")
            topic = self.topics[0]
        elif topic not in self.topics:
            raise ValueError(f"this producer writes {', '.join(self.topics)}, not {topic}")
        if len(value) + len(key) > self.max_record_bytes - 100:  # 100: overhead and varints
            size = record_bytes(key, value)
            if size > self.max_record_bytes:
                raise too_large_record(topic, size, self.max_record_bytes, self._setting())
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        deadline = loop.time() + timeout_s
        self._queue.append((topic, key, value, future, deadline))
        self._waiting.append((future, deadline))
        self._wakeup.set()
        return future

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
                pipeline = await self._idle.get()
                group, self._queue = self._queue[: self._max_group], self._queue[self._max_group :]
                task = asyncio.create_task(self._flush_on(pipeline, group))
                self._flushing.add(task)
                task.add_done_callback(self._flushing.discard)

    async def _flush_on(self, pipeline: IdempotentProducer, group: list[_Pending]) -> None:
        try:
            async with pipeline.lease() as producer:
                failed = await self._flush(producer, group)
            if failed:
                # Before this connection takes another group: a refused batch may have left a
                # partition's sequence broken on this producer (streams/runtime/producer.py).
                try:
                    await pipeline.renew(producer)
                except ProduceFailed as exc:
                    log.warning("group_commit_not_renewed", topics=self.topics, error=str(exc))
        finally:
            self._idle.put_nowait(pipeline)

    async def _flush(self, producer: AIOKafkaProducer, group: list[_Pending]) -> bool:
        """Send a group and wake its callers; True when any of it failed."""
        by_partition: dict[tuple[str, int], list[_Pending]] = {}
        for item in group:
            topic, key, _, waiter, _ = item
            if waiter.done():
                continue  # its caller gave up (timeout, 503): storing it now only duplicates
            partitions = self._partitions[topic]
            partition = self._partitioner(key, partitions, partitions)
            by_partition.setdefault((topic, partition), []).append(item)
        failed = False
        sent: list[tuple[list[_Pending], asyncio.Future[object]]] = []
        for (topic, partition), items in by_partition.items():
            start = 0
            while start < len(items):
                batch = producer.create_batch()
                end = start
                while end < len(items):
                    _, key, value, _, _ = items[end]
                    if batch.append(key=key, value=value, timestamp=None) is None:
                        break  # full: the rest goes in the next batch
                    end += 1
                if end == start:  # one record larger than a batch: let it fail alone
                    end = start + 1
                chunk = items[start:end]
                try:
                    future = await producer.send_batch(batch, topic, partition=partition)
                except KafkaError as exc:
                    self._fail(chunk, self._failure(exc, chunk))
                    failed = True
                else:
                    sent.append((chunk, future))
                start = end
        self.flushes += 1
        for chunk, future in sent:
            try:
                await future
            except KafkaError as exc:
                self._fail(chunk, self._failure(exc, chunk))
                failed = True
                continue
            self.records += len(chunk)
            for _, _, _, waiter, _ in chunk:
                if not waiter.done():
                    waiter.set_result(None)
        return failed

    def _setting(self) -> str:
        if self.limits and self.tightest.max_batch_bytes < self.max_request_bytes:
            return self.tightest.setting()
        return "the producer's max_request_size"

    def _failure(self, exc: KafkaError, chunk: list[_Pending]) -> ProduceFailed:
        topic = chunk[0][0]
        log.warning("group_commit_failed", topic=topic, records=len(chunk), error=repr(exc))
        if isinstance(exc, TOO_LARGE_ERRORS):
            if len(chunk) == 1:
                _, key, value, _, _ = chunk[0]
                return RecordTooLarge(
                    f"Kafka at {self._bootstrap} refused a record of "
                    f"{record_bytes(key, value):,} bytes for {topic} as too large "
                    f"({exc!r}); the topic's max.message.bytes is below what it was at start",
                    topic=topic,
                    size=record_bytes(key, value),
                    limit=None,
                )
            # Several small records refused together: the topic's limit went down under this
            # producer's batches. Each record may fit alone; restarting reads the new limit.
            log.error(
                "group_commit_batch_over_topic_limit",
                topic=topic,
                hint="the topic's max.message.bytes was lowered; restart to read it again",
            )
        return ProduceFailed(f"Kafka at {self._bootstrap} did not store the records: {exc!r}")

    @staticmethod
    def _fail(items: list[_Pending], error: Exception) -> None:
        for _, _, _, waiter, _ in items:
            if not waiter.done():
                waiter.set_exception(error)
