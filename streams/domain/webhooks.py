"""Tenant webhooks: subscriptions, which events are delivered as which kinds, the JSON body,
the signature, the retry schedule, and the folds that rebuild subscriptions and pending retries
from the log. Pure: the delivery agent (`streams/ops/webhook_delivery.py`) does the I/O.

The contract towards a receiver (docs/adr/0024-tenant-webhooks.md):

- one `POST` per event and subscription, `Content-Type: application/json`, the body
  `{"id", "kind", "tenant", "occurred_at", "data"}` (phones masked, no CPF/CNPJ, no texts);
- `X-Cobranca-Event-Id` (the event's id: deliveries are at least once, receivers deduplicate by
  it), `X-Cobranca-Event-Kind`, `X-Cobranca-Attempt`, and
  `X-Cobranca-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`;
- a 2xx answer delivers it; anything else (a redirect included) is retried on `RetryPolicy`'s
  schedule until 24 h after the event occurred, then dead-lettered.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import ipaddress
import json
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

from schemas.events import (
    BalanceLow,
    DeliveryStatusChanged,
    DispatchFailed,
    Event,
    HandoffRequested,
    ImportCompleted,
    WebhookAttempted,
    WebhookDeadLettered,
    WebhookSubscriptionChanged,
    derived_id,
    new_header,
)
from streams.domain.brazil.text import mask_digits
from streams.domain.errors import InvalidWebhook

__all__ = [
    "ATTEMPT_HEADER",
    "DEFAULT_DELAYS",
    "EVENT_ID_HEADER",
    "KIND_HEADER",
    "SIGNATURE_HEADER",
    "SOURCE_EVENT_TYPES",
    "Delivery",
    "DeliveryBook",
    "Kind",
    "Pending",
    "RetryPolicy",
    "Subscription",
    "SubscriptionBook",
    "body_of",
    "check_url",
    "dead_letter",
    "delivery_of",
    "kind_of",
    "parse_kinds",
    "payload_of",
    "record_attempt",
    "request_headers",
    "sign",
    "subscribe",
    "unsubscribe",
    "verify",
]

SOURCE: Final = "api.webhooks"
DELIVERY_SOURCE: Final = "webhooks.delivery"
SIGNATURE_HEADER: Final = "X-Cobranca-Signature"
EVENT_ID_HEADER: Final = "X-Cobranca-Event-Id"
KIND_HEADER: Final = "X-Cobranca-Event-Kind"
ATTEMPT_HEADER: Final = "X-Cobranca-Attempt"
MAX_URL_LENGTH: Final = 2048
MIN_SECRET_LENGTH: Final = 32
_ATTEMPTS: Final = uuid.UUID("0b6f7f0e-5a51-4c55-9a4c-7f1f3c0f0a24")
"""Namespace of WebhookAttempted/WebhookDeadLettered ids: one per (subscription, event, attempt),
so a retry re-recorded after a crash carries the same id. Never changes."""
_LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "::1"})


class Kind(enum.StrEnum):
    """What a tenant subscribes to."""

    SEND_DELIVERED = "send.delivered"
    SEND_READ = "send.read"
    SEND_FAILED = "send.failed"
    BALANCE_LOW = "balance.low"
    HANDOFF_OPENED = "handoff.opened"
    IMPORT_COMPLETED = "import.completed"


_KIND_NAMES: Final = frozenset(kind.value for kind in Kind)

SOURCE_EVENT_TYPES: Final = frozenset(
    {
        "DeliveryStatusChanged",
        "DispatchFailed",
        "BalanceLow",
        "HandoffRequested",
        "ImportCompleted",
    }
)
"""Every event type some kind is made of: what the delivery agent decodes further."""


# --- subscriptions -----------------------------------------------------------------------


def parse_kinds(names: Iterable[str]) -> frozenset[Kind]:
    """Kinds from their names; at least one, every one known."""
    kinds = set()
    for name in names:
        try:
            kinds.add(Kind(name))
        except ValueError:
            known = ", ".join(k.value for k in Kind)
            raise InvalidWebhook(f"unknown event kind {name!r}; kinds: {known}", "events") from None
    if not kinds:
        raise InvalidWebhook("subscribe to at least one event kind", "events")
    return frozenset(kinds)


def _private(host: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return not address.is_global


def check_url(url: str, *, loopback_http: bool = False) -> str:
    """The URL events are POSTed to, if it may be: `https://host[:port]/path[?query]`, with no
    credentials or fragment, to no private, loopback or link-local address literal.

    `loopback_http` (development and tests) also allows `http://` and `https://` to
    127.0.0.1, ::1 and localhost. Names that resolve to private addresses are the delivery
    agent's network's business (ADR 0024).
    """
    text = url.strip()
    if not text or len(text) > MAX_URL_LENGTH:
        raise InvalidWebhook(f"the url must have 1 to {MAX_URL_LENGTH} characters", "url")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidWebhook(f"the url is not valid: {exc}", "url") from None
    host = (parts.hostname or "").lower()
    if not host:
        raise InvalidWebhook("the url needs a host: https://example.com/hooks", "url")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhook("the url must not carry credentials; the signature proves us", "url")
    if parts.fragment:
        raise InvalidWebhook("the url must not have a #fragment", "url")
    if any(c.isspace() or ord(c) < 0x20 for c in text):
        raise InvalidWebhook("the url must not contain spaces or control characters", "url")
    loopback = host in _LOOPBACK_NAMES
    if loopback and loopback_http and parts.scheme in ("http", "https"):
        return text
    if parts.scheme != "https":
        raise InvalidWebhook("the url must be https://", "url")
    if loopback or _private(host) or host.endswith(".localhost"):
        raise InvalidWebhook("the url must point to a public host, not a private address", "url")
    if port == 0:
        raise InvalidWebhook("the url's port must be 1 to 65535", "url")
    return text


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription as the subscriptions topic last recorded it."""

    subscription_id: str
    tenant: str
    url: str
    kinds: frozenset[Kind]
    secret: str
    active: bool
    since: datetime
    """When it was recorded: events that occurred before are not delivered to it."""

    @classmethod
    def of(cls, event: WebhookSubscriptionChanged) -> Subscription:
        return cls(
            subscription_id=event.subscription_id,
            tenant=event.tenant,
            url=event.url,
            kinds=frozenset(Kind(name) for name in event.kinds if name in _KIND_NAMES),
            secret=event.secret,
            active=event.active,
            since=event.header.occurred_at,
        )

    def wants(self, tenant: str, kind: Kind, at: datetime) -> bool:
        """Whether an event of `tenant` and `kind` that occurred `at` is delivered to it."""
        return self.active and self.tenant == tenant and kind in self.kinds and at >= self.since

    def __repr__(self) -> str:  # the secret never reaches a log line through a repr
        return (
            f"Subscription({self.subscription_id!r}, tenant={self.tenant!r}, "
            f"kinds={sorted(self.kinds)}, active={self.active})"
        )


def _changed(
    sub: Subscription, change: str, actor: str, now: datetime
) -> WebhookSubscriptionChanged:
    return WebhookSubscriptionChanged(
        header=new_header(
            "WebhookSubscriptionChanged",
            tenant_id=sub.tenant,
            correlation_id=sub.subscription_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=now,
        ),
        subscription_id=sub.subscription_id,
        change=change,
        tenant=sub.tenant,
        url=sub.url,
        kinds=sorted(kind.value for kind in sub.kinds),
        secret=sub.secret,
        actor=actor,
        active=sub.active,
    )


def subscribe(
    subscription_id: str,
    tenant: str,
    url: str,
    kinds: Iterable[Kind],
    secret: str,
    *,
    actor: str,
    now: datetime,
    loopback_http: bool = False,
) -> WebhookSubscriptionChanged:
    """A new subscription of `tenant`'s events of `kinds` at `url`, signed with `secret`."""
    wanted = frozenset(kinds)
    if not wanted:
        raise InvalidWebhook("subscribe to at least one event kind", "events")
    if len(secret) < MIN_SECRET_LENGTH:
        raise InvalidWebhook(
            f"a signing secret has at least {MIN_SECRET_LENGTH} characters", "secret"
        )
    checked = check_url(url, loopback_http=loopback_http)
    sub = Subscription(subscription_id, tenant, checked, wanted, secret, True, now)
    return _changed(sub, "created", actor, now)


def unsubscribe(sub: Subscription, *, actor: str, now: datetime) -> WebhookSubscriptionChanged:
    """The subscription deleted: nothing more is delivered to it, pending retries included."""
    if not sub.active:
        raise InvalidWebhook(
            f"subscription {sub.subscription_id} is already deleted", "subscription_id"
        )
    return _changed(replace(sub, active=False), "deleted", actor, now)


class SubscriptionBook:
    """The subscriptions topic folded into lookups. A deleted subscription stays deleted; applying
    an event twice changes nothing."""

    def __init__(self) -> None:
        self._subs: dict[str, Subscription] = {}

    def apply(self, event: Event) -> None:
        if not isinstance(event, WebhookSubscriptionChanged):
            return
        held = self._subs.get(event.subscription_id)
        if held is None or held.active:
            self._subs[event.subscription_id] = Subscription.of(event)

    def get(self, subscription_id: str) -> Subscription | None:
        return self._subs.get(subscription_id)

    def of_tenant(self, tenant: str) -> list[Subscription]:
        """A tenant's active subscriptions, by id."""
        return sorted(
            (s for s in self._subs.values() if s.active and s.tenant == tenant),
            key=lambda s: s.subscription_id,
        )

    def wanting(self, event: Event, kind: Kind) -> list[Subscription]:
        """The active subscriptions `event` (of `kind`) is delivered to, by id: its tenant's,
        wanting its kind, recorded before it occurred."""
        tenant, at = event.header.tenant_id, event.header.occurred_at
        return [s for s in self.of_tenant(tenant) if s.wants(tenant, kind, at)]


# --- what is delivered -------------------------------------------------------------------


def kind_of(event: Event) -> Kind | None:
    """The kind an event is delivered as, or None if no webhook carries it."""
    if isinstance(event, DeliveryStatusChanged):
        if event.ack == 2:
            return Kind.SEND_DELIVERED
        if event.ack >= 3:
            return Kind.SEND_READ
        return None
    if isinstance(event, DispatchFailed):
        return None if event.retryable else Kind.SEND_FAILED
    if isinstance(event, BalanceLow):
        return Kind.BALANCE_LOW
    if isinstance(event, HandoffRequested):
        return Kind.HANDOFF_OPENED
    if isinstance(event, ImportCompleted):
        return Kind.IMPORT_COMPLETED
    return None


_DIGIT_RUN: Final = re.compile(r"\+?\d[\d\s().-]{8,}\d")


def _mask_chat(chat_id: str) -> str:
    """`5511987654321@c.us` → `55119****21@c.us`: the phone in a chat id masked."""
    user, at, server = chat_id.partition("@")
    return f"{mask_digits(user)}{at}{server}"


def _mask_text(text: str) -> str:
    """Every phone- or document-looking run of a free text masked."""
    return _DIGIT_RUN.sub(lambda m: mask_digits(m.group(0)), text)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _data(event: Event) -> dict[str, Any]:
    if isinstance(event, DeliveryStatusChanged):
        return {
            "request_id": event.request_id,
            "session": event.session,
            "chat": _mask_chat(event.chat_id),
            "ack": event.ack,
            "ack_name": event.ack_name,
        }
    if isinstance(event, DispatchFailed):
        return {
            "request_id": event.request_id,
            "session": event.session,
            "attempt": event.attempt,
            "status_code": event.status_code,
            "error": _mask_text(event.error),
        }
    if isinstance(event, BalanceLow):
        return {"balance": event.balance, "threshold": event.threshold}
    if isinstance(event, HandoffRequested):
        return {
            "chat": _mask_chat(event.chat_id),
            "client_id": event.client_id,
            "reason": event.reason,
            "intent": event.intent,
        }
    if isinstance(event, ImportCompleted):
        return {
            "import_id": event.import_id,
            "rows": event.rows,
            "accepted": event.accepted,
            "rejected": event.rejected,
            "by_reason": dict(sorted(event.by_reason.items())),
            "incomplete": event.incomplete,
        }
    raise TypeError(f"{type(event).__name__} is not delivered by webhooks")


def payload_of(event: Event, kind: Kind) -> dict[str, Any]:
    """What a receiver gets for `event`: its id, kind, tenant, time, and the event's data with
    phones masked (`55119****21@c.us`), no documents, no message texts."""
    return {
        "id": event.header.event_id,
        "kind": kind.value,
        "tenant": event.header.tenant_id,
        "occurred_at": _iso(event.header.occurred_at),
        "data": _data(event),
    }


def body_of(event: Event, kind: Kind) -> str:
    """The payload as the exact JSON text POSTed (keys sorted, compact): every attempt sends
    the same bytes."""
    return json.dumps(payload_of(event, kind), sort_keys=True, separators=(",", ":"))


# --- the signature -----------------------------------------------------------------------


def _mac(secret: str, timestamp: int, body: str) -> str:
    message = f"{timestamp}.{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: int, body: str) -> str:
    """The `X-Cobranca-Signature` value: `t=<timestamp>,v1=<hex HMAC-SHA256 over
    "<timestamp>.<body>">`."""
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify(secret: str, header: str, body: str, *, now: int, tolerance_s: int = 300) -> bool:
    """What a receiver checks: a `v1` signature of `body` by `secret`, made within
    `tolerance_s` of `now` (unix seconds). Compared in constant time."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance_s:
        return False
    expected = _mac(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get("v1", []))


def request_headers(
    secret: str, event_id: str, kind: str, attempt: int, body: str, timestamp: int
) -> dict[str, str]:
    """Every header of one POST."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "cobranca-webhooks/1",
        EVENT_ID_HEADER: event_id,
        KIND_HEADER: kind,
        ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
    }


# --- retries -----------------------------------------------------------------------------

DEFAULT_DELAYS: Final = tuple(timedelta(seconds=s) for s in (10, 30, 120, 600, 1800, 3600))
"""After attempt 1, 2, …: 10 s, 30 s, 2 min, 10 min, 30 min, 1 h, then hourly (the last)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    delays: tuple[timedelta, ...] = DEFAULT_DELAYS
    window: timedelta = timedelta(hours=24)
    """No attempt is made later than this after the event occurred."""

    def next_attempt_at(
        self, attempts: int, occurred_at: datetime, now: datetime
    ) -> datetime | None:
        """When to try again after `attempts` failed ones (the last at `now`), or None when
        that would be past the window: the event is then dead-lettered."""
        if attempts < 1:
            raise ValueError("attempts counts the attempts made: 1 or more")
        delay = self.delays[min(attempts, len(self.delays)) - 1]
        due = now + delay
        return None if due > occurred_at + self.window else due


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event for one subscription: what is POSTed, the same bytes every attempt."""

    subscription_id: str
    tenant: str
    source_event_id: str
    source_event_type: str
    kind: str
    body: str
    event_occurred_at: datetime

    @property
    def key(self) -> tuple[str, str]:
        return (self.subscription_id, self.source_event_id)


def delivery_of(event: Event, sub: Subscription, kind: Kind) -> Delivery:
    return Delivery(
        subscription_id=sub.subscription_id,
        tenant=event.header.tenant_id,
        source_event_id=event.header.event_id,
        source_event_type=event.header.event_type,
        kind=kind.value,
        body=body_of(event, kind),
        event_occurred_at=event.header.occurred_at,
    )


def _header(event_type: str, delivery: Delivery, name: str, now: datetime) -> Any:
    return new_header(
        event_type,
        tenant_id=delivery.tenant,
        correlation_id=delivery.source_event_id,
        causation_id=delivery.source_event_id,
        source=DELIVERY_SOURCE,
        occurred_at=now,
        event_id=derived_id(
            _ATTEMPTS, f"{delivery.subscription_id}:{delivery.source_event_id}:{name}"
        ),
    )


def record_attempt(
    delivery: Delivery,
    attempt: int,
    status_code: int | None,
    error: str | None,
    *,
    now: datetime,
    policy: RetryPolicy,
) -> list[WebhookAttempted | WebhookDeadLettered]:
    """The events of one attempt's outcome: delivered (a 2xx), or failed with the next attempt's
    time, or failed for the last time and dead-lettered."""
    delivered = status_code is not None and 200 <= status_code < 300 and error is None
    following = (
        None if delivered else policy.next_attempt_at(attempt, delivery.event_occurred_at, now)
    )
    attempted = WebhookAttempted(
        header=_header("WebhookAttempted", delivery, str(attempt), now),
        subscription_id=delivery.subscription_id,
        source_event_id=delivery.source_event_id,
        source_event_type=delivery.source_event_type,
        kind=delivery.kind,
        attempt=attempt,
        delivered=delivered,
        body=delivery.body,
        event_occurred_at=delivery.event_occurred_at,
        status_code=status_code,
        error=error,
        next_attempt_at=following,
    )
    if delivered or following is not None:
        return [attempted]
    return [attempted, dead_letter(delivery, attempt, "expired", status_code, error, now=now)]


def dead_letter(
    delivery: Delivery,
    attempts: int,
    reason: str,
    status_code: int | None = None,
    error: str | None = None,
    *,
    now: datetime,
) -> WebhookDeadLettered:
    return WebhookDeadLettered(
        header=_header("WebhookDeadLettered", delivery, "dead", now),
        subscription_id=delivery.subscription_id,
        source_event_id=delivery.source_event_id,
        source_event_type=delivery.source_event_type,
        kind=delivery.kind,
        attempts=attempts,
        reason=reason,
        status_code=status_code,
        error=error,
    )


@dataclass(frozen=True, slots=True)
class Pending:
    """A delivery waiting for its next attempt (`due_at`), or, with `due_at` None, for its
    dead-letter record (a crash came between the last attempt and it)."""

    delivery: Delivery
    attempts: int
    due_at: datetime | None
    status_code: int | None = None
    error: str | None = None


class DeliveryBook:
    """The deliveries topic folded into what is done and what is pending, per (subscription,
    event). Later attempts win; applying an event twice changes nothing."""

    def __init__(self) -> None:
        self._pending: dict[tuple[str, str], Pending] = {}
        self._attempts: dict[tuple[str, str], int] = {}
        self._closed: set[tuple[str, str]] = set()

    def apply(self, event: Event) -> None:
        if isinstance(event, WebhookDeadLettered):
            key = (event.subscription_id, event.source_event_id)
            self._closed.add(key)
            self._pending.pop(key, None)
            return
        if not isinstance(event, WebhookAttempted):
            return
        key = (event.subscription_id, event.source_event_id)
        if key in self._closed or event.attempt <= self._attempts.get(key, 0):
            return
        self._attempts[key] = event.attempt
        if event.delivered:
            self._closed.add(key)
            self._pending.pop(key, None)
            return
        delivery = Delivery(
            subscription_id=event.subscription_id,
            tenant=event.header.tenant_id,
            source_event_id=event.source_event_id,
            source_event_type=event.source_event_type,
            kind=event.kind,
            body=event.body,
            event_occurred_at=event.event_occurred_at,
        )
        self._pending[key] = Pending(
            delivery, event.attempt, event.next_attempt_at, event.status_code, event.error
        )

    def seen(self, subscription_id: str, source_event_id: str) -> bool:
        """Whether the event was attempted for the subscription already (then it is not new)."""
        return (subscription_id, source_event_id) in self._attempts

    def pending(self) -> Iterator[Pending]:
        return iter(list(self._pending.values()))

    def due(self, now: datetime) -> list[Pending]:
        """Pending deliveries whose time has come, the most overdue first."""
        found = [p for p in self._pending.values() if p.due_at is None or p.due_at <= now]
        return sorted(found, key=lambda p: p.due_at or datetime.min.replace(tzinfo=UTC))

    def next_due(self) -> datetime | None:
        times = [p.due_at for p in self._pending.values() if p.due_at is not None]
        return min(times) if times else None

    def counts(self) -> Mapping[str, int]:
        return {"pending": len(self._pending), "closed": len(self._closed)}
