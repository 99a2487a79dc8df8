"""The topic catalogue: every topic cobranca owns, with its key, partitions and retention.

This is the one place topic names are spelled. Audit topics hold the immutable event log that
auditors replay, so they never expire and are never compacted; compaction is only for lookup
topics (latest value per key: configuration, and agents' own state). Clock topics carry
wake-ups, worth nothing once processed, so they expire after a day.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class TopicKind(enum.Enum):
    AUDIT = "audit"
    """Immutable event log: retention.ms=-1, cleanup.policy=delete."""
    LOOKUP = "lookup"
    """Latest value per key (configuration, agent state): cleanup.policy=compact."""
    CLOCK = "clock"
    """Wake-ups for timers: deleted after a day."""


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """One topic: what it carries and how Kafka must keep it."""

    name: str
    kind: TopicKind
    key: str
    """What the record key is made of: every event of one entity lands in one partition."""
    events: tuple[str, ...]
    """Event types (Avro record names in `cobranca.events`) that may appear on the topic."""
    description: str

    def config(self) -> dict[str, str]:
        """Topic-level Kafka configuration for `cobranca topics create`."""
        if self.kind is TopicKind.AUDIT:
            return {"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}
        if self.kind is TopicKind.CLOCK:
            return {"retention.ms": str(24 * 3600 * 1000), "cleanup.policy": "delete"}
        return {"cleanup.policy": "compact", "min.compaction.lag.ms": "60000"}


def _audit(name: str, key: str, events: tuple[str, ...], description: str) -> TopicSpec:
    return TopicSpec(name, TopicKind.AUDIT, key, events, description)


CLIENTS = _audit(
    "cobranca.clients",
    "tenant_id:client_id",
    ("ClientImported", "ImportRejected", "ImportCompleted"),
    "Debtors imported from files, HTTP or upstream systems, row by row.",
)
SEND_REQUESTS = _audit(
    "cobranca.sends.requested",
    "tenant_id",
    ("SendRequested", "SendDeferred"),
    "Sends asked for by the collection policy and the conversation agent; keyed by tenant so "
    "the ledger decides each tenant's requests in order.",
)
CREDIT_REQUESTS = _audit(
    "cobranca.credits.requested",
    "tenant_id",
    ("CreditRequested",),
    "Token credits asked for by operators and billing; the ledger decides them in order with "
    "the tenant's sends.",
)
SEND_DECISIONS = _audit(
    "cobranca.sends.decided",
    "tenant_id",
    ("SendApproved", "SendRejected"),
    "The ledger's verdict on each request.",
)
LEDGER = _audit(
    "cobranca.ledger",
    "tenant_id",
    ("TokensCredited", "TokensDebited", "TokensRefunded", "BalanceLow"),
    "Prepaid token movements per tenant: the source of every balance.",
)
DISPATCHES = _audit(
    "cobranca.dispatches",
    "tenant_id",
    ("MessageDispatched", "DispatchFailed"),
    "Outcomes of WAHA send calls; keyed by tenant because a permanent failure refunds.",
)
WAHA_CALLBACKS = _audit(
    "cobranca.waha.callbacks",
    "tenant_id:chat_id (tenant_id:session when no one chat)",
    ("WahaCallbackReceived",),
    "WAHA webhook bodies and headers exactly as received, but for the debtors' messages; keyed "
    "like the conversations they normalize to, so each duplicate and each ack order is decided "
    "within one partition.",
)
WAHA_MESSAGES = TopicSpec(
    "cobranca.waha.messages",
    TopicKind.AUDIT,
    WAHA_CALLBACKS.key,
    WAHA_CALLBACKS.events,
    "The debtors' messages among WAHA's webhooks (`message`, `message.any`), stored as "
    "cobranca.waha.callbacks stores the rest, in a lane of their own so that a reply never "
    "waits behind a backlog of acks (docs/adr/0032). Same key and partition count.",
)
CONVERSATIONS = _audit(
    "cobranca.conversations",
    "tenant_id:chat_key (tenant_id:session for session statuses)",
    (
        "InboundMessage",
        "DeliveryStatusChanged",
        "SessionStatusChanged",
        "HandoffResolved",
        "IntentCorrected",
    ),
    "Normalized, deduplicated WhatsApp traffic, and operators' resolutions of hand-offs and "
    "corrections of intents. The "
    "chat key is streams.domain.chat_keys.chat_key(chat_id), so a chat and its debt share a "
    "partition; the normalizer writes in the partition of the callback that caused it (the "
    "receiver keys callbacks the same way), with the callback's key.",
)
INTENTS = _audit(
    "cobranca.intents",
    "tenant_id:chat_key",
    ("IntentClassified",),
    "What each inbound message asks for, with confidence and entities.",
)
ACTIONS = _audit(
    "cobranca.actions",
    "tenant_id",
    (
        "PaymentPromised",
        "PaymentClaimed",
        "OptedOut",
        "WrongNumberReported",
        "HandoffRequested",
        "CollectionPaused",
        "CollectionResumed",
    ),
    "What the conversation policy decided to do about a reply; keyed by tenant because "
    "opt-outs, wrong numbers and pauses stop the ledger from approving sends.",
)
TENANTS = TopicSpec(
    "cobranca.tenants",
    TopicKind.LOOKUP,
    "tenant_id",
    ("TenantConfigured",),
    "Each tenant's configuration (sessions, prices, régua, contact windows); the latest per "
    "tenant is in force, and every worker reads all of it.",
)
REGUA_SCHEDULES = TopicSpec(
    "cobranca.regua.schedules",
    TopicKind.LOOKUP,
    "tenant_id:client_id",
    ("RemindersScheduled",),
    "The régua's state: each client's scheduled reminders, the latest per client; co-partitioned "
    "with cobranca.clients and written in the transaction of the input that changed it.",
)
# The conversation agent's lookup data and state, co-partitioned with cobranca.conversations
# (same key, same partition count): docs/adr/0010-conversation-agent.md.
CONVERSATION_DEBTS = TopicSpec(
    "cobranca.conversations.debts",
    TopicKind.LOOKUP,
    "tenant_id:chat_key",
    ("DebtIndexed",),
    "The debt each chat is answered with, written by the régua from every ClientImported; the "
    "latest per chat is in force.",
)
CONVERSATION_STATE = TopicSpec(
    "cobranca.conversations.state",
    TopicKind.LOOKUP,
    "tenant_id:chat_key",
    ("ConversationStateChanged",),
    "The conversation agent's state per chat (opted out, wrong number, open hand-off), written "
    "in the transaction of the input that changed it.",
)
CLOCK = TopicSpec(
    "cobranca.clock",
    TopicKind.CLOCK,
    "none: one tick to every partition",
    ("ClockTicked",),
    "Wake-ups that let the régua act on due reminders inside a transaction; co-partitioned "
    "with cobranca.clients.",
)
DEAD_LETTERS = _audit(
    "cobranca.dead-letters",
    "source topic",
    ("DeadLettered",),
    "Records no agent could process, with their bytes, position and error.",
)

IDENTITY = TopicSpec(
    "cobranca.identity",
    TopicKind.LOOKUP,
    "user:<user_id> | key:<key_id> | refresh:<family_id> | address:<address>",
    ("UserChanged", "ApiKeyChanged", "RefreshFamilyChanged", "AddressLocked"),
    "Users, API keys, login sessions and address lockouts of the HTTP API. Each event carries "
    "its entity whole, so compaction keeps every entity; every API replica reads all of it.",
)
API_AUDIT = _audit(
    "cobranca.api.audit",
    "actor",
    ("ApiRequestAudited",),
    "Every state-changing call to the HTTP API: who, what, when, from where, and its status.",
)
WEBHOOK_SUBSCRIPTIONS = TopicSpec(
    "cobranca.webhooks.subscriptions",
    TopicKind.LOOKUP,
    "subscription_id",
    ("WebhookSubscriptionChanged",),
    "Tenants' webhook subscriptions (URL, event kinds, signing secret), each event carrying the "
    "whole subscription; read whole by the API and the delivery agent, never sunk to analytics.",
)
WEBHOOK_DELIVERIES = _audit(
    "cobranca.webhooks.deliveries",
    "subscription_id",
    ("WebhookAttempted", "WebhookDeadLettered"),
    "Every POST of an event to a tenant's webhook and its outcome, and what was given up on; "
    "the delivery agent rebuilds its pending retries from it at start.",
)

# The ledger's inputs: all keyed by tenant alone and created with the same partition count, so
# one worker sees every event of a tenant, in order within each topic, next to its table state.
LEDGER_INPUTS: tuple[TopicSpec, ...] = (SEND_REQUESTS, CREDIT_REQUESTS, DISPATCHES, ACTIONS)

CATALOGUE: tuple[TopicSpec, ...] = (
    CLIENTS,
    SEND_REQUESTS,
    CREDIT_REQUESTS,
    SEND_DECISIONS,
    LEDGER,
    DISPATCHES,
    WAHA_CALLBACKS,
    WAHA_MESSAGES,
    CONVERSATIONS,
    INTENTS,
    ACTIONS,
    TENANTS,
    REGUA_SCHEDULES,
    CLOCK,
    DEAD_LETTERS,
    CONVERSATION_DEBTS,
    CONVERSATION_STATE,
    IDENTITY,
    API_AUDIT,
    WEBHOOK_SUBSCRIPTIONS,
    WEBHOOK_DELIVERIES,
)


def topic_for_event(event_type: str) -> TopicSpec:
    """The topic an event of this type is written to (each event type lives on exactly one,
    but for a WAHA callback, whose lane the receiver picks: this gives cobranca.waha.callbacks)."""
    for spec in CATALOGUE:
        if event_type in spec.events:
            return spec
    raise KeyError(f"no topic in streams/base/topics.py carries {event_type!r}")
