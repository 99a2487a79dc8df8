"""The conversation policy: what cobranca does about a debtor's reply.

Pure: the agent (streams/agents/conversation.py) passes the message, the classifier's reading, the
debt imported for the chat, the chat's state and the time, and emits what these functions return,
all in the transaction of the input. The state is a fold (`ConversationBook.apply`) of the
debts the régua indexed for the partition's chats, of the agent's own ConversationStateChanged
records and of its IntentClassified events (which messages were handled already).

Rules (issue 5 section 4, docs/adr/0010-conversation-agent.md):

- Group messages, the account's own messages (`from_me`) and messages without text are not
  classified and cause nothing. A message already classified (same WAHA id) causes nothing.
- Every other message gets an IntentClassified (label, confidence, model version, the promised
  date for promise_to_pay and any amount), whatever happens next.
- A chat that opted out or was reported as a wrong number gets nothing more: no action, no reply.
- Confident opt_out → OptedOut (the ledger blocks the phone and the client from then on) and one
  confirmation, which the ledger lets through as that opt-out's own reply. Confident
  wrong_person → WrongNumberReported (the ledger blocks the phone), no reply. Both hold even
  while a person handles the chat: the debtor's own stop request is never delayed (LGPD).
- While a hand-off is open, a person owns the chat: only the classification is recorded.
- dispute, negotiate, talk_to_human, and any label below the classifier's threshold →
  HandoffRequested, CollectionPaused (the ledger stops the client's automated reminders until
  the hand-off is resolved) and a short notice that a person takes over.
- request_payment_info → a reply with the debt's Pix code, boleto line and payment link; a
  debt imported without any of them goes to a person ("no_payment_info").
- promise_to_pay → PaymentPromised (date, amount) and a confirmation with the date (DD/MM/YYYY).
- already_paid → PaymentClaimed and a request for the receipt.
- request_payment_info, promise_to_pay and already_paid in a chat with no imported debt go to a
  person ("no_debt"): there is nothing to answer with.
- other → only the classification.
- An operator's HandoffResolved of the chat's open hand-off closes it and, unless the operator
  keeps the client paused, emits CollectionResumed.

Replies are SendRequested (step null, the session the debtor wrote to), priced and decided by
the ledger like any send. Ids derive from the input, so a replayed input derives the same
events; a reply's request id derives from the message it answers (`reply_request_id`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from models.entities import amount_brl, promised_date
from schemas.events import (
    CollectionPaused,
    CollectionResumed,
    ConversationStateChanged,
    DebtIndexed,
    Event,
    EventHeader,
    HandoffRequested,
    HandoffResolved,
    InboundMessage,
    IntentClassified,
    OptedOut,
    PaymentClaimed,
    PaymentPromised,
    SendKind,
    SendRequested,
    WrongNumberReported,
    caused_by,
)
from streams.domain import reply_templates as templates
from streams.domain.chat_keys import chat_key, phone_of_key
from streams.domain.intent import Classification

__all__ = [
    "HANDOFF_LABELS",
    "LOW_CONFIDENCE",
    "SOURCE",
    "ConversationBook",
    "Outcome",
    "handle_message",
    "handle_resolution",
    "on_inbound",
    "on_resolved",
    "reply_request_id",
    "should_classify",
]

SOURCE: Final = "streams.conversation"
#: Namespace of the ids the conversation agent derives from its inputs.
CONVERSATION_IDS: Final = uuid.UUID("6f1d2c3b-9a8e-4d7f-b6c5-0e1f2a3b4c5d")
HANDOFF_LABELS: Final = frozenset({"dispute", "negotiate", "talk_to_human"})
LOW_CONFIDENCE: Final = "low_confidence"
NO_DEBT: Final = "no_debt"
NO_PAYMENT_INFO: Final = "no_payment_info"
_NEEDS_DEBT: Final = frozenset({"request_payment_info", "promise_to_pay", "already_paid"})


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to emit for one input, in order, and the chat's new state (None: unchanged)."""

    events: tuple[Event, ...]
    state: ConversationStateChanged | None = None


def should_classify(message: InboundMessage) -> bool:
    """A debtor's text in a direct chat: not a group, not the account's own, not empty."""
    return not message.is_group and not message.from_me and bool((message.body or "").strip())


def reply_request_id(tenant_id: str, waha_message_id: str) -> str:
    """The request id of the reply to a message: one reply per message, whatever replays."""
    return str(uuid.uuid5(CONVERSATION_IDS, f"{tenant_id}|{waha_message_id}|reply"))


def _header(
    event_type: str, cause: Event, causation: Event, correlation: str, now: datetime
) -> EventHeader:
    # An event of a reply is named after the input it answers (`cause`: one of each type per
    # input) but caused by the step before it (the input, its intent, the hand-off), which all
    # carry the input's tenant.
    return caused_by(
        event_type,
        causation,
        occurred_at=now,
        source=SOURCE,
        namespace=CONVERSATION_IDS,
        key=f"{cause.header.event_id}|{event_type}",
        correlation_id=correlation,
    )


def on_inbound(
    message: InboundMessage,
    classification: Classification,
    *,
    debt: DebtIndexed | None,
    state: ConversationStateChanged | None,
    model_version: str,
    threshold: float,
    now: datetime,
) -> Outcome:
    """The events one inbound message causes (see the module's rules)."""
    if not should_classify(message):
        return Outcome(())
    text = message.body or ""
    label, confidence = classification.label, classification.confidence
    chat = message.chat_id  # the conversation every event of the reply belongs to

    def header(event_type: str, causation: Event) -> EventHeader:
        return _header(event_type, message, causation, chat, now)

    intent = IntentClassified(
        header=header("IntentClassified", message),
        waha_message_id=message.waha_message_id,
        chat_id=message.chat_id,
        label=label,
        confidence=confidence,
        model_version=model_version,
        client_id=debt.client_id if debt is not None else None,
        promised_date=promised_date(text, message.timestamp) if label == "promise_to_pay" else None,
        amount_centavos=amount_brl(text),
    )
    key = chat_key(message.chat_id)
    before = _ChatState.of(state)
    if before.opted_out or before.wrong_number:
        return Outcome((intent,))
    after = before
    events: list[Event] = [intent]
    client_id = debt.client_id if debt is not None else None
    phone = debt.phone_e164 if debt is not None else phone_of_key(key)
    confident = confidence >= threshold

    def reply(text: str) -> None:
        assert debt is not None
        events.append(
            SendRequested(
                header=header("SendRequested", intent),
                request_id=reply_request_id(message.header.tenant_id, message.waha_message_id),
                client_id=debt.client_id,
                phone_e164=debt.phone_e164,
                kind=SendKind.TEXT,
                text=text,
                step=None,
                session=message.session,
            )
        )

    def hand_off(reason: str) -> None:
        nonlocal after
        handoff = HandoffRequested(
            header=header("HandoffRequested", intent),
            chat_id=message.chat_id,
            reason=reason,
            client_id=client_id,
            intent=label,
            waha_message_id=message.waha_message_id,
        )
        events.append(handoff)
        if client_id is not None:
            events.append(
                CollectionPaused(
                    header=header("CollectionPaused", handoff), client_id=client_id, reason=reason
                )
            )
        if debt is not None:
            reply(templates.handoff_notice(name=debt.name))
        after = after.but(open_handoff=handoff.header.event_id, client_id=client_id)

    name = debt.name if debt is not None else None
    if confident and label == "opt_out" and phone is not None:
        events.append(
            OptedOut(
                header=header("OptedOut", intent),
                phone_e164=phone,
                client_id=client_id,
                waha_message_id=message.waha_message_id,
            )
        )
        if debt is not None:
            reply(templates.opt_out_confirmation())
        after = after.but(opted_out=True, client_id=client_id or after.client_id)
    elif confident and label == "wrong_person" and phone is not None:
        events.append(
            WrongNumberReported(
                header=header("WrongNumberReported", intent),
                phone_e164=phone,
                client_id=client_id,
                waha_message_id=message.waha_message_id,
            )
        )
        after = after.but(wrong_number=True, client_id=client_id or after.client_id)
    elif before.open_handoff is not None:
        pass  # a person owns the chat until the hand-off is resolved
    elif not confident:
        hand_off(LOW_CONFIDENCE)
    elif label in HANDOFF_LABELS or label in ("opt_out", "wrong_person"):
        # opt_out / wrong_person here: a chat that is not a phone (no number to block).
        hand_off(label)
    elif label in _NEEDS_DEBT and debt is None:
        hand_off(NO_DEBT)
    elif label == "request_payment_info":
        assert debt is not None
        info = templates.payment_info(
            name=name,
            amount_centavos=debt.amount_centavos,
            due_date=debt.due_date,
            pix_code=debt.pix_code,
            boleto_line=debt.boleto_line,
            payment_url=debt.payment_url,
        )
        if info is None:
            hand_off(NO_PAYMENT_INFO)
        else:
            reply(info)
    elif label == "promise_to_pay":
        assert debt is not None
        events.append(
            PaymentPromised(
                header=header("PaymentPromised", intent),
                client_id=debt.client_id,
                waha_message_id=message.waha_message_id,
                promised_date=intent.promised_date,
                amount_centavos=intent.amount_centavos,
            )
        )
        reply(
            templates.promise_confirmation(
                name=name, promised=intent.promised_date, amount_centavos=intent.amount_centavos
            )
        )
    elif label == "already_paid":
        assert debt is not None
        events.append(
            PaymentClaimed(
                header=header("PaymentClaimed", intent),
                client_id=debt.client_id,
                waha_message_id=message.waha_message_id,
            )
        )
        reply(templates.receipt_request(name=name))
    return Outcome(tuple(events), after.record(message, key, now) if after != before else None)


def on_resolved(
    resolution: HandoffResolved, *, state: ConversationStateChanged | None, now: datetime
) -> Outcome:
    """An operator's resolution: closes the chat's open hand-off and lifts the pause, once."""
    before = _ChatState.of(state)
    if before.open_handoff != resolution.handoff_id:
        return Outcome(())  # resolved already, or not this chat's open hand-off
    events: list[Event] = []
    client_id = resolution.client_id or before.client_id
    if resolution.resume and client_id is not None:
        events.append(
            CollectionResumed(
                header=_header(
                    "CollectionResumed", resolution, resolution, resolution.chat_id, now
                ),
                client_id=client_id,
                reason="handoff_resolved",
                handoff_id=resolution.handoff_id,
            )
        )
    after = before.but(open_handoff=None)
    return Outcome(tuple(events), after.record(resolution, chat_key(resolution.chat_id), now))


@dataclass(frozen=True, slots=True)
class _ChatState:
    opted_out: bool = False
    wrong_number: bool = False
    open_handoff: str | None = None
    client_id: str | None = None

    @classmethod
    def of(cls, record: ConversationStateChanged | None) -> _ChatState:
        if record is None:
            return cls()
        return cls(record.opted_out, record.wrong_number, record.open_handoff, record.client_id)

    def but(self, **changes: object) -> _ChatState:
        values = {
            "opted_out": self.opted_out,
            "wrong_number": self.wrong_number,
            "open_handoff": self.open_handoff,
            "client_id": self.client_id,
            **changes,
        }
        return _ChatState(**values)  # type: ignore[arg-type]

    def record(self, cause: Event, key: str, now: datetime) -> ConversationStateChanged:
        return ConversationStateChanged(
            header=caused_by(
                "ConversationStateChanged",
                cause,
                occurred_at=now,
                source=SOURCE,
                namespace=CONVERSATION_IDS,
                correlation_id=getattr(cause, "chat_id", key),
            ),
            chat_key=key,
            opted_out=self.opted_out,
            wrong_number=self.wrong_number,
            open_handoff=self.open_handoff,
            client_id=self.client_id,
        )


# --- the state: a fold over debts, the agent's state records and its classifications -------


@dataclass(slots=True)
class ConversationBook:
    """What the conversation agent knows about the chats of one partition. `apply` is the fold,
    and the only way it changes; applying an event twice is harmless."""

    debts: dict[tuple[str, str], DebtIndexed] = field(default_factory=dict)
    """(tenant, chat key) → the latest debt the régua indexed for the chat."""
    states: dict[tuple[str, str], ConversationStateChanged] = field(default_factory=dict)
    """(tenant, chat key) → the chat's latest state."""
    classified: set[tuple[str, str]] = field(default_factory=set)
    """(tenant, WAHA message id) of every message classified."""
    open_handoffs: int = 0
    """Chats whose latest state has an open hand-off (for the metrics)."""

    def apply(self, event: Event) -> None:
        tenant = event.header.tenant_id
        if isinstance(event, DebtIndexed):
            self.debts[(tenant, event.chat_key)] = event
        elif isinstance(event, ConversationStateChanged):
            key = (tenant, event.chat_key)
            before = self.states.get(key)
            was_open = before is not None and before.open_handoff is not None
            self.open_handoffs += int(event.open_handoff is not None) - int(was_open)
            self.states[key] = event
        elif isinstance(event, IntentClassified):
            self.classified.add((tenant, event.waha_message_id))

    def debt(self, tenant: str, chat: str) -> DebtIndexed | None:
        return self.debts.get((tenant, chat_key(chat)))

    def state(self, tenant: str, chat: str) -> ConversationStateChanged | None:
        return self.states.get((tenant, chat_key(chat)))

    def was_classified(self, message: InboundMessage) -> bool:
        return (message.header.tenant_id, message.waha_message_id) in self.classified


def fold(events: Iterable[Event]) -> ConversationBook:
    book = ConversationBook()
    for event in events:
        book.apply(event)
    return book


def handle_message(
    book: ConversationBook,
    message: InboundMessage,
    classification: Classification,
    *,
    model_version: str,
    threshold: float,
    now: datetime,
) -> Outcome:
    """An inbound message against the book: the outcome to emit, already applied to it."""
    if book.was_classified(message):
        return Outcome(())  # a redelivered or re-normalized message: handled once
    tenant = message.header.tenant_id
    outcome = on_inbound(
        message,
        classification,
        debt=book.debt(tenant, message.chat_id),
        state=book.state(tenant, message.chat_id),
        model_version=model_version,
        threshold=threshold,
        now=now,
    )
    _apply(book, outcome)
    return outcome


def handle_resolution(
    book: ConversationBook, resolution: HandoffResolved, *, now: datetime
) -> Outcome:
    """An operator's resolution against the book: the outcome, already applied to it."""
    state = book.state(resolution.header.tenant_id, resolution.chat_id)
    outcome = on_resolved(resolution, state=state, now=now)
    _apply(book, outcome)
    return outcome


def _apply(book: ConversationBook, outcome: Outcome) -> None:
    for event in outcome.events:
        book.apply(event)
    if outcome.state is not None:
        book.apply(outcome.state)
