"""The worker's agents. Each one decodes, calls a pure rule, and emits what the rule returned."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.streams import current_event

from schemas.events import ClientImported, ClockTicked
from streams import processing, regua
from streams.app import app, settings
from streams.channels import CHANNELS, REGUA_INPUT
from streams.clock import Clock
from streams.schedule_store import ScheduleBooks
from streams.tenants import TenantDirectory
from streams.topics import CLIENTS, REGUA_SCHEDULES, SEND_REQUESTS

tenant_directory = TenantDirectory(settings.kafka_bootstrap)
schedule_books = ScheduleBooks(settings.kafka_bootstrap)
clock = Clock(settings.kafka_bootstrap)


@app.agent(REGUA_INPUT, name="regua")
async def run_regua(stream: faust.StreamT[Any]) -> None:
    """ClientImported and clock ticks → SendRequested / SendDeferred (keyed by tenant, for the
    ledger) and each client's new schedule (keyed tenant:client, the régua's state)."""
    requests = CHANNELS[SEND_REQUESTS.name]
    schedules = CHANNELS[REGUA_SCHEDULES.name]
    await tenant_directory.ready.wait()
    async for event in processing.events(stream):
        if not isinstance(event, ClientImported | ClockTicked):
            continue  # import rejections and completions: nothing to schedule
        source = current_event()
        assert source is not None
        book = await schedule_books.book(source.message.partition)
        now = datetime.now(UTC)
        if isinstance(event, ClientImported):
            config = tenant_directory.get(event.header.tenant_id)
            outcomes = [regua.handle_import(book, event, config, now)]
        else:
            outcomes = regua.handle_tick(book, tenant_directory.get, now, event.header.event_id)
        for outcome in outcomes:
            for send in outcome.sends:
                await requests.send(key=send.header.tenant_id.encode(), value=send)
            if outcome.schedule is not None:
                schedule = outcome.schedule
                key = f"{schedule.header.tenant_id}:{schedule.client_id}"
                await schedules.send(key=key.encode(), value=schedule)


async def follow_tenants() -> None:
    """Every tenant's configuration, for the régua (and the ledger's prices)."""
    await tenant_directory.run()


async def tick() -> None:
    await clock.tick()


def drop_regua_state(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
    (revoked,) = args
    schedule_books.drop(tp.partition for tp in revoked if tp.topic == CLIENTS.name)


def stop_clock(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> Awaitable[None]:
    return clock.stop()


app.task(follow_tenants)
app.timer(interval=settings.clock_interval_s, on_leader=True)(tick)
# mode's SignalHandlerT is a union of callables mypy cannot match any handler against.
app.on_partitions_revoked.connect(drop_regua_state)  # type: ignore[arg-type]
app.on_before_shutdown.connect(stop_clock)  # type: ignore[arg-type]
