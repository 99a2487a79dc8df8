"""The worker's agents. Each one decodes, calls a pure rule, and emits what the rule returned.

Agents that keep state keep it as a fold of what they wrote (streams/runtime/state.py): the ledger
its
ledger events, the régua each client's latest RemindersScheduled.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, cast

import faust
from faust.streams import current_event

from connectors.waha.errors import WahaError
from schemas.events import (
    ClientImported,
    ClockTicked,
    DeliveryStatusChanged,
    Event,
    RemindersScheduled,
    WahaCallbackReceived,
)
from streams.agents import conversation
from streams.agents import ledger as ledger_agent
from streams.agents.dispatch import DispatchAgent
from streams.base.topics import (
    ACTIONS,
    CONVERSATION_DEBTS,
    CONVERSATION_STATE,
    CONVERSATIONS,
    DEAD_LETTERS,
    DISPATCHES,
    INTENTS,
    LEDGER,
    REGUA_SCHEDULES,
    SEND_DECISIONS,
    SEND_REQUESTS,
    WAHA_CALLBACKS,
)
from streams.domain import intent, normalization, regua
from streams.domain.chat_keys import record_key
from streams.domain.ledger import LedgerBook, LedgerPolicy
from streams.domain.reply_policy import ConversationBook
from streams.runtime import processing
from streams.runtime.app import app, settings
from streams.runtime.channels import (
    CHANNELS,
    CONVERSATION_INPUT,
    LEDGER_CHANNEL,
    REGUA_INPUT,
)
from streams.runtime.clock import Clock
from streams.runtime.dead_letters import dead_letter_for
from streams.runtime.feed import BatchFeed
from streams.runtime.follower import TopicFollower
from streams.runtime.state import PartitionState
from streams.runtime.tenants import TenantDirectory
from streams.runtime.transport import SourcePartitionTransactions

tenant_directory = TenantDirectory(settings.kafka_bootstrap)
DEFAULT_POLICY = LedgerPolicy()
clock = Clock(settings.kafka_bootstrap)


def _apply_schedule(book: regua.ScheduleBook, event: Event) -> None:
    if isinstance(event, RemindersScheduled):
        book.apply(event)


schedule_books: PartitionState[regua.ScheduleBook] = PartitionState(
    app,
    "regua",
    bootstrap=settings.kafka_bootstrap,
    topics=(REGUA_SCHEDULES,),
    initial=regua.ScheduleBook,
    apply=_apply_schedule,
)


@app.agent(REGUA_INPUT, name="regua")
async def run_regua(stream: faust.StreamT[Any]) -> None:
    """ClientImported and clock ticks → SendRequested / SendDeferred (keyed by tenant, for the
    ledger) and each client's new schedule (keyed tenant:client, the régua's state)."""
    requests = CHANNELS[SEND_REQUESTS.name]
    schedules = CHANNELS[REGUA_SCHEDULES.name]
    debts = CHANNELS[CONVERSATION_DEBTS.name]
    await tenant_directory.ready.wait()
    async for event in processing.events(stream):
        if not isinstance(event, ClientImported | ClockTicked):
            continue  # import rejections and completions: nothing to schedule
        partition = processing.current_partition()
        book = await schedule_books.of(partition)
        now = datetime.now(UTC)
        if isinstance(event, ClientImported):
            config = tenant_directory.get(event.header.tenant_id)
            outcomes = [regua.handle_import(book, event, config, now)]
            # The conversation agent's lookup of the chat's debt (its own partitioning).
            index = regua.debt_index(event, now)
            await debts.send(key=record_key(index.header.tenant_id, index.chat_key), value=index)
        else:
            outcomes = regua.handle_tick(book, tenant_directory.get, now, event.header.event_id)
        for outcome in outcomes:
            for send in outcome.sends:
                await requests.send(key=send.header.tenant_id.encode(), value=send)
            if outcome.schedule is not None:
                schedule = outcome.schedule
                key = f"{schedule.header.tenant_id}:{schedule.client_id}"
                await schedules.send(key=key.encode(), value=schedule, partition=partition)


async def follow_tenants() -> None:
    """Every tenant's configuration, for the régua (and the ledger's prices)."""
    await tenant_directory.run()


async def tick() -> None:
    await clock.tick()


def stop_clock(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> Awaitable[None]:
    return clock.stop()


app.task(follow_tenants)
app.timer(interval=settings.clock_interval_s, on_leader=True)(tick)
# mode's SignalHandlerT is a union of callables mypy cannot match any handler against.
app.on_before_shutdown.connect(stop_clock)  # type: ignore[arg-type]


ledger_books: PartitionState[LedgerBook] = PartitionState(
    app,
    "ledger",
    bootstrap=settings.kafka_bootstrap,
    topics=(LEDGER, ACTIONS),
    initial=LedgerBook,
    apply=LedgerBook.apply,
)


#: The ledger's inputs reach it as fetched batches, not Faust's per-record path (ADR 0014).
ledger_feed = BatchFeed(app, LEDGER_CHANNEL.topics, maxsize=ledger_agent.FEED_MAX, agent="ledger")


@app.agent(LEDGER_CHANNEL, name="ledger")
async def ledger(stream: faust.StreamT[Any]) -> None:
    """Decide each tenant's sends, credits and refunds in order, in batches; debits and
    approvals commit together, in the transaction that consumes the request
    (streams/agents/ledger.py). The subscription is the stream's; the records come through
    `ledger_feed`."""
    await tenant_directory.ready.wait()
    await ledger_agent.run(ledger_feed, ledger_books, _policy)


def _policy(tenant: str) -> LedgerPolicy:
    """The tenant's prices and threshold; the defaults until it is configured."""
    config = tenant_directory.get(tenant)
    return config.ledger_policy if config is not None else DEFAULT_POLICY


# --- the conversation agent (issue 5 section 4) --------------------------------------------

reply_books: PartitionState[ConversationBook] = PartitionState(
    app,
    "conversation",
    bootstrap=settings.kafka_bootstrap,
    topics=(CONVERSATION_DEBTS, CONVERSATION_STATE, INTENTS),
    initial=ConversationBook,
    apply=ConversationBook.apply,
)
# The factory is looked up on the first message, so one set at startup (the model) applies.
conversation_classifier = conversation.LazyClassifier(intent.classifier_factory)


@app.agent(CONVERSATION_INPUT, name="conversation")
async def converse(stream: faust.StreamT[Any]) -> None:
    """Inbound messages → intents, actions and replies; debts for lookups; operators'
    resolutions → resumed collection (streams/agents/conversation.py)."""
    await conversation.run(stream, reply_books, conversation_classifier)


# --- dispatch: SendApproved → WAHA → MessageDispatched / DispatchFailed
# (streams/agents/dispatch.py) ---


def _first_session(tenant: str) -> str | None:
    config = tenant_directory.get(tenant)
    return config.sessions[0].name if config is not None and config.sessions else None


dispatch_agent = DispatchAgent(app, settings, session_for=_first_session)


@app.agent(CHANNELS[SEND_DECISIONS.name], name="dispatch")
async def dispatch(stream: faust.StreamT[Any]) -> None:
    """The only consumer of cobranca.sends.decided: each approval sent through WAHA, its outcome
    written in the transaction that commits it."""
    await tenant_directory.ready.wait()  # an approval without a session uses the tenant's
    await dispatch_agent.run(stream)


# --- WAHA callbacks → conversations (issue 4): the only agent on cobranca.waha.callbacks -------

dispatch_links = normalization.DispatchLinks()
#: MessageDispatched is the ledger's input too: read on the side, never subscribed (ADR 0001).
dispatch_follower = TopicFollower(settings.kafka_bootstrap, DISPATCHES.name, dispatch_links.apply)
conversation_books: PartitionState[normalization.ConversationBook] = PartitionState(
    app,
    "normalizer",
    bootstrap=settings.kafka_bootstrap,
    topics=(CONVERSATIONS,),
    initial=normalization.ConversationBook,
    apply=normalization.ConversationBook.apply,
)


async def follow_dispatches() -> None:
    """Which request each dispatched WAHA message answers, for the normalizer."""
    await dispatch_follower.run()


app.task(follow_dispatches)


@app.agent(CHANNELS[WAHA_CALLBACKS.name], name="normalizer")
async def normalizer(stream: faust.StreamT[Any]) -> None:
    """WahaCallbackReceived → InboundMessage / DeliveryStatusChanged / SessionStatusChanged,
    deduplicated and linked to requests, in the callback's partition under its key."""
    await dispatch_follower.ready.wait()
    conversations = CHANNELS[CONVERSATIONS.name]
    async for event in processing.events(stream):
        if not isinstance(event, WahaCallbackReceived):
            continue
        partition = processing.current_partition()
        book = await conversation_books.of(partition)
        try:
            outcome = normalization.handle(book, dispatch_links, event)
            if outcome.unlinked:
                linked = await _linked(book, event, outcome)
                if linked is None:
                    continue  # a rebalance took the partition meanwhile: its next owner redoes it
                outcome = linked
        except WahaError as exc:
            await _dead_letter(exc, event)
            continue
        key = processing.current_key() or event.header.tenant_id.encode()
        for out in outcome.events:
            book.apply(out)
            await conversations.send(key=key, value=out, partition=partition)


LINK_WAIT_S = 15.0
"""How long after its webhook came in an ack may wait for its MessageDispatched to commit."""


async def _linked(
    book: normalization.ConversationBook,
    callback: WahaCallbackReceived,
    outcome: normalization.Outcome,
) -> normalization.Outcome | None:
    """The outcome again once the follower has caught up with the dispatches.

    WAHA acknowledges a message within milliseconds of accepting it, before the transaction that
    holds its MessageDispatched commits (every commit interval): an ack waits for that commit, up
    to LINK_WAIT_S after the webhook came in (a backlog of old callbacks does not wait), with its
    event released from the commit cut, since the commit it waits for is this worker's own. A
    reply gets one catch-up: a chat may write first, and acks of the send it answers (same chat,
    same partition, earlier) have usually waited already. None: a rebalance began during the
    wait, so the event is abandoned (streams/runtime/transport.py).
    """
    # Dispatches committed before the webhook came in are what a first look can answer.
    if not await dispatch_follower.catch_up(callback.received_at.timestamp()):
        return outcome
    outcome = normalization.handle(book, dispatch_links, callback)
    waits = any(isinstance(e, DeliveryStatusChanged) for e in outcome.events)
    if not outcome.unlinked or not waits or not app.in_transaction:
        return outcome
    transactions = cast(SourcePartitionTransactions, app.consumer.transactions)
    message = current_event().message  # type: ignore[union-attr]
    rebalances = app.rebalancing_count
    deadline = callback.received_at.timestamp() + LINK_WAIT_S
    async with transactions.released(message):
        while outcome.unlinked and time.time() < deadline:
            if app.rebalancing or app.rebalancing_count != rebalances or app.should_stop:
                break
            await asyncio.sleep(0.05)
            if await dispatch_follower.catch_up():
                outcome = normalization.handle(book, dispatch_links, callback)
    if (
        app.rebalancing
        or app.rebalancing_count != rebalances
        or app.should_stop
        or not transactions.is_admitted(message)
    ):
        transactions.abandon(message)
        return None
    return outcome


async def _dead_letter(error: Exception, callback: WahaCallbackReceived) -> None:
    message = current_event().message  # type: ignore[union-attr]
    original = processing.current_value_bytes() or callback.body
    await CHANNELS[DEAD_LETTERS.name].send(
        key=message.topic.encode(), value=dead_letter_for(message, error, original)
    )
