"""The raw tables and every view, fed with factory events exactly as the sink feeds them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse.batches import Batch
from connectors.clickhouse.raw_tables import RAW_TABLES
from connectors.clickhouse.replay import refresh_views
from schemas.codec import FAUST_KEY, decode, encode
from schemas.events import Event, SendKind, SendRejectReason
from schemas.registry import default_registry
from streams.base.topics import CATALOGUE, WAHA_MESSAGES, TopicKind
from tests import factories as f
from tests.integration.clickhouse.events import PSEUDONYMS, WRITER, FakeLog, scalar, sink
from tests.unit.schemas.avro_data import wire_bytes

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)  # 10:00 in Sao Paulo
LATE = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)  # 23:30 on Nov 20 in Sao Paulo
NEXT_MONTH = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
PHONE = "+5511987654321"


def every_event_type() -> list[Event]:
    return [
        f.client_imported("acme", 1, phone=PHONE, at=T0),
        f.import_rejected("acme", 2, at=T0),
        f.import_completed("acme", at=T0),
        f.send_requested("acme", "r1", phone=PHONE, step="D-3", at=T0),
        f.send_deferred("acme", "r2", at=T0),
        f.credit_requested("acme", 100),
        f.tokens_credited("acme", 100, balance_after=100, at=T0),
        f.send_approved("acme", "r1", balance_after=99, phone=PHONE, at=T0),
        f.send_rejected("acme", "r3", at=T0),
        f.tokens_debited("acme", "r1", 1, balance_after=99, at=T0),
        f.tokens_refunded("acme", "r1", 1, balance_after=100, at=T0),
        f.balance_low("acme", at=T0),
        f.message_dispatched("acme", "r1", phone=PHONE, at=T0),
        f.dispatch_failed("acme", "r4", retryable=False, at=T0),
        f.waha_callback_received("acme", phone=PHONE, at=T0),
        f.inbound_message("acme", phone=PHONE, at=T0),
        f.delivery_status_changed("acme", ack=2, phone=PHONE, message_id="m1", at=T0),
        f.session_status_changed("acme", at=T0),
        f.intent_classified("acme", phone=PHONE, at=T0),
        f.payment_promised("acme", "c1", at=T0),
        f.payment_claimed("acme", "c1", at=T0),
        f.opted_out("acme", phone=PHONE, at=T0),
        f.wrong_number_reported("acme", phone=PHONE, at=T0),
        f.handoff_requested("acme", phone=PHONE, at=T0),
        f.collection_paused("acme", "c1", at=T0),
        f.collection_resumed("acme", "c1", handoff_id="h1", at=T0),
        f.handoff_resolved("acme", "h1", phone=PHONE, at=T0),
        f.intent_corrected("acme", phone=PHONE, at=T0),
        f.dead_lettered("acme", at=T0),
        f.api_request_audited("acme", at=T0),
        f.webhook_attempted("acme", at=T0),
        f.webhook_dead_lettered("acme", at=T0),
    ]


def rows(client: Client, sql: str) -> list[tuple[object, ...]]:
    return [tuple(row) for row in client.query(sql).result_rows]


def test_every_event_type_lands_in_its_raw_table_with_typed_columns(
    client: Client, migrated: str
) -> None:
    events = every_event_type()
    sunk = {event for spec in CATALOGUE if spec.kind is TopicKind.AUDIT for event in spec.events}
    assert {e.header.event_type for e in events} == sunk
    log = FakeLog()
    sink(client, migrated, log.batches(events))
    # A debtor's message takes the webhooks' other lane, with the same typed columns.
    webhook = f.waha_callback_received("acme", phone=PHONE, at=T0)
    sink(client, migrated, log.batches([webhook], topic=WAHA_MESSAGES.name))
    events.append(webhook)
    assert rows(
        client, f"SELECT session, received_at, event_id FROM {migrated}.raw_waha_messages"
    ) == [(webhook.session, webhook.received_at, webhook.header.event_id)]
    total = sum(
        int(scalar(client, f"SELECT count() FROM {migrated}.{t}")) for t in RAW_TABLES.values()
    )
    assert total == len(events)
    p = PSEUDONYMS.phone(PHONE)
    assert rows(
        client,
        f"SELECT request_id, step, kind, phone_e164, recipients "
        f"FROM {migrated}.raw_sends_requested WHERE event_type = 'SendRequested'",
    ) == [("r1", "D-3", "TEXT", p, 1)]
    assert rows(
        client,
        f"SELECT chat_id, sender, ack, timestamp IS NOT NULL FROM {migrated}.raw_conversations "
        "WHERE event_type = 'InboundMessage'",
    ) == [(p, p, None, True)]
    assert rows(client, f"SELECT label, confidence, promised_date FROM {migrated}.raw_intents") == [
        ("promise_to_pay", 0.875, date(2026, 12, 4))
    ]
    assert rows(
        client, f"SELECT topic, partition, offset, error_type FROM {migrated}.raw_dead_letters"
    ) == [("cobranca.clients", 0, 7, "schemas.errors.UndecodableEvent")]
    assert rows(client, f"SELECT by_reason FROM {migrated}.raw_clients WHERE rows = 3") == [
        ({"invalid_phone": 1},)
    ]
    # raw_events: every topic's events with the columns they share.
    per_topic = dict(
        rows(client, f"SELECT topic, count() FROM {migrated}.raw_events GROUP BY topic")
    )
    assert sum(per_topic.values()) == len(events) and len(per_topic) == len(RAW_TABLES)


def test_no_phone_document_name_or_text_reaches_clickhouse(client: Client, migrated: str) -> None:
    sink(client, migrated, FakeLog().batches(every_event_type()))
    secrets = ["5511987654321", "52998224725", "529.982.247-25", "maria", "vou pagar", "10.0.0.7"]
    for table in RAW_TABLES.values():
        text = " ".join(
            str(value)
            for row in rows(
                client, f"SELECT * EXCEPT (occurred_at, ingested_at) FROM {migrated}.{table}"
            )
            for value in row
        )
        for secret in secrets:
            assert secret not in text, (table, secret)
    # The mask keeps the diagnostics readable without the number.
    assert rows(client, f"SELECT error FROM {migrated}.raw_dead_letters") == [
        ("schema id 7 is not pinned; phone 55119****21",)
    ]


def test_client_imported_without_a_document_has_null_document_columns(
    client: Client, migrated: str
) -> None:
    # given ClientImported v1 bytes (a document always), and v2 with and without one (issue 15)
    v1 = default_registry().versions("cobranca.events.ClientImported")[0]
    old = decode(encode(f.client_imported("acme", 1, at=T0).to_representation()))
    del old[FAUST_KEY]
    old["header"]["schema_version"] = 1
    values = [
        wire_bytes(v1.schema_id, v1.parsed, old),
        encode(f.client_imported("acme", 2, at=T0).to_representation()),
        encode(f.client_imported("acme", 3, at=T0, document=None).to_representation()),
    ]
    frames = [WRITER.frame(offset, value) for offset, value in enumerate(values)]
    assert all(frame is not None for frame in frames)

    # when the sink inserts them in one batch
    sink(client, migrated, [Batch("cobranca.clients", 0, 0, 3, frames)])  # type: ignore[arg-type]

    # then the document is a pseudonym where there was one, NULL where not
    p = PSEUDONYMS.pseudonym("52998224725")
    assert rows(
        client,
        f"SELECT client_id, schema_version, document, document_kind "
        f"FROM {migrated}.raw_clients ORDER BY client_id",
    ) == [("c000001", 1, p, "CPF"), ("c000002", 2, p, "CPF"), ("c000003", 2, None, None)]
    payload = str(scalar(client, f"SELECT payload FROM {migrated}.raw_clients WHERE row = 4"))
    assert '"document":null' in payload and '"document_kind":null' in payload


def test_billing_per_day_and_month_sends_by_kind_and_current_balance(
    client: Client, migrated: str
) -> None:
    log = FakeLog()
    events = [
        f.tokens_credited("acme", 100, balance_after=100, at=T0),
        f.tokens_debited("acme", "r1", 1, balance_after=99, at=T0 + timedelta(minutes=1)),
        f.send_approved("acme", "r1", balance_after=99, at=T0 + timedelta(minutes=1)),
        f.tokens_debited("acme", "r2", 2, balance_after=97, at=LATE),
        f.send_approved("acme", "r2", kind=SendKind.FILE, price=2, balance_after=97, at=LATE),
        f.tokens_refunded("acme", "r2", 2, balance_after=99, at=NEXT_MONTH),
        f.tokens_credited("globex", 10, balance_after=10, at=T0),
        f.balance_low("acme", balance=5, at=NEXT_MONTH),
    ]
    sink(client, migrated, log.batches(events))
    assert rows(
        client,
        f"SELECT tenant_id, day, sum(credited), sum(debited), sum(refunded), sum(debits) "
        f"FROM {migrated}.billing_daily GROUP BY tenant_id, day ORDER BY tenant_id, day",
    ) == [
        ("acme", date(2026, 11, 20), 100, 3, 0, 2),  # 23:30 in Sao Paulo is still the 20th
        ("acme", date(2026, 12, 1), 0, 0, 2, 0),
        ("globex", date(2026, 11, 20), 10, 0, 0, 0),
    ]
    assert rows(
        client,
        f"SELECT toStartOfMonth(day) AS month, sum(credited) - sum(debited) + sum(refunded) "
        f"FROM {migrated}.billing_daily WHERE tenant_id = 'acme' GROUP BY month ORDER BY month",
    ) == [(date(2026, 11, 1), 97), (date(2026, 12, 1), 2)]
    assert rows(
        client,
        f"SELECT kind, sum(sends), sum(tokens) FROM {migrated}.billing_sends_daily "
        "WHERE tenant_id = 'acme' GROUP BY kind ORDER BY kind",
    ) == [("FILE", 1, 2), ("TEXT", 1, 1)]
    assert rows(
        client,
        f"SELECT tenant_id, balance, ledger_movements FROM {migrated}.tenant_balances "
        "ORDER BY tenant_id",
    ) == [("acme", 99, 4), ("globex", 10, 1)]


def funnel_events() -> list[Event]:
    stories = [
        f.send_story("acme", "s1", at=T0, reached="replied"),
        f.send_story("acme", "s2", at=T0, reached="read"),
        f.send_story("acme", "s3", at=T0, reached="delivered"),
        f.send_story("acme", "s4", at=T0, reached="approved"),
        f.send_story("acme", "s5", at=T0, reject=SendRejectReason.INSUFFICIENT_TOKENS),
        f.send_story("acme", "s6", at=T0, reject=SendRejectReason.OPTED_OUT),
        f.send_story("acme", "s7", at=T0, step="D0", reached="dispatched"),
        f.send_story("acme", "s8", at=NEXT_MONTH, reached="requested"),
    ]
    events = [event for story in stories for event in story]
    events.append(f.send_deferred("acme", "s4", at=T0))
    # A repeated request is rejected as a duplicate even though the first was approved.
    events.append(f.send_rejected("acme", "s1", reason=SendRejectReason.DUPLICATE, at=T0))
    return events


FUNNEL = [
    # day, step, requested, approved, rejected, by reason, deferred, dispatched, delivered, read,
    # replied
    (
        date(2026, 11, 20),
        "D-3",
        6,
        4,
        3,
        {"duplicate": 1, "insufficient_tokens": 1, "opted_out": 1},
        1,
        3,
        3,
        2,
        1,
    ),
    (date(2026, 11, 20), "D0", 1, 1, 0, {}, 0, 1, 0, 0, 0),
    (date(2026, 12, 1), "D-3", 1, 0, 0, {}, 0, 0, 0, 0, 0),
]


def funnel(client: Client, database: str, table: str) -> list[tuple[object, ...]]:
    return rows(
        client,
        f"SELECT day, step, requested, approved, rejected, rejected_by_reason, deferred, "
        f"dispatched, delivered, read, replied FROM {database}.{table} "
        "WHERE tenant_id = 'acme' ORDER BY day, step",
    )


def test_delivery_funnel_per_step_and_day(client: Client, migrated: str) -> None:
    sink(client, migrated, FakeLog().batches(funnel_events()))
    assert funnel(client, migrated, "delivery_funnel_live") == FUNNEL
    refresh_views(client, migrated)
    assert funnel(client, migrated, "delivery_funnel") == FUNNEL


def test_the_funnel_does_not_depend_on_the_order_topics_arrive_in(
    client: Client, migrated: str
) -> None:
    # Replies, acks and dispatches sunk before the requests that caused them (a replay reads
    # all topics side by side), each event in a batch of its own.
    log = FakeLog()
    batches = [batch for event in funnel_events() for batch in log.batches([event])]
    sink(client, migrated, reversed(batches))
    assert funnel(client, migrated, "delivery_funnel_live") == FUNNEL


def test_response_times_are_exact_quantiles_per_dispatch_day(client: Client, migrated: str) -> None:
    events = [
        event
        for n, reached in enumerate(["replied", "replied", "read", "dispatched"])
        for event in f.send_story("acme", f"q{n}", at=T0 + timedelta(hours=n), reached=reached)
    ]
    sink(client, migrated, FakeLog().batches(events))
    refresh_views(client, migrated)
    # send_story: dispatched at +2 min, read at +5 min, reply at +10 min.
    assert rows(
        client,
        f"SELECT day, dispatched, read, replied, dispatch_to_read_s, read_to_reply_s, "
        f"dispatch_to_reply_s FROM {migrated}.response_times WHERE tenant_id = 'acme'",
    ) == [(date(2026, 11, 20), 4, 3, 2, [180.0] * 3, [300.0] * 3, [480.0] * 3)]


def test_intents_with_mean_confidence_and_handoffs_by_reason(client: Client, migrated: str) -> None:
    events = [
        f.intent_classified("acme", label="promise_to_pay", confidence=0.9, at=T0),
        f.intent_classified("acme", label="promise_to_pay", confidence=0.7, at=T0),
        f.intent_classified("acme", label="dispute", confidence=0.55, at=T0),
        f.handoff_requested("acme", reason="dispute", at=T0),
        f.handoff_requested("acme", reason="low_confidence", at=T0),
        f.handoff_requested("acme", reason="dispute", at=LATE),
    ]
    sink(client, migrated, FakeLog().batches(events))
    assert rows(
        client,
        f"SELECT day, label, sum(classified), "
        f"round(sum(confidence_micros) / sum(classified) / 1e6, 4) FROM {migrated}.intents_daily "
        "WHERE tenant_id = 'acme' GROUP BY day, label ORDER BY label",
    ) == [(date(2026, 11, 20), "dispute", 1, 0.55), (date(2026, 11, 20), "promise_to_pay", 2, 0.8)]
    assert rows(
        client,
        f"SELECT reason, sum(handoffs) FROM {migrated}.handoffs_daily WHERE tenant_id = 'acme' "
        "GROUP BY reason ORDER BY reason",
    ) == [("dispute", 2), ("low_confidence", 1)]


def test_promises_say_whether_a_payment_claim_followed(client: Client, migrated: str) -> None:
    events = [
        f.payment_promised("acme", "c1", amount=15_000, promised_date=date(2026, 12, 4), at=T0),
        f.payment_claimed("acme", "c1", at=T0 + timedelta(days=2)),
        f.payment_promised("acme", "c2", amount=None, promised_date=None, at=T0),
        f.payment_claimed("acme", "c2", at=T0 - timedelta(days=1)),  # before: does not count
        f.payment_promised("globex", "c1", amount=500, at=T0),  # another tenant's client c1
    ]
    sink(client, migrated, FakeLog().batches(events))
    assert rows(
        client,
        f"SELECT tenant_id, client_id, amount_centavos, promised_date, claimed, claimed_at "
        f"FROM {migrated}.promise_outcomes ORDER BY tenant_id, client_id",
    ) == [
        ("acme", "c1", 15_000, date(2026, 12, 4), True, T0 + timedelta(days=2)),
        ("acme", "c2", None, None, False, None),
        ("globex", "c1", 500, date(2026, 12, 4), False, None),
    ]


def test_a_retried_batch_changes_no_row_and_no_aggregate(client: Client, migrated: str) -> None:
    log = FakeLog()
    batches = log.batches(funnel_events() + every_event_type())
    sink(client, migrated, batches)
    before = snapshot(client, migrated)
    sink(client, migrated, batches)  # a crash after insert, before commit: same ranges again
    sink(client, migrated, reversed(batches))
    assert snapshot(client, migrated) == before


def snapshot(client: Client, database: str) -> dict[str, object]:
    from connectors.clickhouse.replay import VIEW_CHECKS

    refresh_views(client, database)
    state: dict[str, object] = {
        table: scalar(client, f"SELECT count() FROM {database}.{table}")
        for table in RAW_TABLES.values()
    }
    for name, sql in VIEW_CHECKS.items():
        state[name] = sorted(map(repr, rows(client, sql.format(db=database))))
    return state
