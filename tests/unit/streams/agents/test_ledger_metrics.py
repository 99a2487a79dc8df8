"""What the ledger agent tells the metrics: its ledger events by type, BalanceLow among them;
its send decisions by outcome and reason; the tokens it moves."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from types import SimpleNamespace

from streams.agents import ledger as ledger_agent
from streams.domain.ledger import LedgerBook, LedgerPolicy
from streams.runtime.metrics import PrometheusSensor
from tests.factories import credit_requested, dispatch_failed, send_requested

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def test_a_batch_tallies_its_ledger_events_and_the_sensor_counts_them() -> None:
    book = LedgerBook()
    outbox = ledger_agent.Outbox()
    policy = LedgerPolicy(low_balance_threshold=2)
    for event in [
        credit_requested("acme", 3),
        send_requested("acme", "r1"),  # 3 -> 2
        send_requested("acme", "r2"),  # 2 -> 1: crosses below 2
        send_requested("acme", "r3"),  # 1 -> 0: already below, no second BalanceLow
    ]:
        ledger_agent.handle(book, event, lambda tenant: policy, NOW, outbox)
    assert outbox.ledger_events == Counter(
        {"TokensCredited": 1, "TokensDebited": 3, "BalanceLow": 1}
    )

    sensor = PrometheusSensor()
    app = SimpleNamespace(sensors=[object(), sensor])  # sensors without the hook are skipped
    ledger_agent.report_ledger_events(app, outbox.ledger_events)
    value = sensor.registry.get_sample_value
    assert value("cobranca_ledger_events_total", {"event_type": "BalanceLow"}) == 1
    assert value("cobranca_ledger_events_total", {"event_type": "TokensDebited"}) == 3


def test_a_batch_tallies_sends_by_outcome_and_tokens_by_movement() -> None:
    book = LedgerBook()
    outbox = ledger_agent.Outbox()
    policy = LedgerPolicy(low_balance_threshold=0)
    for event in [
        credit_requested("acme", 2),
        send_requested("acme", "r1"),  # 2 -> 1
        send_requested("acme", "r2"),  # 1 -> 0
        send_requested("acme", "r3"),  # rejected: no tokens
        dispatch_failed("acme", "r1", retryable=False),  # refunds r1's token
    ]:
        ledger_agent.handle(book, event, lambda tenant: policy, NOW, outbox)
    assert outbox.sends == Counter(
        {("approved", "none"): 2, ("rejected", "insufficient_tokens"): 1}
    )
    assert outbox.tokens == Counter({"credited": 2, "debited": 2, "refunded": 1})

    sensor = PrometheusSensor()
    app = SimpleNamespace(sensors=[object(), sensor])
    ledger_agent.report(app, outbox)
    value = sensor.registry.get_sample_value
    assert value("cobranca_sends_decided_total", {"outcome": "approved", "reason": "none"}) == 2
    rejected = {"outcome": "rejected", "reason": "insufficient_tokens"}
    assert value("cobranca_sends_decided_total", rejected) == 1
    assert value("cobranca_ledger_tokens_total", {"movement": "debited"}) == 2
    assert value("cobranca_ledger_tokens_total", {"movement": "refunded"}) == 1
    assert value("cobranca_ledger_tokens_total", {"movement": "credited"}) == 2
    assert value("cobranca_ledger_events_total", {"event_type": "TokensDebited"}) == 2
