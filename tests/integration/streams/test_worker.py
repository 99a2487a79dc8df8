"""The worker on the real broker: the import-notice path end to end, dead letters, and
exactly-once output under read_committed across SIGKILLs."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from pathlib import Path

import pytest

from schemas.codec import encode
from streams.producer import EventProducer
from streams.reminders import request_id_for
from streams.topics import CLIENTS, DEAD_LETTERS, SEND_REQUESTS
from tests.factories import client_imported
from tests.kafka_helpers import (
    WorkerProcess,
    count_for,
    end_offsets,
    for_tenant,
    read_committed,
    wait_until,
)

pytestmark = pytest.mark.integration


def _tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def _produce_clients(bootstrap: str, tenant: str, n: int) -> list[str]:
    clients = [client_imported(tenant, i) for i in range(n)]
    async with EventProducer(bootstrap) as producer:
        await producer.send_many((c, f"{tenant}:{c.client_id}") for c in clients)
    return [request_id_for(c) for c in clients]


def test_import_notice_end_to_end(kafka_bootstrap: str, tmp_path: Path) -> None:
    tenant = _tenant()
    expected = asyncio.run(_produce_clients(kafka_bootstrap, tenant, 40))
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"e2e-{tenant}")
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) >= 40,
            timeout=90,
            what="40 SendRequested",
            worker=worker,
        )
    finally:
        worker.stop()
    records = asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name))
    mine = [(key, value) for key, value in records if value["header"]["tenant_id"] == tenant]
    assert sorted(value["request_id"] for _, value in mine) == sorted(expected)
    key, first = next((k, v) for k, v in mine if v["request_id"] == expected[0])
    assert key == tenant.encode()  # the ledger decides each tenant's requests in order
    assert first["header"]["event_type"] == "SendRequested"
    assert first["phone_e164"] == "+5511900000000"
    assert "R$ 1.234,56" in first["text"] and "05/12/2026" in first["text"]
    assert first["header"]["correlation_id"] == "imp-1"


def test_undecodable_record_is_dead_lettered_and_the_stream_goes_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    garbage = b"\x00\x00\x00\x03\xe7not avro at all"  # magic 0, schema id 999, junk body

    async def produce() -> None:
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(CLIENTS.name, garbage, key=f"{tenant}:bad".encode())
            good = client_imported(tenant, 7)
            await producer.send_and_wait(
                CLIENTS.name,
                encode(good.to_representation()),
                key=f"{tenant}:{good.client_id}".encode(),
            )
        finally:
            await producer.stop()

    asyncio.run(produce())
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"dlq-{tenant}")
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) == 1,
            timeout=90,
            what="the good record's SendRequested",
            worker=worker,
        )
        wait_until(
            lambda: count_for(kafka_bootstrap, DEAD_LETTERS.name, tenant) == 1,
            timeout=30,
            what="the dead letter",
            worker=worker,
        )
    finally:
        worker.stop()
    (dead,) = for_tenant(asyncio.run(read_committed(kafka_bootstrap, DEAD_LETTERS.name)), tenant)
    assert dead["original"] == garbage
    assert dead["topic"] == CLIENTS.name
    assert dead["key"] == f"{tenant}:bad".encode()
    assert dead["error_type"] == "UndecodableEvent"
    assert f"{CLIENTS.name}[{dead['partition']}]@{dead['offset']}" in dead["error"]
    assert "schema id 999" in dead["error"]


def test_sigkilled_worker_produces_each_output_exactly_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    total = 20_000
    expected = asyncio.run(_produce_clients(kafka_bootstrap, tenant, total))
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"eos-{tenant}")
    rng = random.Random(7)
    kills = 0
    while kills < 3:
        before = end_offsets(kafka_bootstrap, SEND_REQUESTS.name)
        worker.start()
        # Kill mid-stream: once this run is writing output, after a random extra delay.
        wait_until(
            lambda before=before: end_offsets(kafka_bootstrap, SEND_REQUESTS.name) > before,
            timeout=90,
            what="progress",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(rng.uniform(0.1, 0.8)))
        worker.kill()
        kills += 1
    assert count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) < total, (
        "finished before the last kill"
    )
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) >= total,
            timeout=120,
            what="all outputs",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(1.5))  # a late duplicate would show up within a commit or two
    finally:
        worker.stop()
    ids = Counter(
        v["request_id"]
        for v in for_tenant(
            asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name)), tenant
        )
    )
    assert set(ids) == set(expected)
    assert [rid for rid, n in ids.items() if n > 1] == []
