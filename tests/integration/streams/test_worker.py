"""The worker on the real broker: the régua end to end, dead letters, and exactly-once output
under read_committed across SIGKILLs."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter
from pathlib import Path

import pytest

from schemas.codec import encode
from streams.base.topics import CLIENTS, DEAD_LETTERS, REGUA_SCHEDULES, SEND_REQUESTS
from streams.domain import regua
from streams.domain.brazil.calendar import holiday_calendar
from streams.domain.contact_windows import next_open_slot
from streams.runtime.producer import EventProducer
from tests.factories import client_imported
from tests.faults import report
from tests.kafka_helpers import (
    TEST_STEP,
    WorkerProcess,
    configure_tenant,
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
    return [regua.request_id_for(regua.debt_of(c), TEST_STEP) for c in clients]


def test_regua_end_to_end(kafka_bootstrap: str, tmp_path: Path) -> None:
    tenant = _tenant()
    config = configure_tenant(kafka_bootstrap, tenant)
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
    assert first["header"]["correlation_id"] == "imp-1"
    decided_at = first["header"]["occurred_at"]
    opens = next_open_slot(decided_at, "SP", config.contact, holiday_calendar("SP", False))
    if opens == decided_at:  # inside the window: the send itself
        assert first["header"]["event_type"] == "SendRequested"
        assert first["phone_e164"] == "+5511900000000"
        assert first["step"] == TEST_STEP
        assert first["text"] == "Olá, Maria! R$ 1.234,56 vencem em 05/12/2026."
    else:  # a Sunday or a holiday: deferred to the next open slot
        assert first["header"]["event_type"] == "SendDeferred"
        assert first["until"] == opens
    # The régua's state: one schedule per client, in the client's partition.
    schedules = [
        (key, value)
        for key, value in asyncio.run(read_committed(kafka_bootstrap, REGUA_SCHEDULES.name))
        if value["header"]["tenant_id"] == tenant
    ]
    assert sorted(v["client_id"] for _, v in schedules) == [f"c{n:06d}" for n in range(40)]
    assert all(k == f"{tenant}:{v['client_id']}".encode() for k, v in schedules)


def test_undecodable_record_is_dead_lettered_and_the_stream_goes_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = _tenant()
    configure_tenant(kafka_bootstrap, tenant)
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
    configure_tenant(kafka_bootstrap, tenant)
    total = 10_000
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
            timeout=300,
            what="all outputs",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(1.5))  # a late duplicate would show up within a commit or two
    finally:
        worker.stop()
    outputs = for_tenant(asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name)), tenant)
    # One decision per request (a SendDeferred turns into a SendRequested only if a window
    # opened during the test, which is a new event, not a duplicate).
    ids = Counter((v["request_id"], v["header"]["event_type"]) for v in outputs)
    # A request counts once whatever its decision's type; twice if a decision went out twice.
    times: dict[str, int] = {}
    for (rid, _), n in ids.items():
        times[rid] = max(times.get(rid, 0), n)
    report("worker_sigkill_regua", expected, [r for r, n in times.items() for _ in range(n)])
    assert {rid for rid, _ in ids} == set(expected)
    assert [key for key, n in ids.items() if n > 1] == []
    assert len({v["header"]["event_id"] for v in outputs}) == len(outputs)
