"""Issue 16 §5: the clock jumps forward a day; the régua catches up without sending outside the
contact windows, and sends nothing twice.

The régua reads the time from the worker's clock (streams/runtime/clock.py): the real one, or a
simulated one that starts at COBRANCA_CLOCK_START and runs in real time from there. The jump is
deterministic: a worker plans the clients' schedules on Tuesday 05:00 (São Paulo), nothing due
yet; it stops, and the next worker of the same group starts a day later, at Wednesday 08:59:30
São Paulo time (07:59:30 in Manaus), as a host whose clock was off by a day and got corrected would.

Every client has two steps jumped over: D-2 (Tuesday 07:00, their local time) and D-1
(Wednesday 07:00). The régua's catch-up rule sends only the latest due step and supersedes the
earlier one. In São Paulo the window (08:00-20:00) is open: D-1 goes at once. In Manaus it is
closed until 08:00 local (09:00 São Paulo): D-1 is deferred to that instant and goes then.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from schemas.events import ClientImported
from streams.base.topics import REGUA_SCHEDULES, SEND_REQUESTS
from streams.domain.brazil.calendar import holiday_calendar
from streams.domain.contact_windows import is_open, next_open_slot
from streams.domain.tenant_config import parse_tenant_config
from streams.runtime.producer import EventProducer
from streams.runtime.tenants import apply_config
from tests.factories import client_imported
from tests.faults import report
from tests.kafka_helpers import WorkerProcess, count_for, for_tenant, read_committed, wait_until

pytestmark = pytest.mark.integration
SP = ZoneInfo("America/Sao_Paulo")
#: Tuesday 2026-12-08, before any window opens; the jump lands on Wednesday 08:59:30 (São Paulo).
BEFORE = datetime(2026, 12, 8, 5, 0, tzinfo=SP)
AFTER = datetime(2026, 12, 9, 8, 59, 30, tzinfo=SP)
UFS = ("SP", "AM")  # America/Sao_Paulo and America/Manaus (one hour behind)


def _config(tenant: str) -> Any:
    return parse_tenant_config(
        {
            "tenant": tenant,
            "name": "Credora",
            "waha": {"sessions": [{"name": f"{tenant}-waha"}]},
            "contact": {"windows": {"default": {"weekdays": "08:00-20:00"}}},
            "regua": {
                "steps": [
                    {"when": when, "at": "07:00", "template": "{first_name}, {amount}."}
                    for when in ("D-2", "D-1", "D0")
                ]
            },
        }
    )


def _clients(tenant: str, total: int) -> list[ClientImported]:
    clients = []
    for n in range(total):
        client = client_imported(tenant, n, phone=f"+55{11 if n % 2 == 0 else 92}9{n:08d}")
        client.uf = UFS[n % 2]
        client.due_date = datetime(2026, 12, 10).date()  # Thursday: D-2 Tue, D-1 Wed, D0 Thu
        clients.append(client)
    return clients


@pytest.mark.parametrize(
    "total", [pytest.param(40, id="short"), pytest.param(2000, id="long", marks=pytest.mark.chaos)]
)
def test_a_day_jumped_over_is_caught_up_inside_the_contact_windows_once(
    kafka_bootstrap: str, tmp_path: Path, total: int
) -> None:
    tenant = f"jump-{uuid.uuid4().hex[:8]}"
    config = _config(tenant)
    asyncio.run(apply_config(kafka_bootstrap, config))
    clients = _clients(tenant, total)
    uf_of = {c.client_id: c.uf for c in clients}

    async def produce() -> None:
        async with EventProducer(kafka_bootstrap) as producer:
            for client in clients:
                await producer.send(client, key=f"{tenant}:{client.client_id}")

    asyncio.run(produce())
    worker = WorkerProcess(
        kafka_bootstrap,
        tmp_path,
        app_id=f"jump-{tenant}",
        env={"COBRANCA_CLOCK_INTERVAL_S": "1", "COBRANCA_CLOCK_START": BEFORE.isoformat()},
    )
    worker.start()
    try:
        wait_until(
            lambda: count_for(kafka_bootstrap, REGUA_SCHEDULES.name, tenant) >= total,
            timeout=180,
            what=f"{total} schedules on Tuesday",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(3))  # a few ticks: nothing is due on Tuesday at 05:00
        assert count_for(kafka_bootstrap, SEND_REQUESTS.name, tenant) == 0
        worker.stop()
        assert worker.proc is not None and worker.proc.returncode == 0

        # The clock jumps: the same group (same state, same offsets), a day and four hours on.
        worker.env["COBRANCA_CLOCK_START"] = AFTER.isoformat()
        worker.start()

        def sent() -> list[dict[str, Any]]:
            decisions = for_tenant(
                asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name)), tenant
            )
            return [d for d in decisions if d["header"]["event_type"] == "SendRequested"]

        wait_until(
            lambda: len(sent()) >= total,
            timeout=240,
            what=f"{total} reminders caught up after the jump",
            worker=worker,
        )
        asyncio.run(asyncio.sleep(3))  # a reminder sent twice would show within a few ticks
    finally:
        worker.stop()

    decisions = for_tenant(asyncio.run(read_committed(kafka_bootstrap, SEND_REQUESTS.name)), tenant)
    requested = [d for d in decisions if d["header"]["event_type"] == "SendRequested"]
    deferred = [d for d in decisions if d["header"]["event_type"] == "SendDeferred"]
    schedules = for_tenant(
        asyncio.run(read_committed(kafka_bootstrap, REGUA_SCHEDULES.name)), tenant
    )
    latest = {s["client_id"]: s for s in schedules}  # the topic's order is each client's order
    uf_of_request = {step["request_id"]: s["uf"] for s in schedules for step in s["steps"]}

    def rules(uf: str) -> tuple[Any, Any]:
        return config.contact, holiday_calendar(uf, config.contact.state_holidays)

    # Only D-1 went: D-2 was superseded by the catch-up, D0 is not due before Thursday.
    assert Counter(d["step"] for d in requested) == {"D-1": total}
    for d in requested:
        at = d["header"]["occurred_at"]
        assert at >= AFTER, d
        contact, holidays = rules(uf_of[d["client_id"]])
        assert is_open(at, uf_of[d["client_id"]], contact, holidays), (
            f"sent outside the window: {uf_of[d['client_id']]} at {at.astimezone(SP)}"
        )
    for d in deferred:
        uf = uf_of_request[d["request_id"]]
        contact, holidays = rules(uf)
        at = d["header"]["occurred_at"]
        assert uf == "AM" and d["until"] == next_open_slot(at, uf, contact, holidays) > at, d
    # Manaus was closed at the first ticks after the jump when the worker came up well before
    # 09:00 São Paulo time (it takes seconds): its reminders were deferred, not sent, then.
    first = min(d["header"]["occurred_at"] for d in requested)
    if first < AFTER + timedelta(seconds=15):
        assert deferred, first
    for client_id, schedule in latest.items():
        status = {step["step"]: step["status"] for step in schedule["steps"]}
        assert status == {"D-2": "SUPERSEDED", "D-1": "REQUESTED", "D0": "PENDING"}, (
            client_id,
            status,
        )
    report(
        "clock_jump_1d",
        [c.client_id for c in clients],
        [d["client_id"] for d in requested],
        deferred=len(deferred),
    )
