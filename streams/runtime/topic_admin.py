"""Create the catalogue's topics on a broker and report what they hold."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from streams.base.topics import CATALOGUE, TopicSpec
from streams.runtime.errors import TopicAdminError
from streams.runtime.log_reader import partitions_of


@dataclass(frozen=True, slots=True)
class TopicState:
    """A catalogue topic as the broker sees it."""

    spec: TopicSpec
    exists: bool
    partitions: int
    end_offsets: int
    """Sum of the partitions' high watermarks: records ever written, markers included."""


def replication_for(brokers: int) -> tuple[int, int]:
    """(replication factor, min ISR) of a topic on a cluster of `brokers`: a copy on every broker
    up to 3, and from 3 on, acks=all waits for 2 copies, so losing any one broker loses nothing
    acknowledged and leaves the topic writable."""
    factor = max(1, min(3, brokers))
    return factor, 2 if factor >= 3 else 1


async def create_topics(
    bootstrap: str, partitions: int, specs: tuple[TopicSpec, ...] = CATALOGUE
) -> list[str]:
    """Create the topics that do not exist yet; return the names created now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await _start(admin, bootstrap)
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if not missing:
            return []
        cluster = await admin.describe_cluster()
        factor, min_isr = replication_for(len(cluster["brokers"]))
        new = [
            NewTopic(
                spec.name,
                partitions,
                replication_factor=factor,
                topic_configs={**spec.config(), "min.insync.replicas": str(min_isr)},
            )
            for spec in missing
        ]
        # Another process may create them between our list and create: that is the goal too.
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics(new)
        return [spec.name for spec in missing]
    except KafkaError as exc:
        raise TopicAdminError(f"creating topics on {bootstrap} failed: {exc!r}") from exc
    finally:
        await admin.close()


async def describe_topics(
    bootstrap: str, specs: tuple[TopicSpec, ...] = CATALOGUE
) -> list[TopicState]:
    """Each catalogue topic with its partition count and end offsets."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await _start(consumer, bootstrap)
    try:
        states = []
        for spec in specs:
            partitions = await partitions_of(consumer, spec.name)
            if not partitions:
                states.append(TopicState(spec, exists=False, partitions=0, end_offsets=0))
                continue
            tps = [TopicPartition(spec.name, p) for p in partitions]
            ends = await consumer.end_offsets(tps)
            states.append(TopicState(spec, True, len(tps), sum(ends.values())))
        return states
    except KafkaError as exc:
        raise TopicAdminError(f"describing topics on {bootstrap} failed: {exc!r}") from exc
    finally:
        await consumer.stop()


async def _start(client: AIOKafkaAdminClient | AIOKafkaConsumer, bootstrap: str) -> None:
    try:
        await client.start()
    except KafkaConnectionError as exc:
        raise TopicAdminError(
            f"no Kafka broker answers at {bootstrap}; start the local one with "
            "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
        ) from exc
