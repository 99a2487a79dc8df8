"""The conversation agent: replies in, intents, actions and replies out, exactly once.

It consumes cobranca.conversations (InboundMessage from the WAHA normalizer, HandoffResolved
from operators) and cobranca.conversations.debts (DebtIndexed from the régua), co-partitioned
by `tenant_id:chat_key` (streams/domain/chat_keys.py), as one stream: no other agent reads them.

Per batch (`processing.batches`: up to BATCH_MAX events or BATCH_WITHIN seconds, admitted as a
whole), the texts to classify go to the classifier in one call on a thread, so the event loop
keeps the group's heartbeats while the model runs; then each event, in order, goes through the
pure policy (streams/domain/reply_policy.py) against its partition's ConversationBook, and what the
policy returns is sent in the transaction of that event's partition:

- IntentClassified → cobranca.intents, ConversationStateChanged → cobranca.conversations.state,
  both keyed tenant_id:chat_key on the input's partition: the agent's state
  (streams/runtime/state.py);
- actions → cobranca.actions and replies (SendRequested) → cobranca.sends.requested, keyed by
  tenant, for the ledger.

The classifier comes from `streams.agents.classifier.classifier_factory()`, loaded on the first
message that needs it (a worker that never sees one never loads a model).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import faust
import structlog

from schemas.events import (
    ConversationStateChanged,
    DebtIndexed,
    Event,
    HandoffResolved,
    InboundMessage,
    IntentClassified,
)
from streams.agents.classifier import classifier_factory
from streams.base.settings import Settings
from streams.base.topics import CONVERSATION_DEBTS, CONVERSATION_STATE, INTENTS
from streams.domain.chat_keys import record_key
from streams.domain.intent import (
    LABELS,
    Classification,
    ClassifierFactory,
    IntentClassifier,
    Reading,
)
from streams.domain.reply_policy import (
    ConversationBook,
    Outcome,
    handle_message,
    handle_resolution,
    should_classify,
)
from streams.runtime import processing
from streams.runtime.channels import Channels
from streams.runtime.state import PartitionState

log = structlog.get_logger(__name__)

BATCH_MAX: Final = 32
"""Messages classified in one call at most (the model's batch size)."""
BATCH_WITHIN: Final = 0.2
"""Seconds a batch waits to fill: the latency a lone message pays for batching."""


class LazyClassifier:
    """The classifier, loaded once: by `load_now` before the worker joins its group, else on a
    thread when first needed."""

    def __init__(self, factory: Callable[[], ClassifierFactory]) -> None:
        """`factory` names the factory when first needed, so one set at startup applies."""
        self._factory = factory
        self._classifier: IntentClassifier | None = None
        self._lock = asyncio.Lock()

    def load_now(self) -> IntentClassifier:
        """Load it here and now. The worker does this before it starts: a model loading beside
        running agents (torch's imports hold the GIL) starved the event loop of heartbeats and
        commits until the broker fenced the worker's transactions."""
        if self._classifier is None:
            began = time.monotonic()
            self._classifier = self._factory()()
            log.info(
                "classifier_loaded",
                version=self._classifier.version,
                threshold=self._classifier.threshold,
                seconds=round(time.monotonic() - began, 1),
            )
        return self._classifier

    async def get(self) -> IntentClassifier:
        async with self._lock:
            if self._classifier is None:
                factory = self._factory()
                self._classifier = await asyncio.to_thread(factory)
                log.info(
                    "classifier_loaded",
                    version=self._classifier.version,
                    threshold=self._classifier.threshold,
                )
            return self._classifier


def readings(raw: Sequence[Reading], expected: int) -> list[Classification]:
    """The classifier's answers, checked: one per text, a known label, a probability."""
    if len(raw) != expected:
        raise RuntimeError(f"the classifier answered {len(raw)} readings for {expected} texts")
    out = []
    for reading in raw:
        label, confidence = (
            reading if isinstance(reading, tuple) else (reading.label, reading.confidence)
        )
        if label not in LABELS:
            log.warning("unknown_intent_label", label=label)
            label, confidence = "other", 0.0  # below any threshold: a person looks at it
        out.append(Classification(label, min(max(float(confidence), 0.0), 1.0)))
    return out


async def classify(
    classifier: LazyClassifier, messages: Sequence[InboundMessage]
) -> tuple[list[Classification], str, float]:
    """Readings of the messages' texts, the model version and its threshold."""
    model = await classifier.get()
    texts = [m.body or "" for m in messages]
    raw = await asyncio.to_thread(model.classify, texts) if texts else []
    return readings(raw, len(texts)), model.version, model.threshold


class ConversationAgent:
    """The body of the `conversation` agent (built by streams/agents/worker.py)."""

    def __init__(self, app: faust.App, settings: Settings, channels: Channels) -> None:
        self.channels = channels
        self.books: PartitionState[ConversationBook] = PartitionState(
            app,
            "conversation",
            bootstrap=settings.kafka_bootstrap,
            topics=(CONVERSATION_DEBTS, CONVERSATION_STATE, INTENTS),
            initial=ConversationBook,
            apply=ConversationBook.apply,
        )
        # The factory is looked up on the first message, so one set at startup (the model)
        # applies.
        self.classifier = LazyClassifier(classifier_factory)

    async def run(self, stream: faust.StreamT[Any]) -> None:
        await run(stream, self.books, self.classifier, self.channels)


async def run(
    stream: faust.StreamT[Any],
    books: PartitionState[ConversationBook],
    classifier: LazyClassifier,
    channels: Channels,
) -> None:
    """The agent's loop (see the module docstring)."""
    async for batch in processing.batches(stream, BATCH_MAX, BATCH_WITHIN):
        intents: Counter[str] = Counter()
        to_classify = [
            d.event
            for d in batch
            if isinstance(d.event, InboundMessage) and should_classify(d.event)
        ]
        found: dict[int, Classification] = {}
        version, threshold = "", 1.0
        if to_classify:
            results, version, threshold = await classify(classifier, to_classify)
            found = {id(m): r for m, r in zip(to_classify, results, strict=True)}
        for delivered in batch:
            if not processing.still_ours(delivered):
                continue  # revoked while the batch was classified: its new owner handles it
            event = delivered.event
            with processing.handling(delivered):
                book = await books.of(delivered.partition)
                now = datetime.now(UTC)
                if isinstance(event, DebtIndexed):
                    book.apply(event)  # lookup data: applying it twice is harmless
                    continue
                if isinstance(event, InboundMessage) and id(event) in found:
                    outcome = handle_message(
                        book,
                        event,
                        found[id(event)],
                        model_version=version,
                        threshold=threshold,
                        now=now,
                    )
                elif isinstance(event, HandoffResolved):
                    outcome = handle_resolution(book, event, now=now)
                else:
                    continue  # delivery and session statuses, groups, own messages
                await emit(channels, outcome, delivered.partition)
                intents.update(intent_labels(outcome.events))
        report(books.app, intents, sum(book.open_handoffs for book in books.held()))


def intent_labels(events: Iterable[Event]) -> Iterable[str]:
    """The labels of the IntentClassified among `events`."""
    return (e.label for e in events if isinstance(e, IntentClassified))


def report(app: Any, intents: Counter[str], open_handoffs: int) -> None:
    """A batch's classifications by label and the hand-offs open in the state this worker holds,
    to the sensors that count them (`PrometheusSensor.on_intents`, `on_open_handoffs`)."""
    for sensor in app.sensors:
        if intents and (on_intents := getattr(sensor, "on_intents", None)) is not None:
            on_intents(intents)
        if (on_open := getattr(sensor, "on_open_handoffs", None)) is not None:
            on_open(open_handoffs)


async def emit(channels: Channels, outcome: Outcome, partition: int) -> None:
    """Send an outcome: the agent's state on the input's partition, the rest by tenant."""
    events: list[Event] = list(outcome.events)
    if outcome.state is not None:
        events.append(outcome.state)
    for event in events:
        tenant = event.header.tenant_id
        channel = channels.for_event(event.header.event_type)
        if isinstance(event, IntentClassified):
            key = record_key(tenant, event.chat_id)
            await channel.send(key=key, value=event, partition=partition)
        elif isinstance(event, ConversationStateChanged):
            key = record_key(tenant, event.chat_key)
            await channel.send(key=key, value=event, partition=partition)
        else:
            await channel.send(key=tenant.encode(), value=event)
    if outcome.events:
        log.info(
            "conversation_outcome",
            events=[e.header.event_type for e in outcome.events],
            partition=partition,
        )
