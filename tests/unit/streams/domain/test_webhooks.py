"""Tenant webhooks' pure rules: kinds, URLs, subscriptions and their fold, the payload, the
signature, the retry schedule and the fold of attempts into pending retries."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from schemas.events import WebhookAttempted, WebhookDeadLettered
from streams.domain.errors import InvalidWebhook
from streams.domain.webhooks import (
    DeliveryBook,
    Kind,
    RetryPolicy,
    Subscription,
    SubscriptionBook,
    body_of,
    check_url,
    delivery_of,
    kind_of,
    parse_kinds,
    record_attempt,
    request_headers,
    sign,
    subscribe,
    unsubscribe,
    verify,
)
from tests import factories as f

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SECRET = "whsec_test_secret_0123456789abcdefghij"


def _sub(tenant: str = "acme", kinds: frozenset[Kind] = frozenset(Kind)) -> Subscription:
    event = subscribe(
        "whs_1", tenant, "https://hooks.example.com/in", kinds, SECRET, actor="user:u1", now=T0
    )
    return Subscription.of(event)


# --- which events are delivered as which kinds ---------------------------------------------


def test_each_source_event_maps_to_its_kind() -> None:
    assert kind_of(f.delivery_status_changed("acme", ack=2, message_id="m1")) is Kind.SEND_DELIVERED
    assert kind_of(f.delivery_status_changed("acme", ack=3, message_id="m1")) is Kind.SEND_READ
    assert kind_of(f.delivery_status_changed("acme", ack=4, message_id="m1")) is Kind.SEND_READ
    assert kind_of(f.delivery_status_changed("acme", ack=1, message_id="m1")) is None
    assert kind_of(f.dispatch_failed("acme", "r1", retryable=False)) is Kind.SEND_FAILED
    assert kind_of(f.dispatch_failed("acme", "r1", retryable=True)) is None
    assert kind_of(f.balance_low("acme")) is Kind.BALANCE_LOW
    assert kind_of(f.handoff_requested("acme")) is Kind.HANDOFF_OPENED
    assert kind_of(f.import_completed("acme")) is Kind.IMPORT_COMPLETED
    assert kind_of(f.dead_lettered("acme")) is None


def test_parse_kinds_refuses_unknown_and_empty() -> None:
    assert parse_kinds(["balance.low", "send.read"]) == {Kind.BALANCE_LOW, Kind.SEND_READ}
    with pytest.raises(InvalidWebhook, match="unknown event kind 'balance'"):
        parse_kinds(["balance"])
    with pytest.raises(InvalidWebhook, match="at least one"):
        parse_kinds([])


# --- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.com/in", "https://example.com:8443/a/b?token=x", "https://8.8.8.8/"],
)
def test_public_https_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://hooks.example.com/in", "https://"),
        ("ftp://hooks.example.com/in", "https://"),
        ("https:///path", "host"),
        ("https://user:pw@hooks.example.com/", "credentials"),
        ("https://hooks.example.com/#x", "fragment"),
        ("https://127.0.0.1/in", "public host"),
        ("https://localhost/in", "public host"),
        ("https://10.0.0.7/in", "public host"),
        ("https://169.254.169.254/latest/meta-data", "public host"),
        ("https://[::1]/in", "public host"),
        ("https://a.b/" + "x" * 3000, "characters"),
        ("", "characters"),
        ("https://hooks.example.com:99999/", "not valid"),
    ],
)
def test_unsafe_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(InvalidWebhook, match=why) as raised:
        check_url(url)
    assert raised.value.field == "url"


def test_loopback_http_only_when_allowed() -> None:
    with pytest.raises(InvalidWebhook):
        check_url("http://127.0.0.1:8999/hook")
    assert check_url("http://127.0.0.1:8999/hook", loopback_http=True)
    assert check_url("http://localhost:8999/hook", loopback_http=True)
    with pytest.raises(InvalidWebhook):
        check_url("http://10.0.0.1/hook", loopback_http=True)


# --- subscriptions -------------------------------------------------------------------------


def test_subscribe_and_unsubscribe_carry_the_whole_subscription() -> None:
    created = subscribe(
        "whs_1",
        "acme",
        "https://hooks.example.com/in",
        {Kind.BALANCE_LOW},
        SECRET,
        actor="user:u1",
        now=T0,
    )
    assert (created.change, created.tenant, created.kinds, created.active) == (
        "created",
        "acme",
        ["balance.low"],
        True,
    )
    assert created.secret == SECRET and created.header.tenant_id == "acme"
    deleted = unsubscribe(Subscription.of(created), actor="user:u2", now=T0)
    assert (deleted.change, deleted.active, deleted.secret, deleted.actor) == (
        "deleted",
        False,
        SECRET,
        "user:u2",
    )
    with pytest.raises(InvalidWebhook, match="already deleted"):
        unsubscribe(Subscription.of(deleted), actor="user:u2", now=T0)
    with pytest.raises(InvalidWebhook, match="secret"):
        subscribe("w", "acme", "https://a.example/", {Kind.BALANCE_LOW}, "short", actor="a", now=T0)
    assert SECRET not in repr(Subscription.of(created))


def test_the_book_keeps_deleted_subscriptions_deleted_and_filters_by_tenant_and_kind() -> None:
    book = SubscriptionBook()
    created = subscribe(
        "whs_1", "acme", "https://a.example/", {Kind.BALANCE_LOW}, SECRET, actor="a", now=T0
    )
    other = subscribe(
        "whs_2", "beta", "https://b.example/", {Kind.BALANCE_LOW}, SECRET, actor="a", now=T0
    )
    deleted = unsubscribe(Subscription.of(created), actor="a", now=T0)
    for event in (created, other, deleted, created, other):
        book.apply(event)
    assert book.of_tenant("acme") == []
    low = f.balance_low("beta", at=T0)
    assert [s.subscription_id for s in book.wanting(low, Kind.BALANCE_LOW)] == ["whs_2"]
    assert book.wanting(low, Kind.SEND_READ) == []
    assert book.wanting(f.balance_low("acme", at=T0), Kind.BALANCE_LOW) == []
    # Events that occurred before the subscription are not delivered to it.
    assert book.wanting(f.balance_low("beta", at=T0 - timedelta(seconds=1)), Kind.BALANCE_LOW) == []
    assert book.get("whs_1") is not None and not book.get("whs_1").active  # type: ignore[union-attr]


# --- payload and signature -----------------------------------------------------------------


def test_the_body_masks_phones_and_carries_the_event_id() -> None:
    event = f.delivery_status_changed("acme", ack=2, message_id="m1", request_id="r1", at=T0)
    body = body_of(event, Kind.SEND_DELIVERED)
    payload = json.loads(body)
    assert payload["id"] == event.header.event_id
    assert payload["kind"] == "send.delivered" and payload["tenant"] == "acme"
    assert payload["occurred_at"] == "2026-12-07T12:00:00.000Z"
    assert payload["data"]["chat"] == "55119****21@c.us"
    assert "5511987654321" not in body and "m1" not in body
    handoff = body_of(f.handoff_requested("acme"), Kind.HANDOFF_OPENED)
    assert "5511987654321" not in handoff
    assert body_of(event, Kind.SEND_DELIVERED) == body  # the same bytes every time
    failed = f.dispatch_failed("acme", "r1", retryable=False)
    failed.error = "number +55 11 98765-4321 is not on WhatsApp"
    data = json.loads(body_of(failed, Kind.SEND_FAILED))["data"]
    assert data["error"] == "number 55119****21 is not on WhatsApp"


def test_the_signature_matches_a_vector_computed_elsewhere() -> None:
    # printf '%s' '1700000000.{"id":"e1"}' | openssl dgst -sha256 -hmac "$SECRET"
    expected = "0d266cbc1afd0bb55462fc61e8960580619c6d1d980977419e7d4e47fed94acd"
    assert sign(SECRET, 1700000000, '{"id":"e1"}') == f"t=1700000000,v1={expected}"


def test_the_signature_equals_hmac_sha256_built_from_its_definition() -> None:
    # RFC 2104 by hand: H((K ^ opad) || H((K ^ ipad) || m)), K padded to 64 bytes.
    key = SECRET.encode().ljust(64, b"\0")
    message = b'1733572800.{"kind":"balance.low"}'
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    mac = hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()
    assert sign(SECRET, 1733572800, '{"kind":"balance.low"}') == f"t=1733572800,v1={mac}"


def test_verify_accepts_a_fresh_signature_and_refuses_everything_else() -> None:
    body = '{"id":"e1"}'
    header = sign(SECRET, 1000, body)
    assert verify(SECRET, header, body, now=1100)
    assert not verify(SECRET, header, body, now=1000 + 301)  # too old: a replay
    assert not verify(SECRET, header, body + " ", now=1000)
    assert not verify("another secret of enough length ........", header, body, now=1000)
    assert not verify(SECRET, "t=x,v1=00", body, now=1000)
    assert not verify(SECRET, "", body, now=1000)


def test_request_headers() -> None:
    headers = request_headers(SECRET, "ev-1", "balance.low", 3, "{}", 1000)
    assert headers["X-Cobranca-Event-Id"] == "ev-1"
    assert headers["X-Cobranca-Attempt"] == "3"
    assert headers["Content-Type"] == "application/json"
    assert verify(SECRET, headers["X-Cobranca-Signature"], "{}", now=1000)


# --- retries -------------------------------------------------------------------------------


def test_the_backoff_schedule_then_hourly_until_24_hours_after_the_event() -> None:
    policy = RetryPolicy()
    now = T0
    waits = []
    attempts = 0
    while True:
        attempts += 1
        due = policy.next_attempt_at(attempts, T0, now)
        if due is None:
            break
        waits.append(int((due - now).total_seconds()))
        now = due
    assert waits[:7] == [10, 30, 120, 600, 1800, 3600, 3600]
    assert set(waits[6:]) == {3600}
    assert now <= T0 + timedelta(hours=24) < now + timedelta(hours=1)
    assert attempts == len(waits) + 1 == 29  # 10 s … 1 h, then 23 hourly ones
    with pytest.raises(ValueError):
        policy.next_attempt_at(0, T0, T0)


def test_an_attempt_records_success_a_retry_or_the_dead_letter() -> None:
    sub = _sub()
    delivery = delivery_of(f.balance_low("acme", at=T0), sub, Kind.BALANCE_LOW)
    policy = RetryPolicy((timedelta(seconds=1),), timedelta(seconds=5))
    [ok] = record_attempt(delivery, 1, 204, None, now=T0, policy=policy)
    assert isinstance(ok, WebhookAttempted) and ok.delivered and ok.next_attempt_at is None
    [failed] = record_attempt(delivery, 1, 500, "HTTP 500", now=T0, policy=policy)
    assert not failed.delivered and failed.next_attempt_at == T0 + timedelta(seconds=1)
    [redirect] = record_attempt(delivery, 1, 302, "redirect", now=T0, policy=policy)
    assert not redirect.delivered
    late = T0 + timedelta(seconds=5)
    last, dead = record_attempt(delivery, 6, None, "timeout", now=late, policy=policy)
    assert isinstance(dead, WebhookDeadLettered)
    assert (dead.reason, dead.attempts, dead.error) == ("expired", 6, "timeout")
    # Recorded again after a crash, an attempt has the same id.
    [again] = record_attempt(delivery, 1, 500, "HTTP 500", now=T0, policy=policy)
    assert again.header.event_id == failed.header.event_id
    assert last.header.event_id != failed.header.event_id


def test_the_book_rebuilds_pending_retries_from_the_attempts() -> None:
    sub = _sub()
    policy = RetryPolicy((timedelta(seconds=10),), timedelta(hours=1))
    one = delivery_of(f.balance_low("acme", at=T0), sub, Kind.BALANCE_LOW)
    two = delivery_of(f.import_completed("acme", at=T0), sub, Kind.IMPORT_COMPLETED)
    book = DeliveryBook()
    first = record_attempt(one, 1, 500, "HTTP 500", now=T0, policy=policy)
    second = record_attempt(one, 2, 200, None, now=T0 + timedelta(seconds=10), policy=policy)
    other = record_attempt(two, 1, None, "timeout", now=T0, policy=policy)
    for event in [*first, *other, *first]:
        book.apply(event)
    assert book.seen("whs_1", one.source_event_id) and not book.seen("whs_2", "x")
    assert [p.delivery for p in book.due(T0 + timedelta(seconds=10))] == [one, two]
    assert book.due(T0) == []
    assert book.next_due() == T0 + timedelta(seconds=10)
    for event in [*second, *first]:  # an older attempt read late changes nothing
        book.apply(event)
    [left] = book.due(T0 + timedelta(minutes=1))
    assert (left.delivery, left.attempts, left.error) == (two, 1, "timeout")
    book.apply(record_attempt(two, 9, None, "t", now=T0 + timedelta(hours=1), policy=policy)[1])
    assert book.due(T0 + timedelta(days=1)) == []
