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
