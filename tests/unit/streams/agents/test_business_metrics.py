"""What the normalizer and the conversation agent tell the metrics: acks by name, intents by
label, and the hand-offs open in the state a worker holds, kept by the book's own fold."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from schemas.events import Event, HandoffRequested, InboundMessage
from streams.agents import conversation, normalizer
from streams.domain.intent import Classification
from streams.domain.reply_policy import (
    ConversationBook,
    Outcome,
    fold,
    handle_message,
    handle_resolution,
)
from streams.runtime.metrics import PrometheusSensor
from tests.factories import (
    delivery_status_changed,
    handoff_resolved,
    inbound_message,
    intent_classified,
)

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def _app() -> tuple[SimpleNamespace, PrometheusSensor]:
    sensor = PrometheusSensor()
    return SimpleNamespace(sensors=[object(), sensor]), sensor  # hookless sensors are skipped


def test_the_normalizer_reports_the_acks_it_sent_by_name() -> None:
    app, sensor = _app()
    sent = [
        delivery_status_changed("acme", ack=1, message_id="m1"),
        delivery_status_changed("acme", ack=3, message_id="m1"),
        inbound_message("acme"),  # not an ack: not counted
    ]
    normalizer.report_deliveries(app, sent)
    normalizer.report_deliveries(app, [delivery_status_changed("acme", ack=3, message_id="m2")])
    normalizer.report_deliveries(app, [])
    value = sensor.registry.get_sample_value
    assert value("cobranca_delivery_statuses_total", {"ack": "SERVER"}) == 1
    assert value("cobranca_delivery_statuses_total", {"ack": "READ"}) == 2


def test_the_conversation_agent_reports_intents_and_open_handoffs() -> None:
    app, sensor = _app()
    events = [intent_classified("acme", label="dispute"), inbound_message("acme")]
    intents = Counter(conversation.intent_labels(events))
    conversation.report(app, intents, 4)
    conversation.report(app, Counter(), 3)
    value = sensor.registry.get_sample_value
    assert value("cobranca_intents_classified_total", {"intent": "dispute"}) == 1
    assert value("cobranca_open_handoffs", {}) == 3


def test_the_book_counts_open_handoffs_and_a_rebuild_finds_the_same() -> None:
    book = ConversationBook()
    log: list[Event] = []  # what the agent writes: its state is a fold of it

    def kept(outcome: Outcome) -> Outcome:
        log.extend(outcome.events)
        if outcome.state is not None:
            log.append(outcome.state)
        return outcome

    def message(event: InboundMessage) -> Outcome:
        unsure = Classification("promise_to_pay", 0.1)  # below the threshold: a person looks
        return kept(handle_message(book, event, unsure, model_version="v", threshold=0.5, now=NOW))

    first = message(inbound_message("acme"))
    message(inbound_message("acme", phone="+5511900000000", message_id="false_x@c.us_IN2"))
    assert book.open_handoffs == 2
    # A second message in a chat with an open hand-off opens no other.
    message(inbound_message("acme", message_id="false_5511987654321@c.us_IN9"))
    assert book.open_handoffs == 2
    handoff = next(e for e in first.events if isinstance(e, HandoffRequested))
    resolution = handoff_resolved("acme", handoff.header.event_id)
    assert kept(handle_resolution(book, resolution, now=NOW)).state is not None
    assert book.open_handoffs == 1
    kept(handle_resolution(book, resolution, now=NOW))
    assert book.open_handoffs == 1  # resolved once
    assert fold(log).open_handoffs == 1  # the rebuild after a restart finds the same
    assert fold(log + log).open_handoffs == 1  # applying twice is harmless
