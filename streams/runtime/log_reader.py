"""Read a topic from its beginning to its end as of now: how auditors, the CLI and tests see
the log. With read_committed, the end is the last stable offset, so what is read is exactly
what committed transactions wrote."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
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


async def read_record(
    bootstrap: str, topic: str, partition: int, offset: int, *, timeout_s: float = 10.0
) -> LogRecord | None:
    """The committed record at `topic[partition]@offset`; None when the log no longer (or
    not yet) holds it."""
    async with _consumer(bootstrap, "read_committed") as consumer:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        begins = await consumer.beginning_offsets([tp])
        ends = await consumer.end_offsets([tp])
        if not begins[tp] <= offset < ends[tp]:
            return None
        consumer.seek(tp, offset)
        async with asyncio.timeout(timeout_s):
            while await consumer.position(tp) <= offset:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for m in batch.get(tp, []):
                    if m.offset == offset:
                        return LogRecord(m.topic, m.partition, m.offset, m.key, m.value)
                    if m.offset > offset:
                        return None
        return None


async def read_offsets(
    bootstrap: str, topic: str, partition: int, offsets: Sequence[int], *, timeout_s: float = 20.0
) -> dict[int, LogRecord]:
    """The committed records at `offsets` of `topic[partition]`, read in one pass from the
    lowest to the highest (one consumer, not one per record); offsets the log no longer (or not
    yet) holds are missing from the answer."""
    wanted = set(offsets)
    found: dict[int, LogRecord] = {}
    if not wanted:
        return found
    async with _consumer(bootstrap, "read_committed") as consumer:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        begins = await consumer.beginning_offsets([tp])
        ends = await consumer.end_offsets([tp])
        wanted = {o for o in wanted if begins[tp] <= o < ends[tp]}
        if not wanted:
            return found
        last = max(wanted)
        consumer.seek(tp, min(wanted))
        async with asyncio.timeout(timeout_s):
            while await consumer.position(tp) <= last:
                batch = await consumer.getmany(tp, timeout_ms=500)
                for m in batch.get(tp, []):
                    if m.offset in wanted:
                        found[m.offset] = LogRecord(m.topic, m.partition, m.offset, m.key, m.value)
    return found


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
