"""The shared producers on the real broker: a record Kafka refuses leaves them storing the next
ones (issue 18), and a record they know Kafka would refuse is never sent.

aiokafka numbers each partition's batches when it sends them and keeps the number of a batch
the broker refused for good, so without a renewal every later batch of that producer to that
partition is refused (OutOfOrderSequenceNumber). The broker only checks the sequence of a
producer it has seen on the partition: each test first writes to every partition, then lowers
the topic's max.message.bytes under a record the producer still believes storable.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from streams.base.errors import ProduceFailed
from streams.runtime.group_commit import GroupCommitProducer
from streams.runtime.log_reader import read_topic
from streams.runtime.producer import EventProducer
from tests.topic_config import new_topic, set_max_message_bytes

pytestmark = pytest.mark.integration

KEYS = [f"client-{i}".encode() for i in range(64)]  # every one of the 6 partitions


async def refused_by_the_broker(send: Callable[[], Awaitable[object]], attempts: int = 50) -> int:
    """Send an oversized record until the broker refuses it (the lowered limit reaches the log
    a moment after the broker describes it); how many were stored before that."""
    for stored in range(attempts):
        try:
            await send()
        except ProduceFailed as exc:  # RecordTooLarge, which older producers did not have
            assert "MessageSizeTooLarge" in str(exc), exc
            return stored
        await asyncio.sleep(0.1)
    raise AssertionError(f"the broker stored {attempts} oversized records")


def test_an_event_producer_stores_everything_after_a_record_the_broker_refused(
    kafka_bootstrap: str,
) -> None:
    async def run() -> tuple[int, int]:
        topic = await new_topic(kafka_bootstrap)
        async with EventProducer(kafka_bootstrap) as producer:
            await producer.send_keyed(topic, KEYS, [b"warm"] * len(KEYS))
            await set_max_message_bytes(kafka_bootstrap, topic, 20_000)
            early = await refused_by_the_broker(
                lambda: producer.send_keyed(topic, KEYS[:1], [b"x" * 50_000])
            )
            for round_ in range(10):  # 1,000 valid records, every partition in each send
                values = [b"valid %d" % round_] * 100
                await producer.send_keyed(topic, (KEYS + KEYS)[:100], values)
            assert producer.renewals >= 1
        return len(await read_topic(kafka_bootstrap, topic)), early

    stored, early = asyncio.run(run())
    assert stored == len(KEYS) + early + 1_000


def test_a_group_commit_stores_everything_after_a_record_the_broker_refused(
    kafka_bootstrap: str,
) -> None:
    async def run() -> tuple[int, int, list[BaseException | None], int]:
        topic = await new_topic(kafka_bootstrap)
        async with GroupCommitProducer(kafka_bootstrap, topic, pipelines=2) as producer:
            # Both connections write to every partition: each takes every other group.
            for _ in range(4):
                await asyncio.gather(*(producer.send(key, b"warm", 10) for key in KEYS))
            await set_max_message_bytes(kafka_bootstrap, topic, 20_000)
            early = await refused_by_the_broker(lambda: producer.send(KEYS[0], b"x" * 50_000, 10))
            outcomes: list[BaseException | None] = []
            for round_ in range(5):
                outcomes += await asyncio.gather(
                    *(
                        producer.send(KEYS[i % len(KEYS)], b"valid %d" % round_, 10)
                        for i in range(200)
                    ),
                    return_exceptions=True,
                )
            renewals = producer.renewals
        return len(await read_topic(kafka_bootstrap, topic)), early, outcomes, renewals

    stored, early, outcomes, renewals = asyncio.run(run())
    assert [o for o in outcomes if o is not None] == []
    assert stored == 4 * len(KEYS) + early + 1_000
    assert renewals >= 1


def test_a_group_commit_keeps_its_batches_and_records_under_the_topics_limit(
    kafka_bootstrap: str,
) -> None:
    from streams.base.errors import RecordTooLarge

    async def run() -> tuple[int, int, int]:
        topic = await new_topic(kafka_bootstrap, max_message_bytes="100000")
        async with GroupCommitProducer(kafka_bootstrap, topic) as producer:
            with pytest.raises(RecordTooLarge, match=r"max\.message\.bytes"):
                await producer.send(KEYS[0], b"x" * 150_000, 10)
            # 2,000 records of 1 KB at once: groups of up to 2 MB, in batches under 100,000.
            await asyncio.gather(*(producer.send(KEYS[i % 64], b"v" * 1_000) for i in range(2_000)))
            limit, renewals = producer.max_record_bytes, producer.renewals
        return len(await read_topic(kafka_bootstrap, topic)), limit, renewals

    stored, limit, renewals = asyncio.run(run())
    assert (stored, limit, renewals) == (2_000, 100_000, 0)


def test_an_event_producer_refuses_a_record_larger_than_a_request_before_sending(
    kafka_bootstrap: str,
) -> None:
    from streams.base.errors import RecordTooLarge

    async def run() -> int:
        topic = await new_topic(kafka_bootstrap)
        async with EventProducer(kafka_bootstrap) as producer:
            with pytest.raises(RecordTooLarge, match="max_request_size"):
                await producer.send_keyed(topic, KEYS[:2], [b"small", b"x" * 1_100_000])
            await producer.send_keyed(topic, KEYS, [b"after"] * len(KEYS))
            assert producer.renewals == 0  # nothing was sent, nothing to renew
        return len(await read_topic(kafka_bootstrap, topic))

    assert asyncio.run(run()) == len(KEYS)


def test_a_group_commit_of_two_topics_stores_each_record_on_its_own_under_the_tighter_limit(
    kafka_bootstrap: str,
) -> None:
    async def run() -> tuple[dict[str, set[bytes | None]], int, int]:
        topics = (
            await new_topic(kafka_bootstrap),
            await new_topic(kafka_bootstrap, max_message_bytes="100000"),
        )
        async with GroupCommitProducer(kafka_bootstrap, *topics) as producer:
            with pytest.raises(ValueError, match="which topic"):
                producer.submit(KEYS[0], b"where?")
            with pytest.raises(ValueError, match=r"not cobranca\.nowhere"):
                producer.submit(KEYS[0], b"where?", topic="cobranca.nowhere")
            # Records of both topics in flight at once: groups that carry both.
            await asyncio.gather(
                *(
                    producer.send(key, b"%s %d" % (topic.encode(), i), topic=topic)
                    for i, key in enumerate(KEYS)
                    for topic in topics
                )
            )
            limit, flushes = producer.max_record_bytes, producer.flushes
        stored = {t: {r.value for r in await read_topic(kafka_bootstrap, t)} for t in topics}
        return stored, limit, flushes

    stored, limit, flushes = asyncio.run(run())
    assert stored == {
        topic: {b"%s %d" % (topic.encode(), i) for i in range(len(KEYS))} for topic in stored
    }
    assert limit == 100_000  # the smaller topic's max.message.bytes bounds every record
    assert flushes < 2 * len(KEYS)  # records of both topics shared produce requests
