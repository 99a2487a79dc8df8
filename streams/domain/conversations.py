"""Conversations as operators read them: each chat's messages in and out, what the classifier
made of each inbound one, where each outbound one stands, and the chat's hand-offs.

Message texts live only on the log (analytics drops them, LGPD), so the API folds the topics a
thread needs into a `ConversationBook` (docs/adr/0026-conversation-threads.md):

- cobranca.conversations: InboundMessage (the debtor's messages; the account's own ones sent
  from the phone by a person), DeliveryStatusChanged, HandoffResolved, IntentCorrected;
- cobranca.intents: IntentClassified; cobranca.actions: HandoffRequested;
- cobranca.sends.requested / .decided and cobranca.dispatches: what was sent and how far it got.

The topics are followed side by side, so events about one message arrive in any order: every
fact is stored under the id it is about and joined when read, so the book is the same whatever
the order (and applying an event twice changes nothing). Only what a request id alone names
(SendRejected, SendDeferred, DispatchFailed) waits in a bounded table for its request.

Bounds: `MAX_MESSAGES` per chat (the oldest go first), `MAX_CHATS` per tenant (the least
recently active go first), `MAX_PENDING` statuses per tenant waiting for their request.

Pure: no I/O. `streams/ops/api_server.py` feeds it; `connectors/api/routes/conversations.py`
reads it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final, Literal, NamedTuple, TypeVar

from schemas.events import (
    DeliveryStatusChanged,
    DispatchFailed,
    Event,
    HandoffRequested,
    HandoffResolved,
    InboundMessage,
    IntentClassified,
    IntentCorrected,
    MessageDispatched,
    SendApproved,
    SendDeferred,
    SendKind,
    SendRejected,
    SendRequested,
    new_header,
)
from streams.domain.chat_keys import chat_key, phone_of_key
from streams.domain.errors import HandoffError, InvalidMessage
from streams.domain.handoffs import Handoff
from streams.domain.intent import LABELS
from streams.domain.messages import MAX_TEXT, OPERATOR_STEP, SendStatus, further, status_of

__all__ = [
    "MAX_CHATS",
    "MAX_MESSAGES",
    "MAX_PENDING",
    "SOURCE",
    "ChatSummary",
    "ConversationBook",
    "OpenHandoff",
    "Thread",
    "ThreadHandoff",
    "ThreadMessage",
    "correction_for",
    "operator_reply",
]

SOURCE: Final = "api.conversations"
MAX_MESSAGES: Final = 200
"""Messages kept per chat: a thread shows its last 200."""
MAX_CHATS: Final = 50_000
"""Chats kept per tenant: the least recently active beyond it are forgotten."""
MAX_PENDING: Final = 10_000
"""Per tenant, statuses of sends whose request was not read yet (other topic, other pace)."""
_MAX_HANDOFFS: Final = 50

Direction = Literal["inbound", "outbound"]
_K = TypeVar("_K")
_V = TypeVar("_V")


def _put(table: MutableMapping[_K, _V], key: _K, value: _V, limit: int) -> None:
    """Store, forgetting the oldest entries (insertion order) beyond `limit`."""
    table[key] = value
    while len(table) > limit:
        del table[next(iter(table))]


class _Message(NamedTuple):
    """A message of a thread, made by `_message`. A chat stores it as a plain tuple (`_Chat.rows`):
    the garbage collector stops tracking a tuple of plain values, never an object or a named
    tuple, and a book of 50,000 chats made of objects is scanned on every full collection
    (pauses of 100-400 ms in the API under load)."""

    timestamp: float
    """`at` as a POSIX timestamp: a thread is ordered by it, then by id (`rank`); first, so the
    stored tuples order the same way (comparing aware datetimes is slow)."""
    message_id: str
    """The WAHA id of an inbound message or of one typed on the phone; a send's request id."""
    direction: Direction
    at: datetime
    text: str | None
    kind: str
    """text, file or media (inbound with media)."""
    step: str | None
    """A send's step (D0, api, operator; None for the bot's replies); `phone` for a message a
    person typed on the account's phone."""
    author: str | None
    """Who asked for a send (its header's source, e.g. `api user:<id>`)."""
    request_id: str | None

    @property
    def rank(self) -> tuple[float, str]:
        return (self.timestamp, self.message_id)


def _message(
    message_id: str,
    direction: Direction,
    at: datetime,
    text: str | None,
    kind: str,
    step: str | None = None,
    author: str | None = None,
    request_id: str | None = None,
) -> _Message:
    return _Message(at.timestamp(), message_id, direction, at, text, kind, step, author, request_id)


class _Intent(NamedTuple):
    """What a thread shows of an IntentClassified (the event itself is larger); a tuple for the
    same reason as `_Message`."""

    label: str
    confidence: float
    promised_date: str | None
    amount_centavos: int | None

    @classmethod
    def of(cls, event: IntentClassified) -> _Intent:
        promised = None if event.promised_date is None else event.promised_date.isoformat()
        return cls(event.label, event.confidence, promised, event.amount_centavos)


@dataclass(slots=True)
class _Chat:
    key: str
    chat_id: str | None = None
    client_id: str | None = None
    session: str | None = None
    """The session the debtor last wrote to: where a person's reply goes out."""
    rows: dict[str, tuple[object, ...]] = field(default_factory=dict)
    """message id → its `_Message` as a plain tuple (read through `message` and `messages`)."""
    intents: dict[str, _Intent] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)
    """waha id → the label an operator gave it last (resolution or correction)."""
    statuses: dict[str, SendStatus] = field(default_factory=dict)
    """request id → furthest status read from the ledger and dispatch."""
    waha_of: dict[str, str] = field(default_factory=dict)
    """request id → the WAHA id its message got."""
    acks: dict[str, int] = field(default_factory=dict)
    """WAHA id → furthest ack of an outbound message."""
    handoffs: dict[str, list[HandoffRequested | HandoffResolved | None]] = field(
        default_factory=dict
    )
    """hand-off id → [its request, its first resolution] (either may come first)."""
    summary: ChatSummary | None = None
    """The chat's line in the list, until the chat changes."""

    def message(self, message_id: str) -> _Message | None:
        row = self.rows.get(message_id)
        return None if row is None else _Message._make(row)

    def messages(self) -> list[_Message]:
        return [_Message._make(row) for row in self.rows.values()]

    def add(self, message: _Message, tenant: _Tenant) -> None:
        if message.message_id in self.rows:
            return
        self.rows[message.message_id] = tuple(message)
        if message.request_id is not None:
            tenant.requests[message.request_id] = self.key
            pending = tenant.pending.pop(message.request_id, None)
            if pending is not None:
                self._advance(message.request_id, pending)
        if len(self.rows) > MAX_MESSAGES:
            # A row starts with its rank (timestamp, then the unique id): tuples order by it.
            self._forget(_Message._make(min(self.rows.values())), tenant)

    def _forget(self, message: _Message, tenant: _Tenant) -> None:
        del self.rows[message.message_id]
        self.intents.pop(message.message_id, None)
        self.corrections.pop(message.message_id, None)
        self.acks.pop(message.message_id, None)
        if message.request_id is not None:
            tenant.requests.pop(message.request_id, None)
            self.statuses.pop(message.request_id, None)
            waha = self.waha_of.pop(message.request_id, None)
            if waha is not None:
                self.acks.pop(waha, None)

    def _advance(self, request_id: str, status: SendStatus | None) -> None:
        best = further(self.statuses.get(request_id), status)
        if best is not None:
            _put(self.statuses, request_id, best, 2 * MAX_MESSAGES)

    def status(self, message: _Message) -> SendStatus | None:
        best = None if message.request_id is None else self.statuses.get(message.request_id)
        waha = (
            message.message_id
            if message.request_id is None
            else self.waha_of.get(message.request_id)
        )
        if waha is not None and waha in self.acks:
            best = further(best, status_of("DeliveryStatusChanged", {"ack": self.acks[waha]}))
        if best is None and message.step == "phone":
            return SendStatus.SENT
        return best

    def open_handoff(self) -> HandoffRequested | None:
        opened = [
            pair[0]
            for pair in self.handoffs.values()
            if isinstance(pair[0], HandoffRequested) and pair[1] is None
        ]
        return max(opened, key=lambda h: h.header.occurred_at) if opened else None

    def last(self) -> _Message | None:
        if not self.rows:
            return None
        return _Message._make(max(self.rows.values()))

    def label_of(self, waha_message_id: str) -> tuple[str, float] | None:
        intent = self.intents.get(waha_message_id)
        return None if intent is None else (intent.label, intent.confidence)


@dataclass(slots=True)
class _Tenant:
    chats: OrderedDict[str, _Chat] = field(default_factory=OrderedDict)
    """Chat key → chat, the most recently active last."""
    requests: dict[str, str] = field(default_factory=dict)
    """Request id → chat key, for the sends the book holds."""
    pending: OrderedDict[str, SendStatus] = field(default_factory=OrderedDict)
    handoffs: dict[str, str] = field(default_factory=dict)
    """Hand-off id → chat key."""

    def chat(self, key: str) -> _Chat:
        chat = self.chats.get(key)
        if chat is None:
            chat = self.chats[key] = _Chat(key)
            while len(self.chats) > MAX_CHATS:
                _, evicted = self.chats.popitem(last=False)
                for message in evicted.messages():
                    evicted._forget(message, self)
                for handoff_id in evicted.handoffs:
                    self.handoffs.pop(handoff_id, None)
        else:
            self.chats.move_to_end(key)
            chat.summary = None  # whoever asks for the chat changes it
        return chat

    def advance(self, request_id: str, status: SendStatus | None) -> None:
        if status is None:
            return
        key = self.requests.get(request_id)
        chat = None if key is None else self.chats.get(key)
        if chat is None:
            best = further(self.pending.get(request_id), status)
            assert best is not None
            _put(self.pending, request_id, best, MAX_PENDING)
        else:
            chat._advance(request_id, status)


# --- what readers get ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a thread."""

    message_id: str
    direction: Direction
    at: datetime
    text: str | None
    kind: str
    label: str | None = None
    """Inbound: the classifier's label (None: not classified, e.g. media without text)."""
    confidence: float | None = None
    corrected_label: str | None = None
    """Inbound: the label an operator gave it last, if any."""
    promised_date: str | None = None
    amount_centavos: int | None = None
    status: str | None = None
    """Outbound: requested, deferred, approved, rejected, sent, delivered, read, failed."""
    step: str | None = None
    author: str | None = None


@dataclass(frozen=True, slots=True)
class ThreadHandoff:
    """One hand-off of a chat."""

    handoff_id: str
    reason: str
    opened_at: datetime
    waha_message_id: str | None
    resolved_at: datetime | None
    label: str | None
    operator: str | None


@dataclass(frozen=True, slots=True)
class ChatSummary:
    """A chat in the list of a tenant's conversations."""

    chat: str
    """The chat key: the phone's digits with the 9th digit, or the WhatsApp id of a non-phone."""
    chat_id: str | None
    phone: str | None
    client_id: str | None
    last_at: datetime
    last_direction: Direction
    last_text: str | None
    last_label: str | None
    last_confidence: float | None
    open_handoff: bool
    replied: bool
    """The debtor wrote at least once (in the messages kept)."""


@dataclass(frozen=True, slots=True)
class Thread:
    summary: ChatSummary
    messages: tuple[ThreadMessage, ...]
    handoffs: tuple[ThreadHandoff, ...]
    """Oldest first; the open one, if any, has no `resolved_at`."""
    session: str | None


@dataclass(frozen=True, slots=True)
class OpenHandoff:
    handoff: Handoff
    chat: str
    age_s: int


# --- the book ------------------------------------------------------------------------------------


class ConversationBook:
    """Every tenant's chats, folded from the topics listed in the module's docstring."""

    def __init__(self) -> None:
        self._tenants: dict[str, _Tenant] = {}

    def _tenant(self, tenant: str) -> _Tenant:
        found = self._tenants.get(tenant)
        if found is None:
            found = self._tenants[tenant] = _Tenant()
        return found

    def apply(self, event: Event) -> None:
        tenant = self._tenant(event.header.tenant_id)
        if isinstance(event, InboundMessage):
            self._inbound(tenant, event)
        elif isinstance(event, IntentClassified):
            chat = tenant.chat(chat_key(event.chat_id))
            chat.client_id = event.client_id or chat.client_id
            _put(chat.intents, event.waha_message_id, _Intent.of(event), 2 * MAX_MESSAGES)
        elif isinstance(event, IntentCorrected):
            chat = tenant.chat(chat_key(event.chat_id))
            _put(chat.corrections, event.waha_message_id, event.label, 2 * MAX_MESSAGES)
        elif isinstance(event, HandoffRequested):
            chat = tenant.chat(chat_key(event.chat_id))
            chat.chat_id = chat.chat_id or event.chat_id
            chat.client_id = event.client_id or chat.client_id
            pair = chat.handoffs.setdefault(event.header.event_id, [None, None])
            pair[0] = event
            tenant.handoffs[event.header.event_id] = chat.key
            self._trim_handoffs(tenant, chat)
        elif isinstance(event, HandoffResolved):
            chat = tenant.chat(chat_key(event.chat_id))
            pair = chat.handoffs.setdefault(event.handoff_id, [None, None])
            if pair[1] is None:
                pair[1] = event
            tenant.handoffs[event.handoff_id] = chat.key
            if event.waha_message_id is not None:
                _put(chat.corrections, event.waha_message_id, event.label, 2 * MAX_MESSAGES)
            self._trim_handoffs(tenant, chat)
        elif isinstance(event, SendRequested):
            self._requested(tenant, event)
        elif isinstance(event, SendApproved | SendRejected | SendDeferred | DispatchFailed):
            fields = {"retryable": event.retryable} if isinstance(event, DispatchFailed) else {}
            tenant.advance(event.request_id, status_of(event.header.event_type, fields))
        elif isinstance(event, MessageDispatched):
            chat = tenant.chat(chat_key(event.chat_id))
            chat.chat_id = chat.chat_id or event.chat_id
            _put(chat.waha_of, event.request_id, event.waha_message_id, 2 * MAX_MESSAGES)
            tenant.advance(event.request_id, SendStatus.SENT)
        elif isinstance(event, DeliveryStatusChanged):
            chat = tenant.chat(chat_key(event.chat_id))
            ack = max(chat.acks.get(event.waha_message_id, event.ack), event.ack)
            _put(chat.acks, event.waha_message_id, ack, 2 * MAX_MESSAGES)
            if event.request_id is not None:
                _put(chat.waha_of, event.request_id, event.waha_message_id, 2 * MAX_MESSAGES)

    @staticmethod
    def _trim_handoffs(tenant: _Tenant, chat: _Chat) -> None:
        while len(chat.handoffs) > _MAX_HANDOFFS:
            oldest = next(iter(chat.handoffs))
            del chat.handoffs[oldest]
            tenant.handoffs.pop(oldest, None)

    @staticmethod
    def _inbound(tenant: _Tenant, event: InboundMessage) -> None:
        if event.is_group:
            return
        chat = tenant.chat(chat_key(event.chat_id))
        chat.chat_id = event.chat_id
        if event.from_me:
            if event.request_id is not None:
                # WAHA's echo of a send of ours: the send is the message, this names its id.
                _put(chat.waha_of, event.request_id, event.waha_message_id, 2 * MAX_MESSAGES)
                return
            kind, step = "media" if event.has_media else "text", "phone"
            chat.add(
                _message(
                    event.waha_message_id, "outbound", event.timestamp, event.body, kind, step
                ),
                tenant,
            )
            return
        chat.session = event.session
        kind = "media" if event.has_media else "text"
        chat.add(
            _message(event.waha_message_id, "inbound", event.timestamp, event.body, kind), tenant
        )

    @staticmethod
    def _requested(tenant: _Tenant, event: SendRequested) -> None:
        chat = tenant.chat(chat_key(event.phone_e164))
        chat.client_id = chat.client_id or event.client_id
        kind = "file" if event.kind is SendKind.FILE else "text"
        message = _message(
            event.request_id,
            "outbound",
            event.header.occurred_at,
            event.text,
            kind,
            event.step,
            event.header.source,
            event.request_id,
        )
        chat.add(message, tenant)
        chat._advance(event.request_id, SendStatus.REQUESTED)

    # --- reading ------------------------------------------------------------------------------

    def _chat(self, tenant: str, chat: str) -> _Chat | None:
        found = self._tenants.get(tenant)
        return None if found is None else found.chats.get(chat_key(chat))

    @staticmethod
    def _summary(chat: _Chat) -> ChatSummary | None:
        last = chat.last()
        if last is None:
            return None
        inbound = [m for m in chat.messages() if m.direction == "inbound"]
        labelled = [m for m in inbound if m.message_id in chat.intents]
        latest = max(labelled, key=lambda m: m.rank) if labelled else None
        intent = None if latest is None else chat.intents[latest.message_id]
        return ChatSummary(
            chat=chat.key,
            chat_id=chat.chat_id,
            phone=phone_of_key(chat.key),
            client_id=chat.client_id,
            last_at=last.at,
            last_direction=last.direction,
            last_text=last.text,
            last_label=None if intent is None else intent.label,
            last_confidence=None if intent is None else intent.confidence,
            open_handoff=chat.open_handoff() is not None,
            replied=bool(inbound),
        )

    def summaries(self, tenant: str) -> list[ChatSummary]:
        """The tenant's chats with at least one message kept, newest activity first."""
        found = self._tenants.get(tenant)
        if found is None:
            return []
        rows = []
        for chat in found.chats.values():
            if chat.summary is None:
                chat.summary = self._summary(chat)
            if chat.summary is not None:
                rows.append(chat.summary)
        return sorted(rows, key=lambda s: (s.last_at, s.chat), reverse=True)

    def thread(self, tenant: str, chat: str) -> Thread | None:
        """A chat's messages oldest first and its hand-offs; None for a chat not in the book."""
        found = self._chat(tenant, chat)
        summary = None if found is None else self._summary(found)
        if found is None or summary is None:
            return None
        messages = []
        for m in sorted(found.messages(), key=lambda m: m.rank):
            if m.direction == "inbound":
                intent = found.intents.get(m.message_id)
                messages.append(
                    ThreadMessage(
                        m.message_id,
                        m.direction,
                        m.at,
                        m.text,
                        m.kind,
                        label=None if intent is None else intent.label,
                        confidence=None if intent is None else intent.confidence,
                        corrected_label=found.corrections.get(m.message_id),
                        promised_date=None if intent is None else intent.promised_date,
                        amount_centavos=None if intent is None else intent.amount_centavos,
                    )
                )
            else:
                status = found.status(m)
                messages.append(
                    ThreadMessage(
                        m.message_id,
                        m.direction,
                        m.at,
                        m.text,
                        m.kind,
                        status=None if status is None else status.value,
                        step=m.step,
                        author=m.author,
                    )
                )
        handoffs = []
        for request, resolution in found.handoffs.values():
            if not isinstance(request, HandoffRequested):
                continue
            done = resolution if isinstance(resolution, HandoffResolved) else None
            handoffs.append(
                ThreadHandoff(
                    request.header.event_id,
                    request.reason,
                    request.header.occurred_at,
                    request.waha_message_id,
                    None if done is None else done.header.occurred_at,
                    None if done is None else done.label,
                    None if done is None else done.operator,
                )
            )
        handoffs.sort(key=lambda h: h.opened_at)
        return Thread(summary, tuple(messages), tuple(handoffs), found.session)

    def handoff(self, tenant: str, handoff_id: str) -> Handoff | None:
        """One hand-off with the text of its message, as `resolution_for` takes it."""
        found = self._tenants.get(tenant)
        key = None if found is None else found.handoffs.get(handoff_id)
        chat = None if found is None or key is None else found.chats.get(key)
        pair = None if chat is None else chat.handoffs.get(handoff_id)
        if chat is None or pair is None or not isinstance(pair[0], HandoffRequested):
            return None
        request, resolution = pair[0], pair[1]
        message = chat.message(request.waha_message_id or "")
        return Handoff(
            request,
            None if message is None else message.text,
            resolution if isinstance(resolution, HandoffResolved) else None,
        )

    def open_handoffs(self, tenant: str, now: datetime) -> list[OpenHandoff]:
        """The tenant's open hand-offs, oldest first, with their age at `now`."""
        found = self._tenants.get(tenant)
        if found is None:
            return []
        opened = []
        for handoff_id, key in found.handoffs.items():
            handoff = self.handoff(tenant, handoff_id)
            if handoff is not None and handoff.is_open:
                age = max(0, int((now - handoff.opened_at).total_seconds()))
                opened.append(OpenHandoff(handoff, key, age))
        return sorted(opened, key=lambda h: (h.handoff.opened_at, h.handoff.handoff_id))

    def inbound(self, tenant: str, chat: str, waha_message_id: str) -> tuple[str, str | None]:
        """(chat id, classified label) of a classified inbound message of the chat; raises
        HandoffError when the book holds no such classified message."""
        found = self._chat(tenant, chat)
        message = None if found is None else found.message(waha_message_id)
        if found is None or message is None or message.direction != "inbound":
            raise HandoffError(f"no inbound message {waha_message_id!r} in chat {chat!r}")
        label = found.label_of(waha_message_id)
        if label is None:
            raise HandoffError(
                f"message {waha_message_id!r} was not classified (media or no text): "
                "there is no label to correct"
            )
        return found.chat_id or chat, label[0]

    def reply_target(self, tenant: str, chat: str) -> tuple[str, str | None, str | None]:
        """(E.164 phone, client id, session) a person's reply to the chat goes to; raises
        InvalidMessage for a chat not in the book or that is not a phone."""
        found = self._chat(tenant, chat)
        phone = None if found is None else phone_of_key(found.key)
        if found is None or phone is None:
            raise InvalidMessage(f"no conversation {chat!r} to reply to")
        return phone, found.client_id, found.session


# --- commands ------------------------------------------------------------------------------------


def correction_for(
    tenant: str,
    chat_id: str,
    waha_message_id: str,
    label: str,
    *,
    classified_label: str | None,
    client_id: str | None,
    operator: str | None,
    note: str | None,
    now: datetime,
) -> IntentCorrected:
    """An operator's correction of an inbound message's label (a training row once exported)."""
    if label not in LABELS:
        raise HandoffError(f"unknown label {label!r}; one of: {', '.join(LABELS)}")
    return IntentCorrected(
        header=new_header(
            "IntentCorrected",
            tenant_id=tenant,
            correlation_id=chat_id,
            causation_id=None,
            source=SOURCE,
            occurred_at=now,
        ),
        chat_id=chat_id,
        waha_message_id=waha_message_id,
        label=label,
        classified_label=classified_label,
        client_id=client_id,
        operator=operator,
        note=note,
    )


def operator_reply(
    tenant: str,
    phone: str,
    text: str,
    request_id: str,
    *,
    client_id: str | None,
    session: str | None,
    actor: str,
    now: datetime,
) -> SendRequested:
    """A person's reply in a chat: a SendRequested of step `operator`, to the session the debtor
    last wrote to, priced and decided by the ledger like any send."""
    if not text.strip():
        raise InvalidMessage("text must be non-empty")
    if len(text) > MAX_TEXT:
        raise InvalidMessage(f"text is longer than {MAX_TEXT} characters")
    return SendRequested(
        header=new_header(
            "SendRequested",
            tenant_id=tenant,
            correlation_id=request_id,
            causation_id=None,
            source=f"api {actor}",
            occurred_at=now,
        ),
        request_id=request_id,
        client_id=client_id or phone,
        phone_e164=phone,
        kind=SendKind.TEXT,
        text=text,
        step=OPERATOR_STEP,
        session=session,
    )
