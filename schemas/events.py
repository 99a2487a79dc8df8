"""Typed view of the event contracts: one Faust record per Avro schema in `schemas/avro/`.

The `.avsc` files are the contract; this module mirrors them field for field (same names, same
order, nullable exactly where the schema is) and `tests/unit/schemas/test_events_match_schemas.py`
keeps the two in step. Avro to Python types:

    string -> str              long, int -> int       float -> float     boolean -> bool
    bytes -> bytes             enum -> StrEnum        map<T> -> dict[str, T]
    long timestamp-millis -> datetime (timezone-aware, UTC)
    int date -> datetime.date  ["null", T] with default null -> T | None = None

Every record lists its required fields first: Faust, like dataclasses, refuses a field without a
default after one with a default, so the schemas follow the same order. Every `.avsc` except
`cobranca.events.EventHeader.avsc` is one event; an enum two events share (`SendKind`) is defined
inline in both files, identically.

Faust behaviour this module relies on (faust-streaming 0.15.3, checked by the tests):

- `from __future__ import annotations` is fine: Faust resolves the string annotations against
  this module's globals when each class is created (classes defined inside a function would not
  resolve).
- `Record.from_data(d)` builds the nested `EventHeader` from a plain dict (lazily, on first
  access of `.header`), and does so with or without `coerce=True`; `coerce` is left off because
  it turns a missing required string into the text "None".
- Faust has no enum support: a `StrEnum` field is treated as a plain `str` and left as the raw
  symbol. The `coercions` option on `Event` maps every enum class to itself, so `from_data` turns
  symbols into members (and raises `ValueError` for an unknown symbol). Constructing a record
  directly does not convert; pass enum members there.
- `date` fields are never converted from strings. The Avro decoder already returns `date` and
  `datetime` objects, which is the only way events are read.
- `asdict()` and `to_representation()` are shallow: the nested header stays an `EventHeader`;
  `to_representation()` adds a `"__faust": {"ns": ...}` key naming the class. An Avro encoder
  has to expand the header and drop that key.
- Records are mutable Python objects; treat them as immutable values anyway.
- An annotated class attribute counts as a field (Faust checks `__annotations__`), so
  `SCHEMA_VERSION` is annotated once on the abstract `Event`; an event that changes its schema
  overrides it without an annotation: `SCHEMA_VERSION = 2`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from typing import ClassVar, Final

import faust

__all__ = [
    "AVRO_NAMESPACE",
    "EVENT_TYPES",
    "AddressLocked",
    "ApiKeyChanged",
    "ApiRequestAudited",
    "BalanceLow",
    "ClientImported",
    "ClockTicked",
    "CollectionPaused",
    "CollectionResumed",
    "ConversationStateChanged",
    "CreditRequested",
    "DailyContactWindow",
    "DeadLettered",
    "DebtIndexed",
    "DeferReason",
    "DeliveryStatusChanged",
    "DispatchFailed",
    "DocumentKind",
    "Event",
    "EventHeader",
    "HandoffRequested",
    "HandoffResolved",
    "ImportCompleted",
    "ImportRejected",
    "InboundMessage",
    "IntentClassified",
    "IntentCorrected",
    "MessageDispatched",
    "OptedOut",
    "PaymentClaimed",
    "PaymentPromised",
    "RefreshFamilyChanged",
    "ReguaStepConfig",
    "ReminderStatus",
    "RemindersScheduled",
    "ScheduledReminder",
    "SendApproved",
    "SendDeferred",
    "SendKind",
    "SendRejectReason",
    "SendRejected",
    "SendRequested",
    "SessionStatusChanged",
    "TenantConfigured",
    "TokenPrices",
    "TokensCredited",
    "TokensDebited",
    "TokensRefunded",
    "UserChanged",
    "WahaCallbackReceived",
    "WahaSessionConfig",
    "WebhookAttempted",
    "WebhookDeadLettered",
    "WebhookSubscriptionChanged",
    "WeeklyContactWindows",
    "WrongNumberReported",
    "caused_by",
    "derived_id",
    "new_header",
]

#: Avro namespace of every event schema; a record's Faust namespace is its Avro full name.
AVRO_NAMESPACE: Final = "cobranca.events"


# --- enums ---------------------------------------------------------------------------------


class SendKind(enum.StrEnum):
    """What a send carries (`cobranca.events.SendKind`, used by SendRequested, SendApproved)."""

    TEXT = "TEXT"
    FILE = "FILE"


class DocumentKind(enum.StrEnum):
    """Brazilian taxpayer document type (`cobranca.events.DocumentKind`)."""

    CPF = "CPF"
    CNPJ = "CNPJ"


class SendRejectReason(enum.StrEnum):
    """Why the ledger refused a send (`cobranca.events.SendRejectReason`, default OTHER)."""

    INSUFFICIENT_TOKENS = "insufficient_tokens"
    OPTED_OUT = "opted_out"
    WRONG_NUMBER = "wrong_number"
    OUTSIDE_CONTACT_WINDOW = "outside_contact_window"
    DUPLICATE = "duplicate"
    PAUSED = "paused"
    OTHER = "other"


class DeferReason(enum.StrEnum):
    """Why a send was postponed (`cobranca.events.DeferReason`, default OTHER)."""

    OUTSIDE_CONTACT_WINDOW = "outside_contact_window"
    COLLECTION_PAUSED = "collection_paused"
    RATE_LIMITED = "rate_limited"
    OTHER = "other"


class ReminderStatus(enum.StrEnum):
    """Where a scheduled reminder stands (`cobranca.events.ReminderStatus`)."""

    PENDING = "PENDING"
    DEFERRED = "DEFERRED"
    REQUESTED = "REQUESTED"
    SUPERSEDED = "SUPERSEDED"


# --- header and base -----------------------------------------------------------------------


class EventHeader(faust.Record, namespace="cobranca.events.EventHeader"):
    """Envelope carried as the first field of every event."""

    event_id: str
    event_type: str
    schema_version: int
    tenant_id: str
    occurred_at: datetime
    correlation_id: str
    source: str
    causation_id: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None:
            raise ValueError(
                f"{self.event_type} {self.event_id}: occurred_at {self.occurred_at.isoformat()} "
                "has no time zone; pass an aware datetime (UTC)"
            )


class Event(
    faust.Record,
    abstract=True,
    coercions={
        kind: kind
        for kind in (SendKind, DocumentKind, SendRejectReason, DeferReason, ReminderStatus)
    },
):
    """Base of every event: a header, then the event's own fields."""

    header: EventHeader
    #: Version of the event's schema this class mirrors; written into `header.schema_version`.
    SCHEMA_VERSION: ClassVar[int] = 1


# --- imports -------------------------------------------------------------------------------


class ClientImported(Event, namespace="cobranca.events.ClientImported"):
    """One accepted import row: a debtor and the debt to collect."""

    SCHEMA_VERSION = 2

    import_id: str
    row: int
    client_id: str
    name: str
    phone_e164: str
    amount_centavos: int
    due_date: date
    document: str | None = None
    """CPF or CNPJ; None when the row had none (v2: optional unless the tenant requires it).
    v1 events, which always had one, read with theirs."""
    document_kind: DocumentKind | None = None
    invoice_id: str | None = None
    description: str | None = None
    email: str | None = None
    uf: str | None = None
    pix_code: str | None = None
    boleto_line: str | None = None
    payment_url: str | None = None


class ImportRejected(Event, namespace="cobranca.events.ImportRejected"):
    """One import row that failed validation."""

    import_id: str
    row: int
    reason: str
    message: str
    field: str | None = None
    raw_row: str | None = None


class ImportCompleted(Event, namespace="cobranca.events.ImportCompleted"):
    """End of an import: every row read was answered (all of the source's unless incomplete)."""

    SCHEMA_VERSION = 2

    import_id: str
    rows: int
    accepted: int
    rejected: int
    by_reason: dict[str, int]
    incomplete: bool = False
    """The source stopped before its end; the counts are its rows read before, all stored."""


# --- sends ---------------------------------------------------------------------------------


class SendRequested(Event, namespace="cobranca.events.SendRequested"):
    """A request to send one WhatsApp message; request_id is the idempotency key."""

    request_id: str
    client_id: str
    phone_e164: str
    kind: SendKind
    text: str | None = None
    file_url: str | None = None
    file_mimetype: str | None = None
    file_name: str | None = None
    batch_id: str | None = None
    recipients: int = 1
    step: str | None = None
    session: str | None = None


class SendApproved(Event, namespace="cobranca.events.SendApproved"):
    """The ledger debited the send; carries everything dispatch needs."""

    request_id: str
    client_id: str
    phone_e164: str
    kind: SendKind
    price_tokens: int
    balance_after: int
    text: str | None = None
    file_url: str | None = None
    file_mimetype: str | None = None
    file_name: str | None = None
    session: str | None = None


class SendRejected(Event, namespace="cobranca.events.SendRejected"):
    """The ledger refused a send; nothing was debited."""

    request_id: str
    reason: SendRejectReason
    detail: str | None = None


class SendDeferred(Event, namespace="cobranca.events.SendDeferred"):
    """A send that may not go out now; it is retried at `until`."""

    request_id: str
    until: datetime
    reason: DeferReason


# --- ledger --------------------------------------------------------------------------------


class CreditRequested(Event, namespace="cobranca.events.CreditRequested"):
    """A request to add tokens to a tenant's balance; credit_id is the idempotency key."""

    credit_id: str
    amount: int
    reference: str | None = None


class TokensCredited(Event, namespace="cobranca.events.TokensCredited"):
    """Tokens added to a tenant's balance."""

    SCHEMA_VERSION = 2
    amount: int
    balance_after: int
    reference: str | None = None
    credit_id: str | None = None
    prev_hash: str = ""
    hash: str = ""


class TokensDebited(Event, namespace="cobranca.events.TokensDebited"):
    """Tokens taken from a tenant's balance for one approved send."""

    SCHEMA_VERSION = 2
    request_id: str
    amount: int
    balance_after: int
    prev_hash: str = ""
    hash: str = ""


class TokensRefunded(Event, namespace="cobranca.events.TokensRefunded"):
    """Tokens given back for a send that failed permanently."""

    SCHEMA_VERSION = 2
    request_id: str
    amount: int
    reason: str
    balance_after: int
    prev_hash: str = ""
    hash: str = ""


class BalanceLow(Event, namespace="cobranca.events.BalanceLow"):
    """A tenant's balance fell below its alert threshold."""

    SCHEMA_VERSION = 2
    balance: int
    threshold: int
    prev_hash: str = ""
    hash: str = ""


# --- dispatch ------------------------------------------------------------------------------


class MessageDispatched(Event, namespace="cobranca.events.MessageDispatched"):
    """WAHA accepted a send."""

    request_id: str
    session: str
    chat_id: str
    waha_message_id: str
    attempt: int


class DispatchFailed(Event, namespace="cobranca.events.DispatchFailed"):
    """One dispatch attempt failed; retryable=False means permanently."""

    request_id: str
    session: str
    attempt: int
    retryable: bool
    error: str
    status_code: int | None = None


# --- WAHA ----------------------------------------------------------------------------------


class WahaCallbackReceived(Event, namespace="cobranca.events.WahaCallbackReceived"):
    """A verified WAHA webhook call, body and headers exactly as received."""

    body: bytes
    headers: dict[str, str]
    received_at: datetime
    session: str | None = None
    remote: str | None = None


# --- conversations -------------------------------------------------------------------------


class InboundMessage(Event, namespace="cobranca.events.InboundMessage"):
    """A WhatsApp message received on a session."""

    SCHEMA_VERSION = 2
    session: str
    waha_message_id: str
    chat_id: str
    sender: str
    is_group: bool
    from_me: bool
    has_media: bool
    timestamp: datetime
    body: str | None = None
    media_mimetype: str | None = None
    request_id: str | None = None
    waha_event_id: str | None = None


class DeliveryStatusChanged(Event, namespace="cobranca.events.DeliveryStatusChanged"):
    """A sent message's acknowledgement advanced."""

    SCHEMA_VERSION = 2
    session: str
    waha_message_id: str
    chat_id: str
    ack: int
    ack_name: str
    request_id: str | None = None
    waha_event_id: str | None = None


class SessionStatusChanged(Event, namespace="cobranca.events.SessionStatusChanged"):
    """A WAHA session changed status."""

    SCHEMA_VERSION = 2
    session: str
    status: str
    previous: str | None = None
    waha_event_id: str | None = None


# --- intelligence --------------------------------------------------------------------------


class IntentClassified(Event, namespace="cobranca.events.IntentClassified"):
    """The classifier's reading of an inbound message."""

    waha_message_id: str
    chat_id: str
    label: str
    confidence: float
    model_version: str
    client_id: str | None = None
    promised_date: date | None = None
    amount_centavos: int | None = None


# --- actions -------------------------------------------------------------------------------


class PaymentPromised(Event, namespace="cobranca.events.PaymentPromised"):
    """The debtor promised to pay."""

    client_id: str
    waha_message_id: str
    promised_date: date | None = None
    amount_centavos: int | None = None


class PaymentClaimed(Event, namespace="cobranca.events.PaymentClaimed"):
    """The debtor says the debt is already paid."""

    client_id: str
    waha_message_id: str


class OptedOut(Event, namespace="cobranca.events.OptedOut"):
    """The phone's owner asked for no more messages (LGPD)."""

    phone_e164: str
    client_id: str | None = None
    waha_message_id: str | None = None


class WrongNumberReported(Event, namespace="cobranca.events.WrongNumberReported"):
    """The phone does not belong to the debtor."""

    phone_e164: str
    client_id: str | None = None
    waha_message_id: str | None = None


class HandoffRequested(Event, namespace="cobranca.events.HandoffRequested"):
    """A conversation needs a human operator."""

    chat_id: str
    reason: str
    client_id: str | None = None
    intent: str | None = None
    waha_message_id: str | None = None


class CollectionPaused(Event, namespace="cobranca.events.CollectionPaused"):
    """Sends to a client are paused, until a moment or until lifted."""

    client_id: str
    reason: str
    until: datetime | None = None


class CollectionResumed(Event, namespace="cobranca.events.CollectionResumed"):
    """A pause on a client's sends is lifted."""

    client_id: str
    reason: str
    handoff_id: str | None = None


# --- conversations: the agent's lookup data, its state, operators' corrections -------------


class DebtIndexed(Event, namespace="cobranca.events.DebtIndexed"):
    """The debt a chat is answered with (keyed tenant_id:chat_key)."""

    client_id: str
    chat_key: str
    import_id: str
    phone_e164: str
    name: str
    amount_centavos: int
    due_date: date
    invoice_id: str | None = None
    description: str | None = None
    pix_code: str | None = None
    boleto_line: str | None = None
    payment_url: str | None = None


class ConversationStateChanged(Event, namespace="cobranca.events.ConversationStateChanged"):
    """The conversation agent's state for one chat as of this change."""

    chat_key: str
    opted_out: bool
    wrong_number: bool
    open_handoff: str | None = None
    client_id: str | None = None


class HandoffResolved(Event, namespace="cobranca.events.HandoffResolved"):
    """An operator closed a hand-off with the label the message really had."""

    handoff_id: str
    chat_id: str
    label: str
    resume: bool = True
    client_id: str | None = None
    waha_message_id: str | None = None
    operator: str | None = None
    note: str | None = None


class IntentCorrected(Event, namespace="cobranca.events.IntentCorrected"):
    """An operator corrected the label of an inbound message outside a hand-off."""

    chat_id: str
    waha_message_id: str
    label: str
    classified_label: str | None = None
    client_id: str | None = None
    operator: str | None = None
    note: str | None = None


# --- tenants and the régua ----------------------------------------------------------------


class WahaSessionConfig(faust.Record, namespace="cobranca.events.WahaSessionConfig"):
    """A WAHA session the tenant owns (part of TenantConfigured)."""

    name: str
    webhook_hmac_key_ref: str | None = None


class TokenPrices(faust.Record, namespace="cobranca.events.TokenPrices"):
    """Tokens charged per send (part of TenantConfigured)."""

    text: int
    file: int
    per_extra_recipient: int


class DailyContactWindow(faust.Record, namespace="cobranca.events.DailyContactWindow"):
    """One day's window, [opens_minute, closes_minute) after local midnight."""

    opens_minute: int
    closes_minute: int


class WeeklyContactWindows(faust.Record, namespace="cobranca.events.WeeklyContactWindows"):
    """A week's contact windows; Sundays never open."""

    weekdays: DailyContactWindow | None = None
    saturday: DailyContactWindow | None = None


class ReguaStepConfig(faust.Record, namespace="cobranca.events.ReguaStepConfig"):
    """One step of the régua (part of TenantConfigured)."""

    step: str
    offset_days: int
    send_at_minute: int
    template: str


class TenantConfigured(Event, namespace="cobranca.events.TenantConfigured"):
    """A tenant's whole configuration as applied; the latest per tenant is in force."""

    SCHEMA_VERSION = 2

    display_name: str
    sessions: list[WahaSessionConfig]
    prices: TokenPrices
    low_balance_threshold: int
    allow_landlines: bool
    state_holidays: bool
    default_windows: WeeklyContactWindows
    uf_windows: dict[str, WeeklyContactWindows]
    steps: list[ReguaStepConfig]
    source_file: str | None = None
    require_document: bool = False
    """Imports reject rows without CPF/CNPJ (v2; v1 events read as False)."""


class ScheduledReminder(
    faust.Record,
    namespace="cobranca.events.ScheduledReminder",
    coercions={ReminderStatus: ReminderStatus},
):
    """One step of the régua for one debt (part of RemindersScheduled)."""

    step: str
    request_id: str
    due_at: datetime
    status: ReminderStatus
    next_at: datetime | None = None


class RemindersScheduled(Event, namespace="cobranca.events.RemindersScheduled"):
    """The régua's schedule for one client's debt as of this change."""

    client_id: str
    import_id: str
    debt_key: str
    phone_e164: str
    uf: str
    name: str
    amount_centavos: int
    due_date: date
    steps: list[ScheduledReminder]
    invoice_id: str | None = None
    description: str | None = None
    pix_code: str | None = None
    boleto_line: str | None = None
    payment_url: str | None = None
    config_digest: str | None = None


class ClockTicked(Event, namespace="cobranca.events.ClockTicked"):
    """A wake-up for agents with timers."""


# --- identity and the API's audit trail ------------------------------------------------------


class UserChanged(Event, namespace="cobranca.events.UserChanged"):
    """A user account as it stands after one change; the whole account, for compaction."""

    user_id: str
    change: str
    email: str
    version: int
    actor: str
    roles: list[str]
    tenant: str | None = None
    status: str = "invited"
    password_hash: str | None = None
    invite_hash: str | None = None
    invite_expires_at: datetime | None = None
    locked_until: datetime | None = None


class ApiKeyChanged(Event, namespace="cobranca.events.ApiKeyChanged"):
    """A tenant's API key after being issued or revoked; only its hash is kept."""

    key_id: str
    change: str
    tenant: str
    name: str
    key_hash: str
    actor: str
    scopes: list[str]
    revoked: bool = False


class RefreshFamilyChanged(Event, namespace="cobranca.events.RefreshFamilyChanged"):
    """A login's refresh-token chain after it is issued, rotated or revoked."""

    family_id: str
    change: str
    user_id: str
    token_hash: str
    generation: int
    expires_at: datetime
    revoked: bool = False
    reason: str | None = None


class AddressLocked(Event, namespace="cobranca.events.AddressLocked"):
    """Logins from one client address are refused until `locked_until`."""

    address: str
    locked_until: datetime
    failures: int


class ApiRequestAudited(Event, namespace="cobranca.events.ApiRequestAudited"):
    """A state-changing call to the HTTP API: who, what, when, from where, how it ended."""

    request_id: str
    actor: str
    operation: str
    method: str
    path: str
    status: int
    address: str
    target: str | None = None


# --- tenant webhooks -----------------------------------------------------------------------


class WebhookSubscriptionChanged(Event, namespace="cobranca.events.WebhookSubscriptionChanged"):
    """A tenant's webhook subscription after being created or deleted, secret included."""

    subscription_id: str
    change: str
    tenant: str
    url: str
    kinds: list[str]
    secret: str
    actor: str
    active: bool = True


class WebhookAttempted(Event, namespace="cobranca.events.WebhookAttempted"):
    """One POST of an event to a webhook subscription, and how it ended."""

    subscription_id: str
    source_event_id: str
    source_event_type: str
    kind: str
    attempt: int
    delivered: bool
    body: str
    event_occurred_at: datetime
    status_code: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None


class WebhookDeadLettered(Event, namespace="cobranca.events.WebhookDeadLettered"):
    """An event never delivered to a subscription: 24 h of failures, or the subscription gone."""

    subscription_id: str
    source_event_id: str
    source_event_type: str
    kind: str
    attempts: int
    reason: str
    status_code: int | None = None
    error: str | None = None


# --- errors --------------------------------------------------------------------------------


class DeadLettered(Event, namespace="cobranca.events.DeadLettered"):
    """A message no consumer could process, with its bytes and position."""

    original: bytes
    topic: str
    partition: int
    offset: int
    error_type: str
    error: str
    key: bytes | None = None


#: Event name (the Avro record's unqualified name, `header.event_type`) -> record class.
EVENT_TYPES: Final[Mapping[str, type[Event]]] = MappingProxyType(
    {
        cls.__name__: cls
        for cls in (
            ClientImported,
            ImportRejected,
            ImportCompleted,
            SendRequested,
            SendApproved,
            SendRejected,
            SendDeferred,
            CreditRequested,
            TokensCredited,
            TokensDebited,
            TokensRefunded,
            BalanceLow,
            MessageDispatched,
            DispatchFailed,
            WahaCallbackReceived,
            InboundMessage,
            DeliveryStatusChanged,
            SessionStatusChanged,
            IntentClassified,
            PaymentPromised,
            PaymentClaimed,
            OptedOut,
            WrongNumberReported,
            HandoffRequested,
            CollectionPaused,
            CollectionResumed,
            DebtIndexed,
            ConversationStateChanged,
            HandoffResolved,
            IntentCorrected,
            TenantConfigured,
            RemindersScheduled,
            ClockTicked,
            DeadLettered,
            UserChanged,
            ApiKeyChanged,
            RefreshFamilyChanged,
            AddressLocked,
            ApiRequestAudited,
            WebhookSubscriptionChanged,
            WebhookAttempted,
            WebhookDeadLettered,
        )
    }
)


def new_header(
    event_type: str,
    *,
    tenant_id: str,
    correlation_id: str,
    causation_id: str | None,
    source: str,
    occurred_at: datetime | None = None,
    event_id: str | None = None,
) -> EventHeader:
    """Build the header for a new `event_type` event.

    Fills a fresh UUID4 `event_id` (unless given: derived events pass one computed from their
    cause, so a replay derives the same ids), the event's current `SCHEMA_VERSION` and `occurred_at`
    (now, unless given). The time is converted to UTC and cut to whole milliseconds, which is
    what `timestamp-millis` keeps, so an event equals itself after an Avro round trip.
    """
    try:
        event_cls = EVENT_TYPES[event_type]
    except KeyError:
        known = ", ".join(sorted(EVENT_TYPES))
        raise ValueError(f"unknown event type {event_type!r}; known types: {known}") from None
    if occurred_at is None:
        occurred_at = datetime.now(UTC)
    elif occurred_at.tzinfo is None:
        raise ValueError(
            f"occurred_at {occurred_at.isoformat()} for {event_type} has no time zone; "
            "pass an aware datetime (UTC)"
        )
    occurred_at = occurred_at.astimezone(UTC)
    occurred_at = occurred_at.replace(microsecond=occurred_at.microsecond // 1000 * 1000)
    return EventHeader(
        event_id=event_id or str(uuid.uuid4()),
        event_type=event_type,
        schema_version=event_cls.SCHEMA_VERSION,
        tenant_id=tenant_id,
        occurred_at=occurred_at,
        correlation_id=correlation_id,
        source=source,
        causation_id=causation_id,
    )


def derived_id(namespace: uuid.UUID, key: str) -> str:
    """The event id named by `key` in `namespace` (a UUID5), the same on every replay.

    Derived ids are idempotency keys stored in the log, so a namespace and the format of its keys
    never change once events carry them.
    """
    return str(uuid.uuid5(namespace, key))


def caused_by(
    event_type: str,
    cause: Event,
    *,
    occurred_at: datetime,
    source: str,
    namespace: uuid.UUID,
    key: str | None = None,
    correlation_id: str | None = None,
) -> EventHeader:
    """The header of the `event_type` event that `cause` leads to, derived so a replay writes it
    again byte for byte.

    The tenant and correlation id are the cause's (`correlation_id` overrides the latter), the
    causation id is the cause's event id, and the event id is `derived_id(namespace, key)`, with
    `key` defaulting to `"{cause event id}|{event_type}"`: one event of each type per cause. Each
    deriving module has a namespace of its own, so two modules deriving from the same cause never
    collide.
    """
    cause_id = cause.header.event_id
    return new_header(
        event_type,
        tenant_id=cause.header.tenant_id,
        correlation_id=cause.header.correlation_id if correlation_id is None else correlation_id,
        causation_id=cause_id,
        source=source,
        occurred_at=occurred_at,
        event_id=derived_id(namespace, f"{cause_id}|{event_type}" if key is None else key),
    )
