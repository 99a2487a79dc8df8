"""Read a topic from its beginning to its end as of now: how auditors, the CLI and tests see
the log. With read_committed, the end is the last stable offset, so what is read is exactly
what committed transactions wrote. `PositionReader` reads single records where analytics
says they are."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from schemas.codec import decode
from schemas.events import EVENT_TYPES, Event
from streams.runtime.errors import LogReadError

Progress = Callable[[int, int], None]
"""`on_progress(read, total)`: offsets read so far of the `total` between the partitions'
beginnings and their ends as of the start (a long read from offset 0 shows how far it is)."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True, slots=True)
class Positioned:
    """A decoded event and where the log holds it."""

    topic: str
    partition: int
    offset: int
    event: Event


async def read_events(
    bootstrap: str, topic: str, *, on_progress: Progress | None = None
) -> list[Positioned]:
    """Every committed event of `topic`, typed, partition by partition in offset order."""
    return [
        Positioned(r.topic, r.partition, r.offset, event_from(r.value))
        for r in await read_topic(bootstrap, topic, on_progress=on_progress)
        if r.value is not None
    ]


def event_from(value: bytes) -> Event:
    """A record's value as its typed event."""
    data = decode(value)
    return EVENT_TYPES[data["header"]["event_type"]].from_data(data)


async def partitions_of(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    """The topic's partition numbers, or [] if it does not exist."""
    partitions = consumer.partitions_for_topic(topic)
    if partitions is None:
        # A consumer with no subscription has no metadata yet; ask the broker once.
        await consumer._client.force_metadata_update()
        partitions = consumer.partitions_for_topic(topic)
    return sorted(partitions or ())


async def read_topic(
    bootstrap: str,
    topic: str,
    *,
    isolation_level: str = "read_committed",
    on_progress: Progress | None = None,
) -> list[LogRecord]:
    """Every record of `topic`, partition by partition in offset order, up to the current end."""
    async with _consumer(bootstrap, isolation_level) as consumer:
        partitions = await partitions_of(consumer, topic)
        if not partitions:
            raise LogReadError(f"topic {topic!r} does not exist on {bootstrap}")
        tps = [TopicPartition(topic, p) for p in partitions]
        return await _read_to_end(consumer, tps, on_progress)


async def read_partitions(bootstrap: str, partitions: Sequence[tuple[str, int]]) -> list[LogRecord]:
    """Every committed record of the given (topic, partition)s, up to their current end, in
    offset order within each partition."""
    async with _consumer(bootstrap, "read_committed") as consumer:
        return await _read_to_end(consumer, [TopicPartition(t, p) for t, p in partitions])


@asynccontextmanager
async def _consumer(bootstrap: str, isolation_level: str) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        isolation_level=isolation_level,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        await consumer.start()
    except KafkaConnectionError as exc:
        await consumer.stop()
        raise LogReadError(
            f"no Kafka broker answers at {bootstrap}; start the local one with "
            "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        yield consumer
    finally:
        await consumer.stop()


async def _read_to_end(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], on_progress: Progress | None = None
) -> list[LogRecord]:
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    # Under read_committed the end is the last stable offset: what committed transactions wrote.
    ends = await consumer.end_offsets(tps)
    begins = await consumer.beginning_offsets(tps) if on_progress else {}
    total = sum(ends[tp] - begins[tp] for tp in begins)
    records: list[LogRecord] = []
    pending = {tp for tp in tps if ends[tp] > 0}
    while pending:
        # Positions, not records counted: transaction markers take offsets and carry no record.
        positions = {tp: await consumer.position(tp) for tp in pending}
        pending = {tp for tp in pending if positions[tp] < ends[tp]}
        if on_progress:
            left = sum(ends[tp] - max(positions[tp], begins[tp]) for tp in pending)
            on_progress(total - left, total)
        if not pending:
            break
        batch = await consumer.getmany(*pending, timeout_ms=1000)
        for tp, messages in batch.items():
            records.extend(
                LogRecord(m.topic, m.partition, m.offset, m.key, m.value)
                for m in messages
                if m.offset < ends[tp]
            )
    records.sort(key=lambda r: (r.topic, r.partition, r.offset))
    return records


async def follow_topic(
    bootstrap: str, topic: str, *, from_beginning: bool = False, poll_ms: int = 500
) -> AsyncGenerator[LogRecord, None]:
    """The committed records of `topic` as they come, from its end as of now (or from each
    partition's beginning), until the caller stops iterating. Records of one partition come in
    offset order; partitions interleave as the broker hands them out."""
    async with _consumer(bootstrap, "read_committed") as consumer:
        partitions = await partitions_of(consumer, topic)
        if not partitions:
            raise LogReadError(f"topic {topic!r} does not exist on {bootstrap}")
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        if from_beginning:
            await consumer.seek_to_beginning(*tps)
        else:
            await consumer.seek_to_end(*tps)
        while True:
            batch = await consumer.getmany(*tps, timeout_ms=poll_ms)
            for tp in sorted(batch, key=lambda tp: tp.partition):
                for m in batch[tp]:
                    yield LogRecord(m.topic, m.partition, m.offset, m.key, m.value)


Position = tuple[str, int, int]
"""(topic, partition, offset): where the log holds one record."""


class PositionReader:
    """Reads records at known positions (an analytics row names its record's position) with one
    consumer kept open, for callers that need what analytics leaves out (names, texts) of a few
    records at a time. Reads are serialized: one consumer, one caller at a time.
    """

    def __init__(self, bootstrap: str, *, timeout_s: float = 5.0, gap: int = 500) -> None:
        self._bootstrap = bootstrap
        self._timeout_s = timeout_s
        self._gap = gap
        """Offsets read through rather than sought over when the next wanted one is that close."""
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=256 * 1024,
            # The wanted records exist: a fetch that waits for more data only delays the answer
            # (the default 500 ms long poll held a page on the fetch made before the seek).
            fetch_max_wait_ms=10,
        )
        try:
            await consumer.start()
        except KafkaConnectionError as exc:
            await consumer.stop()
            raise LogReadError(f"no Kafka broker answers at {self._bootstrap}") from exc
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def read(self, positions: Iterable[Position]) -> dict[Position, Event]:
        """The events at `positions` (duplicates read once). `LogReadError` when the log does not
        hand them out within the timeout (a position past a partition's end never comes)."""
        wanted: dict[TopicPartition, set[int]] = {}
        for topic, partition, offset in positions:
            wanted.setdefault(TopicPartition(topic, partition), set()).add(offset)
        if not wanted:
            return {}
        if self._consumer is None:
            await self.start()
        consumer = self._consumer
        assert consumer is not None
        found: dict[Position, Event] = {}
        async with self._lock:
            consumer.assign(list(wanted))
            deadline = asyncio.get_running_loop().time() + self._timeout_s
            for tp, offsets in wanted.items():
                await self._read_partition(consumer, tp, offsets, found, deadline)
        return found

    async def _read_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        offsets: set[int],
        found: dict[Position, Event],
        deadline: float,
    ) -> None:
        pending = sorted(offsets)
        loop = asyncio.get_running_loop()
        while pending:
            consumer.seek(tp, pending[0])
            while pending:
                left_ms = int((deadline - loop.time()) * 1000)
                if left_ms <= 0:
                    raise LogReadError(
                        f"{tp.topic}[{tp.partition}]@{pending[0]} was not read within "
                        f"{self._timeout_s:.0f} s"
                    )
                batch = await consumer.getmany(tp, timeout_ms=min(left_ms, 1000))
                for message in batch.get(tp, []):
                    if message.offset in offsets and message.value is not None:
                        found[(tp.topic, tp.partition, message.offset)] = event_from(message.value)
                # Transaction markers and aborted records take offsets and never come: what
                # the position passed is done, read or not.
                position = await consumer.position(tp)
                pending = [o for o in pending if o >= position]
                if pending and pending[0] - position > self._gap:
                    break  # seek to the next one instead of reading up to it
