"""The ledger agent: send requests, credits, dispatch failures and actions, decided in batches.

The inputs come as whole fetched batches through a feed (streams/runtime/feed.py), not Faust's
per-record consumer path (docs/adr/0014-ledger-fetch.md). Per batch (up to BATCH_MAX events or
BATCH_WITHIN seconds, admitted as a whole), each event, in offset order within its partition,
goes through the pure rules (streams/domain/ledger.py) against its partition's LedgerBook; the
ledger events are sealed into the tenant's hash chain (streams/domain/ledger_chain.py) and applied
to the book as they are decided, so the next event of the batch sees them. What the rules emit is
encoded there and then, and sent once the whole batch is decided: per partition, one produce
batch per output topic, in the transaction of that partition
(`SourcePartitionTransactions.send_encoded`). Faust's per-record path (a record coerced and
encoded by its codec, one send and one future per output) cost more than the rules themselves;
see docs/adr/0011-batched-ledger.md.

Every output goes to the input's partition number, keyed by tenant: the ledger events are the
agent's state (streams/runtime/state.py), and decisions keep a tenant's order for the dispatcher.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, cast

import faust
import structlog

from schemas.codec import encode
from schemas.events import (
    CreditRequested,
    DispatchFailed,
    Event,
    SendApproved,
    SendRejected,
    SendRequested,
    TokensCredited,
    TokensDebited,
    TokensRefunded,
)
from streams.base.settings import Settings
from streams.base.topics import ACTIONS, LEDGER, topic_for_event
from streams.domain.ledger import (
    Decision,
    LedgerBook,
    LedgerPolicy,
    decide_credit,
    decide_refund,
    decide_send,
)
from streams.domain.ledger_chain import seal
from streams.runtime.channels import Channels
from streams.runtime.feed import BatchFeed, Fed
from streams.runtime.feed import batches as feed_batches
from streams.runtime.state import PartitionState
from streams.runtime.transport import SourcePartitionTransactions

log = structlog.get_logger(__name__)

BATCH_MAX: Final = 1000
"""Events decided in one step at most."""
FEED_MAX: Final = 4 * BATCH_MAX
"""Fetched events waiting for the agent at most, before the fetcher pauses their partitions."""
BATCH_WITHIN: Final = 0.1
"""Seconds a batch waits to fill: the latency a lone request pays for batching (a decision is
visible only at the next commit, every COBRANCA_COMMIT_INTERVAL_S, anyway). 0.1 s spent ~8 %
less CPU per decision than 0.02 s in bench/ledger_bench.py (201 to 217 µs against 227 to 237 µs)."""

YIELD_EVERY: Final = 50
"""Events decided between two yields to the event loop, so the fetcher refills the feed while a
batch is being decided."""

NO_REASON: Final = "none"
"""The reason label of an approved send."""

PolicyOf = Callable[[str], LedgerPolicy]


@dataclass(slots=True)
class Outbox:
    """One partition's outputs of a batch, encoded, in the order they were decided."""

    records: dict[str, list[tuple[bytes, bytes]]] = field(default_factory=dict)
    """Topic → (key, value) records."""
    ledger_events: Counter[str] = field(default_factory=Counter)
    """Ledger events among them, by type (for the metrics: BalanceLow alerts)."""
    sends: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Send decisions among them, by (outcome, reason) (for the metrics)."""
    tokens: Counter[str] = field(default_factory=Counter)
    """Tokens they move, by movement: debited, refunded, credited (for the metrics)."""


class LedgerAgent:
    """The body of the `ledger` agent (built by streams/agents/worker.py): its books, and the
    feed its records come through (the subscription is the stream's; ADR 0014)."""

    def __init__(
        self, app: faust.App, settings: Settings, channels: Channels, policy_of: PolicyOf
    ) -> None:
        self.policy_of = policy_of
        self.books: PartitionState[LedgerBook] = PartitionState(
            app,
            "ledger",
            bootstrap=settings.kafka_bootstrap,
            topics=(LEDGER, ACTIONS),
            initial=LedgerBook,
            apply=LedgerBook.apply,
        )
        self.feed = BatchFeed(app, channels.ledger.topics, maxsize=FEED_MAX, agent="ledger")

    async def run(self, stream: faust.StreamT[Any]) -> None:
        """Decide each tenant's sends, credits and refunds in order, in batches; debits and
        approvals commit together, in the transaction that consumes the request."""
        await run(self.feed, self.books, self.policy_of)


async def run(feed: BatchFeed, books: PartitionState[LedgerBook], policy_of: PolicyOf) -> None:
    """The agent's loop (see the module docstring)."""
    app = feed.app
    if not app.in_transaction:
        raise RuntimeError("the ledger runs only under processing_guarantee='exactly_once'")
    transactions = cast(SourcePartitionTransactions, app.consumer.transactions)
    async for batch in feed_batches(feed, BATCH_MAX, BATCH_WITHIN):
        try:
            await _decide(feed, books, policy_of, transactions, batch)
        except Exception as exc:
            # The batch is acknowledged when the loop moves on, and some of its outputs may be
            # sent already: no commit may follow. Stop the worker instead (fail-stop).
            transactions.halt()
            first = batch[0].message
            log.error(
                "ledger_batch_failed",
                error=repr(exc),
                first=f"{first.topic}[{first.partition}]@{first.offset}",
                events=len(batch),
                hint="the worker stops; its restart decides the batch again from the "
                "committed offsets",
            )
            await app.crash(exc)
            raise


async def _decide(
    feed: BatchFeed,
    books: PartitionState[LedgerBook],
    policy_of: PolicyOf,
    transactions: SourcePartitionTransactions,
    batch: list[Fed],
) -> None:
    """Decide one batch and send its outputs, per partition, in that partition's transaction."""
    now = millis(datetime.now(UTC))
    await _warm(feed, books, {fed.partition for fed in batch})
    outboxes: dict[int, tuple[Fed, Outbox]] = {}
    for index, fed in enumerate(batch):
        if index % YIELD_EVERY == YIELD_EVERY - 1:
            await asyncio.sleep(0)
        partition = fed.partition
        book = await books.of(partition)
        if not transactions.is_admitted(fed.message):
            # Its partition's producer was fenced meanwhile: the member that holds the
            # partition now decides it.
            transactions.abandon(fed.message)
            continue
        if partition not in outboxes:
            outboxes[partition] = (fed, Outbox())
        handle(book, fed.event, policy_of, now, outboxes[partition][1])
    sent = Outbox()
    for first, outbox in outboxes.values():
        if await _send(transactions, first, outbox):
            sent.ledger_events.update(outbox.ledger_events)
            sent.sends.update(outbox.sends)
            sent.tokens.update(outbox.tokens)
    report(feed.app, sent)


def report(app: Any, sent: Outbox) -> None:
    """What a batch sent, to the sensors that count it (`PrometheusSensor`): ledger events by
    type, send decisions by outcome and reason, tokens by movement."""
    if sent.ledger_events:
        report_ledger_events(app, sent.ledger_events)
    for hook, counts in (("on_sends", sent.sends), ("on_tokens", sent.tokens)):
        if counts:
            _report(app, hook, counts)


def report_ledger_events(app: Any, counts: Counter[str]) -> None:
    """Ledger events sent, by type, to the sensors that count them (`PrometheusSensor`)."""
    _report(app, "on_ledger_events", counts)


def _report(app: Any, hook: str, counts: Any) -> None:
    for sensor in app.sensors:
        if (found := getattr(sensor, hook, None)) is not None:
            found(counts)


def count(out: Event, outbox: Outbox) -> None:
    """`out`'s share of the metrics: a send decision, tokens moved."""
    match out:
        case SendApproved():
            outbox.sends["approved", NO_REASON] += 1
        case SendRejected():
            outbox.sends["rejected", str(out.reason)] += 1
        case TokensDebited():
            outbox.tokens["debited"] += out.amount
        case TokensRefunded():
            outbox.tokens["refunded"] += out.amount
        case TokensCredited():
            outbox.tokens["credited"] += out.amount


async def _warm(feed: BatchFeed, books: PartitionState[LedgerBook], partitions: set[int]) -> None:
    """Rebuild the books of the batch's partitions and of every other ledger partition this
    worker holds, concurrently: one after the other, as each partition's first event came, the
    rebuilds (a read of the partition's history each) left the worker idle for seconds after
    every rebalance."""
    assigned = {tp.partition for tp in feed.app.consumer.assignment() if tp.topic in feed.topics}
    await asyncio.gather(*(books.of(p) for p in partitions | assigned))


def handle(
    book: LedgerBook, event: Event, policy_of: PolicyOf, now: datetime, outbox: Outbox
) -> None:
    """Decide one event against `book`, apply what it emits and queue it, encoded."""
    decision = decide(book, event, policy_of, now=now)
    if decision is None:
        book.apply(event)  # an action: its block, if any, applies from now on
        return
    tenant = event.header.tenant_id
    key = tenant.encode()
    for out in decision.events:
        event_type = out.header.event_type
        if event_type in LEDGER.events:
            out = seal(out, book.heads.get(tenant, ""))
            outbox.ledger_events[event_type] += 1
        count(out, outbox)
        book.apply(out)
        topic = topic_for_event(event_type).name
        outbox.records.setdefault(topic, []).append((key, encode(out.to_representation())))


def decide(
    book: LedgerBook, event: Event, policy_of: PolicyOf, *, now: datetime
) -> Decision | None:
    """The rules' decision on one input; None for an action (which only sets blocks)."""
    tenant = event.header.tenant_id
    match event:
        case SendRequested():
            return decide_send(
                event,
                balance=book.balance(tenant),
                charge=book.charge(tenant, event.request_id),
                block=book.block(event),
                policy=policy_of(tenant),
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


async def _send(transactions: SourcePartitionTransactions, first: Fed, outbox: Outbox) -> bool:
    """Send a partition's outputs in its transaction; `first` is its batch's first event.
    False when the partition was revoked first (nothing of its batch will commit)."""
    for topic, records in outbox.records.items():
        if not await transactions.send_encoded(first.message, topic, first.partition, records):
            # Revoked before the sends: nothing of this partition's batch may commit. Its
            # in-memory book, ahead of the log now, was forgotten with the revocation.
            transactions.abandon(first.message)
            return False
    return True


def millis(moment: datetime) -> datetime:
    """`moment` cut to what an event keeps."""
    # Events keep milliseconds (Avro timestamp-millis); a hash over microseconds would not
    # survive the round trip through the log.
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
