"""The worker's agents. Each one decodes, calls a pure rule, and emits what the rule returned."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import faust

from schemas.events import ClientImported, CreditRequested, DispatchFailed, Event, SendRequested
from streams import processing
from streams.app import app, settings
from streams.channels import CHANNELS, LEDGER_CHANNEL, channel_for
from streams.ledger import (
    Decision,
    LedgerBook,
    LedgerPolicy,
    decide_credit,
    decide_refund,
    decide_send,
)
from streams.ledger_chain import seal
from streams.reminders import request_import_notice
from streams.state import PartitionState
from streams.topics import ACTIONS, CLIENTS, LEDGER, SEND_REQUESTS

# Tenants' own price tables and thresholds arrive with tenant configuration; until then every
# tenant gets the defaults.
POLICY = LedgerPolicy()


@app.agent(CHANNELS[CLIENTS.name], name="plan-import-notices")
async def plan_import_notices(stream: faust.StreamT[Any]) -> None:
    """ClientImported → SendRequested for the import notice, keyed by tenant for the ledger."""
    requests = CHANNELS[SEND_REQUESTS.name]
    async for event in processing.events(stream):
        if isinstance(event, ClientImported):
            request = request_import_notice(event, now=datetime.now(UTC))
            await requests.send(key=request.header.tenant_id.encode(), value=request)


ledger_books: PartitionState[LedgerBook] = PartitionState(
    app,
    "ledger",
    bootstrap=settings.kafka_bootstrap,
    topics=(LEDGER, ACTIONS),
    initial=LedgerBook,
    apply=LedgerBook.apply,
)


@app.agent(LEDGER_CHANNEL, name="ledger")
async def ledger(stream: faust.StreamT[Any]) -> None:
    """Decide each tenant's sends, credits and refunds in order; debits and approvals commit
    together, in the transaction that consumes the request."""
    async for event in processing.events(stream):
        partition = processing.current_partition()
        book = await ledger_books.of(partition)
        decision = _decide(book, event, now=_millis(datetime.now(UTC)))
        if decision is None:
            book.apply(event)  # an action: its block, if any, applies from now on
            continue
        tenant = event.header.tenant_id
        for out in decision.events:
            if out.header.event_type in LEDGER.events:
                out = seal(out, book.heads.get(tenant, ""))
            book.apply(out)
            await channel_for(out.header.event_type).send(
                key=tenant.encode(), value=out, partition=partition
            )


def _decide(book: LedgerBook, event: Event, *, now: datetime) -> Decision | None:
    tenant = event.header.tenant_id
    match event:
        case SendRequested():
            return decide_send(
                event,
                balance=book.balance(tenant),
                charge=book.charge(tenant, event.request_id),
                block=book.block(event),
                policy=POLICY,
                now=now,
            )
        case CreditRequested():
            return decide_credit(
                event,
                balance=book.balance(tenant),
                already_credited=book.was_credited(event),
                now=now,
            )
        case DispatchFailed():
            return decide_refund(
                event,
                balance=book.balance(tenant),
                charge=book.charge(tenant, event.request_id),
                now=now,
            )
    return None


def _millis(moment: datetime) -> datetime:
    # Events keep milliseconds (Avro timestamp-millis); a hash over microseconds would not
    # survive the round trip through the log.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
