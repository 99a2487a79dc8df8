"""The régua agent: imported clients and clock ticks in, send requests and schedules out.

Per event, the pure rules (streams/domain/regua.py) decide against the partition's
ScheduleBook, the fold of each client's latest RemindersScheduled (streams/runtime/state.py):
SendRequested / SendDeferred go to the ledger keyed by tenant, each client's new schedule to
cobranca.regua.schedules keyed tenant:client on the input's partition, and each imported debt to
the conversation agent's lookup (keyed by the chat, its own partitioning).
"""

from __future__ import annotations

from typing import Any

import faust

from schemas.events import ClientImported, ClockTicked, Event, RemindersScheduled
from streams.base.settings import Settings
from streams.base.topics import CONVERSATION_DEBTS, REGUA_SCHEDULES, SEND_REQUESTS
from streams.domain import regua
from streams.domain.chat_keys import record_key
from streams.runtime import processing
from streams.runtime.channels import Channels
from streams.runtime.clock import Now
from streams.runtime.state import PartitionState
from streams.runtime.tenants import TenantDirectory

__all__ = ["ReguaAgent"]


def _apply_schedule(book: regua.ScheduleBook, event: Event) -> None:
    if isinstance(event, RemindersScheduled):
        book.apply(event)


class ReguaAgent:
    """The body of the `regua` agent (built by streams/agents/worker.py)."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        channels: Channels,
        tenants: TenantDirectory,
        now: Now,
    ) -> None:
        self.channels = channels
        self.now = now
        self.tenants = tenants
        self.books: PartitionState[regua.ScheduleBook] = PartitionState(
            app,
            "regua",
            bootstrap=settings.kafka_bootstrap,
            topics=(REGUA_SCHEDULES,),
            initial=regua.ScheduleBook,
            apply=_apply_schedule,
        )

    async def run(self, stream: faust.StreamT[Any]) -> None:
        """ClientImported and clock ticks → SendRequested / SendDeferred (keyed by tenant, for
        the ledger) and each client's new schedule (keyed tenant:client, the régua's state)."""
        requests = self.channels[SEND_REQUESTS]
        schedules = self.channels[REGUA_SCHEDULES]
        debts = self.channels[CONVERSATION_DEBTS]
        await self.tenants.ready.wait()
        async for event in processing.events(stream):
            if not isinstance(event, ClientImported | ClockTicked):
                continue  # import rejections and completions: nothing to schedule
            partition = processing.current_partition()
            book = await self.books.of(partition)
            now = self.now()
            if isinstance(event, ClientImported):
                config = self.tenants.get(event.header.tenant_id)
                outcomes = [regua.handle_import(book, event, config, now)]
                # The conversation agent's lookup of the chat's debt (its own partitioning).
                index = regua.debt_index(event, now)
                key = record_key(index.header.tenant_id, index.chat_key)
                await debts.send(key=key, value=index)
            else:
                outcomes = regua.handle_tick(book, self.tenants.get, now, event.header.event_id)
            for outcome in outcomes:
                for send in outcome.sends:
                    await requests.send(key=send.header.tenant_id.encode(), value=send)
                if outcome.schedule is not None:
                    schedule = outcome.schedule
                    key = f"{schedule.header.tenant_id}:{schedule.client_id}".encode()
                    await schedules.send(key=key, value=schedule, partition=partition)
