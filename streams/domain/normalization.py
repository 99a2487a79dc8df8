"""Callback normalization: WahaCallbackReceived → InboundMessage, DeliveryStatusChanged,
SessionStatusChanged, deduplicated, acks kept monotonic, linked to the sends they answer.

Pure: no I/O. The agent (`streams/agents/normalizer.py`) feeds it the callback, the state of its
partition (`ConversationBook`, a fold of what it emitted: streams/runtime/state.py) and the
table of dispatched messages (`DispatchLinks`, followed from cobranca.dispatches on the side); it
emits what `handle` returns.

**The boundary with connectors/waha**, which this module never imports. WAHA's wire format is
the connector's: connectors/waha/normalize.py reads a callback's body into a `CallbackReading`,
which gives the callback's dedupe keys and, when asked, its normalized value
(streams/domain/normalized.py: the chat, the sender, the ack level, already resolved). The dedupe
keys are built by the connector because they are made of WAHA's ids (envelope id, session +
event + payload id). The folds here also read ids from events already stored (our outputs,
MessageDispatched), spelled as WAHA spelled them; which spellings name one message, one chat or
one webhook is WAHA's format too, so they ask a `MessageIds` (the connector's `WAHA_IDS`) rather
than compare strings. What stays here are the rules over those values: the fold, the dedupe
decision, the monotonic ack rule, the links to requests, and the events built from them.

Rules (docs/adr/0002, docs/adr/0007):

- **Duplicates.** A callback is a duplicate when one of its `dedup_keys` (the envelope id, then
  session+event+payload id, `message` and `message.any` sharing one) belongs to something already
  emitted. The event id of an output is derived from its most specific key (`key_id`), and every
  output carries its envelope id (`waha_event_id`), so the set of keys seen is a fold of the
  outputs: it survives restarts and rebalances exactly, like the ledger's state. A duplicate is
  not normalized.
- **Acks** are monotonic per message (`next_ack`: the maximum, ERROR terminal); an ack that does
  not move a message forward emits nothing.
- **Links.** An ack, or a message the account itself sent, names the request whose
  MessageDispatched carried the same message (`MessageIds.message_key`); a reply from a debtor
  names the latest request dispatched to that chat on that session no later than
  `REPLY_SLACK` after the reply's timestamp (WhatsApp's clock and the dispatcher's differ).
  A miss says so (`Outcome.unlinked`): the agent catches the table up and asks again, once; a
  second miss emits the event with request_id null.
- **Keys.** Outputs keep their callback's record key (`tenant:chat`, `tenant:session` for a
  session status), and are written to the callback's partition.
"""

from __future__ import annotations

import bisect
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final, Protocol

from schemas.events import (
    DeliveryStatusChanged,
    Event,
    EventHeader,
    InboundMessage,
    MessageDispatched,
    SessionStatusChanged,
    WahaCallbackReceived,
    caused_by,
    derived_id,
)
from streams.domain.errors import InvalidAck
from streams.domain.normalized import (
    Ack,
    Ignored,
    Normalized,
    NormalizedDelivery,
    NormalizedInbound,
    NormalizedSessionStatus,
)

__all__ = [
    "REPLY_SLACK",
    "SOURCE",
    "CallbackReading",
    "ConversationBook",
    "DispatchLinks",
    "MessageIds",
    "Outcome",
    "handle",
    "key_id",
    "next_ack",
]

SOURCE: Final = "streams.normalization"
#: How much later than a reply's own timestamp a dispatch may be and still be what it answers:
#: WhatsApp stamps messages in whole seconds, on another clock than the dispatcher's.
REPLY_SLACK: Final = timedelta(seconds=5)
#: Namespace of the derived event ids (uuid5 of a dedupe key).
_IDS: Final = uuid.UUID("6f1d2c1e-5a0b-4f0e-9f57-0c0b2a7d3e41")
_ACK_LEVELS: Final = frozenset(int(level) for level in Ack)

Conversation = InboundMessage | DeliveryStatusChanged | SessionStatusChanged


class CallbackReading(Protocol):
    """A callback's body as the connector read it (connectors/waha/normalize.py: `read_webhook`)."""

    @property
    def dedup_keys(self) -> tuple[str, ...]:
        """The keys under which the callback counts as already seen, most specific first."""
        ...

    def normalized(self) -> Normalized:
        """What the callback says. Raises the connector's error (`WahaWireError`) when its
        payload does not have WAHA's shape."""
        ...


class MessageIds(Protocol):
    """Which spellings of WAHA's ids name one webhook, one message, one chat
    (connectors/waha/normalize.py: `WAHA_IDS`)."""

    def envelope_key(self, envelope_id: str | None) -> str | None:
        """The dedupe key of a webhook's envelope id, the one `CallbackReading.dedup_keys`
        starts with; None when the id is no key (absent, or a placeholder)."""
        ...

    def message_key(self, message_id: str) -> str:
        """One spelling per message: a send, its acks and the messages the account sent agree
        on it."""
        ...

    def chat(self, chat_id: str) -> str:
        """One spelling per chat: the one normalized values use."""
        ...

    def message_chat(self, message_id: str) -> str | None:
        """The chat a message id names, spelled as `chat` spells it; None for an id that does
        not name one."""
        ...


def key_id(key: str) -> str:
    """The event id an output derived from dedupe key `key` gets (a UUID5)."""
    return derived_id(_IDS, key)


def next_ack(current: int | None, incoming: int) -> int | None:
    """The monotonic ack rule: the ack to store and emit, or None when `incoming` changes nothing.

    `current` is the last ack stored for the message (None before the first). Delivery only moves
    forward: a repeat or an older state arriving late changes nothing, and ERROR (-1) is terminal,
    ranking above every other state (once a message failed, later acks change nothing; an ERROR
    after any other state is taken). So the stored state after any sequence of acks, in any
    order, is ERROR if one of them was ERROR and the highest ack otherwise.

    Raises `InvalidAck` for a value outside -1..4.
    """
    if incoming not in _ACK_LEVELS:
        raise InvalidAck(incoming)
    if current is not None and current not in _ACK_LEVELS:
        raise InvalidAck(current)
    if current == Ack.ERROR:
        return None
    if incoming == Ack.ERROR:
        return int(Ack.ERROR)
    if current is None or incoming > current:
        return incoming
    return None


@dataclass(slots=True)
class ConversationBook:
    """The normalizer's state for one partition: a fold of the events it emitted there."""

    ids: MessageIds = field(compare=False, repr=False)
    seen: set[str] = field(default_factory=set)
    """`key_id` of every dedupe key of an emitted event."""
    acks: dict[str, int] = field(default_factory=dict)
    """Stored ack per message (`MessageIds.message_key` of its id)."""

    def apply(self, event: Event) -> None:
        if not isinstance(event, InboundMessage | DeliveryStatusChanged | SessionStatusChanged):
            return
        self.seen.add(event.header.event_id)
        envelope_key = self.ids.envelope_key(event.waha_event_id)
        if envelope_key is not None:
            self.seen.add(key_id(envelope_key))
        if isinstance(event, DeliveryStatusChanged):
            self.acks[self.ids.message_key(event.waha_message_id)] = event.ack

    def has_seen(self, keys: tuple[str, ...]) -> bool:
        return any(key_id(key) in self.seen for key in keys)

    def ack_of(self, waha_message_id: str) -> int | None:
        """The ack stored for a message; None before its first."""
        return self.acks.get(self.ids.message_key(waha_message_id))


@dataclass(slots=True)
class DispatchLinks:
    """Which request each dispatched WAHA message answers: a fold of MessageDispatched."""

    ids: MessageIds = field(compare=False, repr=False)
    by_message: dict[str, str] = field(default_factory=dict)
    """`MessageIds.message_key(waha_message_id)` → request id."""
    by_chat: dict[tuple[str, str], list[tuple[datetime, str]]] = field(default_factory=dict)
    """(session, chat) → (dispatched at, request id), in time order."""

    def apply(self, event: Event) -> None:
        if not isinstance(event, MessageDispatched):
            return
        self.by_message[self.ids.message_key(event.waha_message_id)] = event.request_id
        # The message id names the chat WhatsApp really used (after the 9th-digit check).
        chats = {self.ids.chat(event.chat_id)}
        named = self.ids.message_chat(event.waha_message_id)
        if named is not None:
            chats.add(named)
        for chat in chats:
            bisect.insort(
                self.by_chat.setdefault((event.session, chat), []),
                (event.header.occurred_at, event.request_id),
            )

    def request_for_message(self, waha_message_id: str) -> str | None:
        return self.by_message.get(self.ids.message_key(waha_message_id))

    def request_for_reply(self, session: str, chat_id: str, at: datetime) -> str | None:
        """The latest request dispatched to `chat_id` on `session` up to `at` + REPLY_SLACK."""
        sent = self.by_chat.get((session, self.ids.chat(chat_id)))
        if not sent:
            return None
        limit = at + REPLY_SLACK
        index = bisect.bisect_right(sent, limit, key=lambda item: item[0])
        return sent[index - 1][1] if index else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one callback comes to."""

    events: tuple[Conversation, ...] = ()
    """To emit (and apply to the book), in order."""
    duplicate: bool = False
    ignored: Ignored | None = None
    stale_ack: bool = False
    """An ack that does not move its message forward."""
    unlinked: bool = False
    """A request was looked for and not found: catch the links up and ask again."""


def handle(
    book: ConversationBook,
    links: DispatchLinks,
    callback: WahaCallbackReceived,
    reading: CallbackReading,
) -> Outcome:
    """Normalize one callback, read by the connector as `reading`, against the partition's
    state and the dispatch links.

    Raises what `reading.normalized()` raises when the body is not a WAHA webhook the
    normalizer can read (the agent dead-letters it). Does not change `book`: the caller applies
    the events it emits.
    """
    keys = reading.dedup_keys
    if book.has_seen(keys):
        return Outcome(duplicate=True)
    result = reading.normalized()
    if isinstance(result, Ignored):
        return Outcome(ignored=result)
    # The most specific key (session+event+payload id) names the output; the envelope id only
    # when there is no other; a callback with neither is named after itself. The output's id is
    # then `key_id(id_key)`, which is what `ConversationBook.has_seen` looks for.
    id_key = keys[-1] if keys else f"callback:{callback.header.event_id}"
    request_id: str | None = None
    looked = False
    out: Conversation
    if isinstance(result, NormalizedDelivery):
        ack = next_ack(book.ack_of(result.waha_message_id), result.ack)
        if ack is None:
            return Outcome(stale_ack=True)
        if result.from_me:
            looked, request_id = True, links.request_for_message(result.waha_message_id)
        out = DeliveryStatusChanged(
            header=_header(
                result.event_type,
                request_id or result.chat_id,
                callback,
                result.occurred_at or callback.received_at,
                id_key,
            ),
            request_id=request_id,
            **result.event_fields(),
        )
    elif isinstance(result, NormalizedInbound):
        if result.from_me:
            looked, request_id = True, links.request_for_message(result.waha_message_id)
        elif not result.is_group:
            looked = True
            request_id = links.request_for_reply(result.session, result.chat_id, result.timestamp)
        out = InboundMessage(
            header=_header(
                result.event_type,
                request_id or result.chat_id,
                callback,
                result.occurred_at,
                id_key,
            ),
            request_id=request_id,
            **result.event_fields(),
        )
    else:
        assert isinstance(result, NormalizedSessionStatus)
        out = SessionStatusChanged(
            header=_header(
                result.event_type,
                result.session,
                callback,
                result.occurred_at or callback.received_at,
                id_key,
            ),
            **result.event_fields(),
        )
    return Outcome(events=(out,), unlinked=looked and request_id is None)


def _header(
    event_type: str,
    correlation: str,
    callback: WahaCallbackReceived,
    occurred_at: datetime,
    id_key: str,
) -> EventHeader:
    return caused_by(
        event_type,
        callback,
        occurred_at=occurred_at,
        source=SOURCE,
        namespace=_IDS,
        key=id_key,
        correlation_id=correlation,
    )
