"""The local broker's life cycle, on a broker of the test's own (not the session's)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.kafka.broker import LocalBroker
from infra.kafka.errors import BrokerError
from streams.base.settings import cache_home

pytestmark = pytest.mark.integration


async def _write(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic("durable", 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    await producer.send_and_wait("durable", b"still here")
    await producer.stop()


async def _read(bootstrap: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        "durable", bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        return [m.value for messages in batch.values() for m in messages]
    finally:
        await consumer.stop()


def test_broker_keeps_its_data_across_stop_and_start(tmp_path: Path) -> None:
    broker = LocalBroker.on_free_ports(cache=cache_home(), home=tmp_path)
    began = time.monotonic()
    first = broker.start()
    cold = time.monotonic() - began
    try:
        assert first.running and first.pid is not None
        assert broker.start().pid == first.pid  # idempotent: the running broker is kept
        asyncio.run(_write(broker.bootstrap))
        assert broker.stop()
        assert not broker.status().running
        assert not broker.stop()  # idempotent too
        began = time.monotonic()
        second = broker.start()
        warm = time.monotonic() - began
        assert second.pid != first.pid
        assert asyncio.run(_read(broker.bootstrap)) == [b"still here"]
    finally:
        broker.stop()
    assert first.log_file.exists()
    print(f"broker cold start {cold:.1f}s, restart with data {warm:.1f}s")


def test_broker_refuses_a_non_loopback_address(tmp_path: Path) -> None:
    with pytest.raises(BrokerError, match="loopback only"):
        LocalBroker.for_bootstrap("10.0.0.5:9092", cache=cache_home(), home=tmp_path)


def test_a_cluster_id_that_starts_with_a_dash_formats(tmp_path: Path) -> None:
    # URL-safe base64 ids start with '-' one time in 64; the storage tool must not read the id
    # as an option.
    (tmp_path / "cluster.id").write_text("-" + "A" * 21)
    broker = LocalBroker.on_free_ports(cache=cache_home(), home=tmp_path)
    try:
        assert broker.start().running
        asyncio.run(_write(broker.bootstrap))
        assert asyncio.run(_read(broker.bootstrap)) == [b"still here"]
    finally:
        broker.stop()
