"""The régua agent on the real broker: a step due after the import goes out on a clock tick,
once, after the worker was SIGKILLed and rebuilt its state from the schedules topic."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from streams.base.topics import REGUA_SCHEDULES, SEND_REQUESTS
from streams.domain.brazil.calendar import holiday_calendar
from streams.domain.contact_windows import next_open_slot
from streams.domain.tenant_config import parse_tenant_config
from streams.runtime.producer import EventProducer
from streams.runtime.tenants import apply_config
from tests.factories import client_imported
from tests.kafka_helpers import WorkerProcess, count_for, for_tenant, read_committed, wait_until

pytestmark = pytest.mark.integration
SP = ZoneInfo("America/Sao_Paulo")


def test_a_step_due_later_is_acted_on_by_a_tick_after_a_restart(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    # D0 due at the next whole minute at least 40 s away, São Paulo time.
    due_local = (datetime.now(SP) + timedelta(seconds=100)).replace(second=0, microsecond=0)
    due_at = due_local.astimezone(UTC)
    config = parse_tenant_config(
        {
            "tenant": tenant,
            "name": "Credora",
            "waha": {"sessions": [{"name": f"{tenant}-waha"}]},
            "contact": {
                "windows": {"default": {"weekdays": "00:00-24:00", "saturday": "00:00-24:00"}}
            },
            "regua": {
                "steps": [
                    {
                        "when": "D0",
                        "at": f"{due_local:%H:%M}",
                        "template": "{first_name}, hoje vence {amount}.",
                    }
                ]
            },
        }
    )
    asyncio.run(apply_config(kafka_bootstrap, config))
    client = client_imported(tenant, 1)
    client.due_date = due_local.date()

    async def produce() -> None:
        async with EventProducer(kafka_bootstrap) as producer:
            await producer.send(client, key=f"{tenant}:{client.client_id}")

    asyncio.run(produce())
    env = {"COBRANCA_CLOCK_INTERVAL_S": "1"}
    worker = WorkerProcess(kafka_bootstrap, tmp_path, app_id=f"regua-{tenant}", env=env)
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, REGUA_SCHEDULES.name, tenant) >= 1,
            timeout=90,
            what="the client's schedule",
            worker=worker,
        )
        assert datetime.now(UTC) < due_at, "the schedule took too long to test the tick"
        assert count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) == 0
        worker.kill()  # the state must come back from the schedules topic
        worker.start()
        wait_until(
            lambda: count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) >= 1,
            timeout=150,
            what="the D0 step on a tick",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(3))  # a second decision would show within a few ticks
    finally:
        worker.stop()

    (decision,) = for_tenant(
        asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name)), tenant
    )
    decided_at = decision["header"]["occurred_at"]
    assert decided_at >= due_at
    opens = next_open_slot(decided_at, "SP", config.contact, holiday_calendar("SP", False))
    if opens == decided_at:
        assert decision["header"]["event_type"] == "SendRequested"
        assert decision["text"] == "Maria, hoje vence R$ 1.234,57."
        assert decision["step"] == "D0"
    else:  # Sunday or a holiday
        assert decision["header"]["event_type"] == "SendDeferred"
        assert decision["until"] == opens
    schedules = for_tenant(
        asyncio.run(read_committed(kafka_bootstrap, REGUA_SCHEDULES.name)), tenant
    )
    assert [s["steps"][0]["status"] for s in schedules] == [
        "PENDING",
        "REQUESTED" if opens == decided_at else "DEFERRED",
    ]
