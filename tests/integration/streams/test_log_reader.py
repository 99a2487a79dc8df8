"""The log reader's progress: offsets read of the total between beginnings and end offsets."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from streams.runtime.log_reader import read_topic

pytestmark = pytest.mark.integration


async def _fill(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
    finally:
        await admin.close()
    plain = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await plain.start()
    try:
        for i in range(50):
            await plain.send_and_wait(topic, b"x", partition=i % 3)
    finally:
        await plain.stop()
    # A transaction: its commit marker takes an offset and is no record.
    transactional = AIOKafkaProducer(
        bootstrap_servers=bootstrap, transactional_id=f"{topic}-tx", acks="all"
    )
    await transactional.start()
    try:
        async with transactional.transaction():
            for _ in range(5):
                await transactional.send(topic, b"y", partition=0)
    finally:
        await transactional.stop()


def test_progress_counts_offsets_up_to_the_end_and_ends_at_the_total(kafka_bootstrap: str) -> None:
    topic = f"log-reader-{uuid.uuid4().hex[:8]}"
    asyncio.run(_fill(kafka_bootstrap, topic))
    seen: list[tuple[int, int]] = []
    records = asyncio.run(
        read_topic(
            kafka_bootstrap, topic, on_progress=lambda done, total: seen.append((done, total))
        )
    )
    assert len(records) == 55
    totals = {total for _, total in seen}
    assert totals == {56}  # 55 records and one commit marker
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == 56
    # Without a callback the reader reads the same records.
    assert asyncio.run(read_topic(kafka_bootstrap, topic)) == records


def test_a_position_reader_reads_the_records_analytics_points_at(kafka_bootstrap: str) -> None:
    from schemas.codec import encode
    from streams.runtime.errors import LogReadError
    from streams.runtime.log_reader import PositionReader
    from tests import factories as f

    topic = f"positions-{uuid.uuid4().hex[:8]}"

    async def run() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, 2, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            # 700 records in partition 0 (far apart positions are sought, near ones read
            # through), 3 in partition 1.
            for n in range(700):
                value = encode(f.client_imported("acme", n).to_representation())
                await producer.send(topic, value, partition=0)  # queued; flushed below
            for n in range(3):
                value = encode(f.client_imported("acme", 1000 + n).to_representation())
                await producer.send_and_wait(topic, value, partition=1)
            await producer.flush()
        finally:
            await producer.stop()

        reader = PositionReader(kafka_bootstrap, timeout_s=3.0)
        try:
            wanted = [(topic, 0, 3), (topic, 0, 10), (topic, 0, 699), (topic, 1, 2), (topic, 0, 3)]
            found = await reader.read(wanted)
            assert {position: e.client_id for position, e in found.items()} == {
                (topic, 0, 3): "c000003",
                (topic, 0, 10): "c000010",
                (topic, 0, 699): "c000699",
                (topic, 1, 2): "c001002",
            }
            assert await reader.read([]) == {}
            with pytest.raises(LogReadError, match=rf"{topic}\[1\]@50 was not read"):
                await reader.read([(topic, 1, 50)])  # past the end: never comes
            again = await reader.read([(topic, 0, 1)])  # still usable after a timeout
            assert [e.client_id for e in again.values()] == ["c000001"]
        finally:
            await reader.stop()

    asyncio.run(run())
