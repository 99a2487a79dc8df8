"""An upstream system produces ClientImported straight into `cobranca.clients` with its own
Kafka client (plain aiokafka here, standing for any language), following only the documented
contract; the worker's régua schedules its reminders exactly as for imported files."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from schemas.events import ClientImported
from streams.base.topics import REGUA_SCHEDULES, SEND_REQUESTS
from streams.domain import regua
from tests.kafka_helpers import (
    TEST_STEP,
    WorkerProcess,
    configure_tenant,
    count_for,
    for_tenant,
    read_committed,
    wait_until,
)
from tests.upstream_producer import TOPIC, client_imported_schema, key_of, upstream_client, wire

pytestmark = pytest.mark.integration
CLIENTS = 12


async def _produce_upstream(bootstrap: str, tenant: str) -> list[dict[str, object]]:
    schema_id, schema = client_imported_schema()
    batch = f"erp-sync-{uuid.uuid4().hex[:6]}"
    records = [upstream_client(tenant, batch, n, due=date(2026, 12, 5)) for n in range(CLIENTS)]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for record in records:  # the client's default (murmur2) partitioner picks by key
            await producer.send_and_wait(TOPIC, wire(schema_id, schema, record), key=key_of(record))
    finally:
        await producer.stop()
    return records


def test_the_regua_schedules_reminders_for_upstream_clients(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, tenant)
    records = asyncio.run(_produce_upstream(kafka_bootstrap, tenant))
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"upstream-{tenant}")
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) >= CLIENTS,
            timeout=150,
            what=f"{CLIENTS} reminders for the upstream clients",
            worker=worker,
        )
    finally:
        worker.stop()
    requests = for_tenant(asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name)), tenant)
    expected = sorted(
        regua.request_id_for(regua.debt_of(ClientImported.from_data(record)), TEST_STEP)
        for record in records
    )
    assert sorted(r["request_id"] for r in requests) == expected  # each client once
    assert {r["header"]["correlation_id"] for r in requests} == {records[0]["import_id"]}
    schedules = for_tenant(
        asyncio.run(read_committed(kafka_bootstrap, REGUA_SCHEDULES.name)), tenant
    )
    assert {s["client_id"] for s in schedules} == {r["client_id"] for r in records}
