"""The normalizer: the only consumer of cobranca.waha.callbacks and cobranca.waha.messages.

The worker runs it as two agents, one per lane (the receiver stores the debtors' messages apart
from the acks and session statuses, docs/adr/0032), so that a reply never waits in a queue of
acks. The lanes share the key and the partition count, and their dedupe keys never meet (a
message, its retries and its `message.any` twin share a lane), so each lane keeps a book of its
own per partition of cobranca.conversations.

Each WahaCallbackReceived becomes InboundMessage / DeliveryStatusChanged / SessionStatusChanged:
the WAHA connector reads the callback's body (connectors/waha/normalize.py) and the pure rules
decide (streams/domain/normalization.py), deduplicated against the partition's ConversationBook
and linked to the request it answers through the table of dispatched messages, followed from
cobranca.dispatches on the side (MessageDispatched is the ledger's input too: read, never
subscribed; ADR 0001). Outputs keep the callback's key and partition.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any, Final, cast

import faust
from faust.streams import current_event

from connectors.waha.errors import WahaError
from connectors.waha.normalize import WAHA_IDS, read_webhook
from schemas.events import DeliveryStatusChanged, Event, WahaCallbackReceived
from streams.base.settings import Settings
from streams.base.topics import CONVERSATIONS, DEAD_LETTERS, DISPATCHES
from streams.domain import normalization
from streams.domain.errors import InvalidAck
from streams.runtime import processing
from streams.runtime.channels import Channels
from streams.runtime.dead_letters import dead_letter_for
from streams.runtime.follower import TopicFollower
from streams.runtime.state import PartitionState
from streams.runtime.transport import SourcePartitionTransactions

__all__ = ["LINK_WAIT_S", "NormalizerAgent", "report_deliveries"]

LINK_WAIT_S: Final = 15.0
"""How long after its webhook came in an ack may wait for its MessageDispatched to commit."""


class NormalizerAgent:
    """The body of the `normalizer` agent (built by streams/agents/worker.py)."""

    def __init__(self, app: faust.App, settings: Settings, channels: Channels) -> None:
        self.app = app
        self.channels = channels
        self.links = normalization.DispatchLinks(WAHA_IDS)
        self.bootstrap = settings.kafka_bootstrap
        self.dispatches = TopicFollower(settings.kafka_bootstrap, DISPATCHES.name, self.links.apply)

    async def follow_dispatches(self) -> None:
        """Which request each dispatched WAHA message answers (a task of the worker)."""
        await self.dispatches.run()

    def lane(self, name: str) -> Callable[[faust.StreamT[Any]], Awaitable[None]]:
        """The body of one lane's agent, with its own books: two lanes never wait for, nor
        race, each other's rebuild of a partition."""
        books: PartitionState[normalization.ConversationBook] = PartitionState(
            self.app,
            name,
            bootstrap=self.bootstrap,
            topics=(CONVERSATIONS,),
            initial=partial(normalization.ConversationBook, WAHA_IDS),
            apply=normalization.ConversationBook.apply,
        )

        async def run(stream: faust.StreamT[Any]) -> None:
            await self._run(stream, books)

        return run

    async def _run(
        self,
        stream: faust.StreamT[Any],
        books: PartitionState[normalization.ConversationBook],
    ) -> None:
        """WahaCallbackReceived → InboundMessage / DeliveryStatusChanged / SessionStatusChanged,
        deduplicated and linked to requests, in the callback's partition under its key."""
        await self.dispatches.ready.wait()
        conversations = self.channels[CONVERSATIONS]
        async for event in processing.events(stream):
            if not isinstance(event, WahaCallbackReceived):
                continue
            partition = processing.current_partition()
            book = await books.of(partition)
            try:
                reading = read_webhook(event.body, source=f"callback {event.header.event_id}")
                outcome = normalization.handle(book, self.links, event, reading)
                if outcome.unlinked:
                    linked = await self._linked(book, event, reading, outcome)
                    if linked is None:
                        continue  # a rebalance took the partition: its next owner redoes it
                    outcome = linked
            except (WahaError, InvalidAck) as exc:
                await self._dead_letter(exc, event)
                continue
            key = processing.current_key() or event.header.tenant_id.encode()
            for out in outcome.events:
                book.apply(out)
                await conversations.send(key=key, value=out, partition=partition)
            report_deliveries(self.app, outcome.events)

    async def _linked(
        self,
        book: normalization.ConversationBook,
        callback: WahaCallbackReceived,
        reading: normalization.CallbackReading,
        outcome: normalization.Outcome,
    ) -> normalization.Outcome | None:
        """The outcome again once the follower has caught up with the dispatches.

        WAHA acknowledges a message within milliseconds of accepting it, before the transaction
        that holds its MessageDispatched commits (every commit interval): an ack waits for that
        commit, up to LINK_WAIT_S after the webhook came in (a backlog of old callbacks does not
        wait), with its event released from the commit cut, since the commit it waits for is
        this worker's own. A reply gets one catch-up: a chat may write first, and acks of the
        send it answers (same chat, same partition, earlier) have usually waited already. None:
        a rebalance began during the wait, so the event is abandoned (streams/runtime/transport.py).
        """
        app = self.app
        # Dispatches committed before the webhook came in are what a first look can answer.
        if not await self.dispatches.catch_up(callback.received_at.timestamp()):
            return outcome
        outcome = normalization.handle(book, self.links, callback, reading)
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
                if await self.dispatches.catch_up():
                    outcome = normalization.handle(book, self.links, callback, reading)
        if (
            app.rebalancing
            or app.rebalancing_count != rebalances
            or app.should_stop
            or not transactions.is_admitted(message)
        ):
            transactions.abandon(message)
            return None
        return outcome

    async def _dead_letter(self, error: Exception, callback: WahaCallbackReceived) -> None:
        message = current_event().message  # type: ignore[union-attr]
        original = processing.current_value_bytes() or callback.body
        await self.channels[DEAD_LETTERS].send(
            key=message.topic.encode(), value=dead_letter_for(message, error, original)
        )


def report_deliveries(app: Any, sent: Iterable[Event]) -> None:
    """The DeliveryStatusChanged among `sent`, by ack name, to the sensors that count them
    (`PrometheusSensor.on_deliveries`)."""
    counts = Counter(e.ack_name for e in sent if isinstance(e, DeliveryStatusChanged))
    if not counts:
        return
    for sensor in app.sensors:
        if (report := getattr(sensor, "on_deliveries", None)) is not None:
            report(counts)
