"""Read a topic from its beginning to its end as of now: how auditors, the CLI and tests see
the log. With read_committed, the end is the last stable offset, so what is read is exactly
what committed transactions wrote."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError

from streams.errors import CobrancaError


class LogReadError(CobrancaError):
    """A topic could not be read to its end."""


@dataclass(frozen=True, slots=True)
class LogRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


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
    partitions: Collection[int] | None = None,
) -> list[LogRecord]:
    """Every record of `topic` (or of the given partitions of it), partition by partition in
    offset order, up to the current end."""
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
        existing = await partitions_of(consumer, topic)
        if not existing:
            raise LogReadError(f"topic {topic!r} does not exist on {bootstrap}")
        missing = set(partitions or ()) - set(existing)
        if missing:
            raise LogReadError(f"topic {topic!r} has no partition {sorted(missing)} on {bootstrap}")
        chosen = sorted(partitions) if partitions is not None else existing
        tps = [TopicPartition(topic, p) for p in chosen]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        records: list[LogRecord] = []
        pending = {tp for tp in tps if ends[tp] > 0}
        while pending:
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if not pending:
                break
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            for tp, messages in batch.items():
                records.extend(
                    LogRecord(m.topic, m.partition, m.offset, m.key, m.value)
                    for m in messages
                    if m.offset < ends[tp]
                )
        records.sort(key=lambda r: (r.partition, r.offset))
        return records
    finally:
        await consumer.stop()
