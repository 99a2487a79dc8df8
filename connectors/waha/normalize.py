"""Normalization of WAHA webhooks: pure functions from an envelope to cobranca's event values.

Given a decoded `WebhookEnvelope`, `normalize` returns one of

- `NormalizedInbound`: the fields of an InboundMessage (`message`, `message.any`);
- `NormalizedDelivery`: the fields of a DeliveryStatusChanged (`message.ack`);
- `NormalizedSessionStatus`: the fields of a SessionStatusChanged (`session.status`);
- `Ignored`: nothing to emit, with a reason code and a sentence saying why.

The Faust agent and `cobranca waha normalize` both call these functions; the agent adds the event
header, the tenant of the session and the `request_id` (from its message-id table). Nothing here
does I/O, reads a clock or keeps state, so replaying a callback normalizes it the same way.

Rules (issue 4, section 2, and WAHA_API.md):

- The chat is the second segment of the message id `{fromMe}_{chat}_{waId}[_{participant}]`, on
  every engine. `from`/`to` are only a fallback for ids not in that form, because their meaning
  depends on the engine (WEBJS: `from` is the sender, our own id for our messages; NOWEB and
  GOWS: `from` is the chat). `@s.whatsapp.net` becomes `@c.us`; `@lid` and `@g.us` stay as sent.
- Group chats (`@g.us`) and the account's own messages (`fromMe`) are marked, not dropped: the
  conversation flow must see them to skip them. Status posts (`status@broadcast`) and channels
  (`@newsletter`) are not conversations and are ignored. The sender of a group message is its
  `participant`, kept as sent (often a `@lid`, which only WAHA's lids API can map to a phone).
  `participant` is not a group marker: WEBJS sets it in direct chats too.
- `message` and `message.any` carry the same payload for an inbound message and normalize to the
  same value; `dedup_keys` gives them a common key so only one InboundMessage is produced.
- An ack of null or named UNKNOWN (GOWS) is ignored, as is a number outside -1..4. The ack name
  is WAHA's canonical name for the number, not the payload's `ackName`. Group receipts
  (`message.ack.group`, and `message.ack` in a `@g.us` chat before WAHA 2025.12.2) are
  per-participant and ignored: cobranca sends to direct chats only. `next_ack` is the monotonic
  rule the agent applies per message; match acks and replies to sends with `wire.link_key`.
- Timestamps are aware UTC datetimes.

docs/adr/0002-waha-normalization.md records why.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final, TypeAlias

import orjson

from connectors.waha.errors import InvalidAck, WahaWireError
from connectors.waha.wire import (
    Ack,
    Engine,
    Message,
    WahaEvent,
    WebhookEnvelope,
    canonical_jid,
    decode_envelope,
    parse_message,
    parse_message_ack,
    parse_message_id,
    parse_session_status,
)

__all__ = [
    "DELIVERY_STATUS_CHANGED",
    "IGNORED",
    "INBOUND_MESSAGE",
    "SESSION_STATUS_CHANGED",
    "IgnoreReason",
    "Ignored",
    "Normalized",
    "NormalizedDelivery",
    "NormalizedInbound",
    "NormalizedSessionStatus",
    "dedup_keys",
    "envelope_dedup_key",
    "is_placeholder_envelope_id",
    "next_ack",
    "normalize",
    "normalize_body",
    "routing_chat",
]

INBOUND_MESSAGE: Final = "InboundMessage"
DELIVERY_STATUS_CHANGED: Final = "DeliveryStatusChanged"
SESSION_STATUS_CHANGED: Final = "SessionStatusChanged"
IGNORED: Final = "ignored"

_BROWSER_ENGINES: Final = frozenset({Engine.WEBJS.value, Engine.WPP.value})
_SOCKET_ENGINES: Final = frozenset({Engine.NOWEB.value, Engine.GOWS.value})
_ACK_LEVELS: Final = frozenset(int(level) for level in Ack)
_CHAT_EVENTS: Final = frozenset(
    {WahaEvent.MESSAGE, WahaEvent.MESSAGE_ANY, WahaEvent.MESSAGE_ACK, WahaEvent.MESSAGE_ACK_GROUP}
)


class IgnoreReason(enum.StrEnum):
    """Why a webhook produces no event (stable codes, fit for a metric label)."""

    UNSUPPORTED_EVENT = "unsupported_event"
    REACTION = "reaction"
    NOT_A_CONVERSATION = "not_a_conversation"
    GROUP_RECEIPT = "group_receipt"
    UNKNOWN_ACK = "unknown_ack"


@dataclass(frozen=True, slots=True)
class NormalizedInbound:
    """The fields of an InboundMessage, from a `message` or `message.any` webhook."""

    event_type: ClassVar[str] = INBOUND_MESSAGE

    session: str
    waha_message_id: str
    chat_id: str
    """The conversation: the id's chat segment, `@c.us`, `@lid` or `@g.us`."""
    sender: str
    """Who wrote it: the chat in a direct chat, `participant` in a group, `me.id` if from_me."""
    is_group: bool
    from_me: bool
    """Written by this session's account (from the app, or sent through WAHA)."""
    has_media: bool
    timestamp: datetime
    """When the message was sent (payload `timestamp`, else the envelope's), aware UTC."""
    body: str | None = None
    """Text or caption; None when empty."""
    media_mimetype: str | None = None
    """None when there is no media or WAHA did not download it."""
    waha_event_id: str | None = field(default=None, compare=False)
    """The envelope id (`evt_...`) of the webhook it came from; not part of the value's
    identity (`message` and `message.any` carry one message under two envelopes)."""

    @property
    def occurred_at(self) -> datetime:
        """The time for the event header."""
        return self.timestamp

    def event_fields(self) -> dict[str, Any]:
        """Keyword arguments for `schemas.events.InboundMessage`, besides header and request_id."""
        return {
            "session": self.session,
            "waha_message_id": self.waha_message_id,
            "chat_id": self.chat_id,
            "sender": self.sender,
            "is_group": self.is_group,
            "from_me": self.from_me,
            "has_media": self.has_media,
            "timestamp": self.timestamp,
            "body": self.body,
            "media_mimetype": self.media_mimetype,
            "waha_event_id": self.waha_event_id,
        }


@dataclass(frozen=True, slots=True)
class NormalizedDelivery:
    """The fields of a DeliveryStatusChanged, from a `message.ack` webhook."""

    event_type: ClassVar[str] = DELIVERY_STATUS_CHANGED

    session: str
    waha_message_id: str
    chat_id: str
    ack: int
    """-1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED; see `next_ack`."""
    ack_name: str
    from_me: bool
    """True for acks of messages this account sent, the only ones that link to a send."""
    is_group: bool = False
    """Always False: group receipts are ignored."""
    occurred_at: datetime | None = None
    """The envelope's timestamp; None when WAHA sent none (use the callback's received_at)."""
    waha_event_id: str | None = field(default=None, compare=False)
    """The envelope id (`evt_...`) of the webhook it came from; not part of the value's
    identity (`message` and `message.any` carry one message under two envelopes)."""

    def event_fields(self) -> dict[str, Any]:
        """Keyword arguments for `schemas.events.DeliveryStatusChanged`, besides header and
        request_id."""
        return {
            "session": self.session,
            "waha_message_id": self.waha_message_id,
            "chat_id": self.chat_id,
            "ack": self.ack,
            "ack_name": self.ack_name,
            "waha_event_id": self.waha_event_id,
        }


@dataclass(frozen=True, slots=True)
class NormalizedSessionStatus:
    """The fields of a SessionStatusChanged, from a `session.status` webhook."""

    event_type: ClassVar[str] = SESSION_STATUS_CHANGED

    session: str
    status: str
    previous: str | None = None
    """The status before this one in WAHA's history; equal to `status` when WAHA re-emits it
    (SCAN_QR_CODE on every QR rotation); None when the history is too short to tell."""
    occurred_at: datetime | None = None
    """When the session entered `status` (its history point), else the envelope's timestamp."""
    waha_event_id: str | None = field(default=None, compare=False)
    """The envelope id (`evt_...`) of the webhook it came from; not part of the value's
    identity (`message` and `message.any` carry one message under two envelopes)."""

    def event_fields(self) -> dict[str, Any]:
        """Keyword arguments for `schemas.events.SessionStatusChanged`, besides the header."""
        return {
            "session": self.session,
            "status": self.status,
            "previous": self.previous,
            "waha_event_id": self.waha_event_id,
        }


@dataclass(frozen=True, slots=True)
class Ignored:
    """A webhook that produces no event."""

    event_type: ClassVar[str] = IGNORED

    session: str
    event: str
    """The WAHA event name."""
    reason: IgnoreReason
    detail: str
    """A sentence for logs and the operator."""


#: What `normalize` returns.
Normalized: TypeAlias = NormalizedInbound | NormalizedDelivery | NormalizedSessionStatus | Ignored


# --- normalize ------------------------------------------------------------------------------


def normalize_body(raw: bytes | str, *, source: str | None = None) -> Normalized:
    """Decode a webhook body and normalize it; `source` names it in errors (file, offset)."""
    return normalize(decode_envelope(raw, source=source))


def normalize(envelope: WebhookEnvelope) -> Normalized:
    """The event values a webhook stands for, or `Ignored`.

    Raises `WahaWireError` when the payload of an event it handles does not have WAHA's shape.
    Payloads of ignored events are not inspected.
    """
    event = envelope.event
    if event in (WahaEvent.MESSAGE, WahaEvent.MESSAGE_ANY):
        return _normalize_message(envelope)
    if event in (WahaEvent.MESSAGE_ACK, WahaEvent.MESSAGE_ACK_GROUP):
        return _normalize_ack(envelope)
    if event == WahaEvent.SESSION_STATUS:
        return _normalize_session_status(envelope)
    if event == WahaEvent.MESSAGE_REACTION:
        return Ignored(
            session=envelope.session,
            event=event,
            reason=IgnoreReason.REACTION,
            detail="reactions are not replies; cobranca does not act on them",
        )
    return Ignored(
        session=envelope.session,
        event=event,
        reason=IgnoreReason.UNSUPPORTED_EVENT,
        detail=(
            f"{event!r} events are not normalized; cobranca acts on message, message.any, "
            "message.ack and session.status"
        ),
    )


def _error(envelope: WebhookEnvelope, path: str, reason: str, hint: str = "") -> WahaWireError:
    return WahaWireError(reason, path=path, source=envelope.source, hint=hint)


def _chat_id(
    envelope: WebhookEnvelope, message_id: str, from_me: bool, from_: str | None, to: str | None
) -> str:
    """The conversation of a message or ack, engine-independently (see the module docstring)."""
    parsed = parse_message_id(message_id)
    if parsed is not None:
        return canonical_jid(parsed.chat)
    engine = envelope.engine or "an unknown engine"
    if not from_me:
        field, candidate = "from", from_
    elif envelope.engine in _BROWSER_ENGINES:
        field, candidate = "to", to
    elif envelope.engine in _SOCKET_ENGINES:
        field, candidate = "from", from_
    else:
        field, candidate = "engine", None
    if candidate is None:
        raise _error(
            envelope,
            "$.payload.id",
            f"cannot tell the chat: the id {message_id!r} is not {{fromMe}}_{{chat}}_{{waId}} "
            f"and {engine} gives no usable {field!r}",
        )
    return canonical_jid(candidate)


def _is_conversation(chat_id: str) -> bool:
    return not chat_id.endswith(("@broadcast", "@newsletter"))


def _not_a_conversation(envelope: WebhookEnvelope, chat_id: str) -> Ignored:
    return Ignored(
        session=envelope.session,
        event=envelope.event,
        reason=IgnoreReason.NOT_A_CONVERSATION,
        detail=f"chat {chat_id} is a status broadcast or a channel, not a conversation",
    )


def _sender(envelope: WebhookEnvelope, message: Message, chat_id: str, is_group: bool) -> str:
    if message.from_me:
        if envelope.me is not None:
            return canonical_jid(envelope.me.id)
        if envelope.engine in _BROWSER_ENGINES and message.from_:
            return canonical_jid(message.from_)
        if message.participant:
            return message.participant
        raise _error(
            envelope,
            "$.me",
            "a fromMe message in an envelope without `me`: cannot tell which account sent it",
        )
    if is_group:
        participant = message.participant or message.author
        if not participant:
            raise _error(
                envelope,
                "$.payload.participant",
                f"group message in {chat_id} without participant or author: "
                "cannot tell who wrote it",
            )
        return canonical_jid(participant)
    return chat_id


def _normalize_message(envelope: WebhookEnvelope) -> Normalized:
    message = parse_message(envelope)
    chat_id = _chat_id(envelope, message.id, message.from_me, message.from_, message.to)
    if not _is_conversation(chat_id):
        return _not_a_conversation(envelope, chat_id)
    is_group = chat_id.endswith("@g.us")
    timestamp = message.timestamp or envelope.timestamp
    if timestamp is None:
        raise _error(
            envelope,
            "$.payload.timestamp",
            "missing required field (and the envelope has no timestamp either)",
        )
    return NormalizedInbound(
        session=envelope.session,
        waha_message_id=message.id,
        chat_id=chat_id,
        sender=_sender(envelope, message, chat_id, is_group),
        is_group=is_group,
        from_me=message.from_me,
        has_media=message.has_media,
        timestamp=timestamp,
        body=message.body or None,
        media_mimetype=message.media.mimetype if message.media is not None else None,
        waha_event_id=envelope.id,
    )


def _normalize_ack(envelope: WebhookEnvelope) -> Normalized:
    ack = parse_message_ack(envelope)
    chat_id = _chat_id(envelope, ack.id, ack.from_me, ack.from_, ack.to)
    if not _is_conversation(chat_id):
        return _not_a_conversation(envelope, chat_id)
    if envelope.event == WahaEvent.MESSAGE_ACK_GROUP or chat_id.endswith("@g.us"):
        return Ignored(
            session=envelope.session,
            event=envelope.event,
            reason=IgnoreReason.GROUP_RECEIPT,
            detail=(
                f"per-participant receipt in group {chat_id}; cobranca tracks delivery of "
                "direct messages only"
            ),
        )
    if ack.ack is None or (ack.ack_name or "").upper() == "UNKNOWN":
        return Ignored(
            session=envelope.session,
            event=envelope.event,
            reason=IgnoreReason.UNKNOWN_ACK,
            detail=f"ack {ack.ack!r} ({ack.ack_name}) of {ack.id} says nothing about delivery",
        )
    if ack.ack not in _ACK_LEVELS:
        return Ignored(
            session=envelope.session,
            event=envelope.event,
            reason=IgnoreReason.UNKNOWN_ACK,
            detail=f"ack {ack.ack} of {ack.id} is not a documented level (-1..4)",
        )
    return NormalizedDelivery(
        session=envelope.session,
        waha_message_id=ack.id,
        chat_id=chat_id,
        ack=ack.ack,
        ack_name=Ack(ack.ack).name,
        from_me=ack.from_me,
        occurred_at=envelope.timestamp,
        waha_event_id=envelope.id,
    )


def _normalize_session_status(envelope: WebhookEnvelope) -> NormalizedSessionStatus:
    payload = parse_session_status(envelope)
    history = sorted(payload.statuses, key=lambda point: point.timestamp)
    previous: str | None = None
    occurred_at = envelope.timestamp
    if history and history[-1].status == payload.status:
        occurred_at = history[-1].timestamp
        if len(history) > 1:
            previous = history[-2].status
    elif history:
        previous = history[-1].status
    return NormalizedSessionStatus(
        session=envelope.session,
        status=payload.status,
        previous=previous,
        occurred_at=occurred_at,
        waha_event_id=envelope.id,
    )


# --- deduplication --------------------------------------------------------------------------


def is_placeholder_envelope_id(envelope_id: str) -> bool:
    """True for an all-zero ULID (`evt_000...0`): WAHA's fixtures reuse it, so it is no key."""
    ulid = envelope_id.removeprefix("evt_")
    return not ulid or set(ulid) == {"0"}


def _key(*parts: object) -> str:
    return orjson.dumps(parts).decode()


def envelope_dedup_key(envelope_id: str | None) -> str | None:
    """The dedupe key of an envelope id (the first of `dedup_keys`); None for no id or a
    placeholder. A normalized event carries its envelope id, so this rebuilds the key from it."""
    if not envelope_id or is_placeholder_envelope_id(envelope_id):
        return None
    return _key("envelope", envelope_id)


def dedup_keys(envelope: WebhookEnvelope) -> tuple[str, ...]:
    """The keys under which a webhook counts as already seen, most specific first.

    A webhook is a duplicate when any of its keys was seen before:

    1. `["envelope", id]`: a retry of the same webhook (same body, same id). Left out when the
       id is absent or a placeholder (see `is_placeholder_envelope_id`).
    2. `["payload", session, event, payload id, ...]`: the same thing delivered twice under two
       envelopes. `message` and `message.any` share the event part `message`, so an inbound
       message subscribed to through both is one message. Acks add the ack level, because
       SERVER, DEVICE and READ for one message share its id and are not duplicates of each
       other. A session status adds the status and the time of its history point.

    Pure and total: it reads the payload leniently and returns the keys it can build, so it can
    run before or after `normalize`. The keys are JSON arrays, unambiguous whatever the session
    or id contain.
    """
    keys: list[str] = []
    envelope_key = envelope_dedup_key(envelope.id)
    if envelope_key is not None:
        keys.append(envelope_key)
    payload = envelope.payload
    event = envelope.event
    payload_id = payload.get("id")
    if event in (WahaEvent.MESSAGE, WahaEvent.MESSAGE_ANY):
        if isinstance(payload_id, str):
            keys.append(_key("payload", envelope.session, WahaEvent.MESSAGE.value, payload_id))
    elif event in (WahaEvent.MESSAGE_ACK, WahaEvent.MESSAGE_ACK_GROUP):
        if isinstance(payload_id, str):
            ack = payload.get("ack")
            level = int(ack) if isinstance(ack, int | float) and not isinstance(ack, bool) else None
            keys.append(_key("payload", envelope.session, event, payload_id, level))
    elif event == WahaEvent.SESSION_STATUS:
        status = payload.get("status")
        if isinstance(status, str):
            keys.append(
                _key("payload", envelope.session, event, status, _status_point_ms(payload, status))
            )
    elif isinstance(payload_id, str):
        keys.append(_key("payload", envelope.session, event, payload_id))
    return tuple(keys)


def _status_point_ms(payload: Any, status: str) -> int | float | None:
    """Time (ms) of the latest history point with `status`, read leniently."""
    statuses = payload.get("statuses")
    if not isinstance(statuses, list):
        return None
    times = [
        point["timestamp"]
        for point in statuses
        if isinstance(point, dict)
        and point.get("status") == status
        and isinstance(point.get("timestamp"), int | float)
        and not isinstance(point.get("timestamp"), bool)
    ]
    return max(times) if times else None


def routing_chat(envelope: WebhookEnvelope) -> str | None:
    """The chat a webhook concerns, for partitioning; None when it concerns no one chat.

    For messages and acks, the chat segment of the payload id in its `@c.us` form: the chat
    `normalize` gives them (it falls back to `from`/`to` only for ids not in WAHA's format, which
    are then routed by session). None for session statuses, other events and payloads without a
    WAHA id. Everything that can be a duplicate of something else (retries, `message` and
    `message.any`, every ack of one message) shares its chat, so keying callbacks by chat keeps
    each dedupe decision inside one partition. Cheap on purpose: the receiver calls it for
    every webhook.
    """
    if envelope.event not in _CHAT_EVENTS:
        return None
    payload_id = envelope.payload.get("id")
    parsed = parse_message_id(payload_id) if isinstance(payload_id, str) else None
    return canonical_jid(parsed.chat) if parsed is not None else None


# --- acks -----------------------------------------------------------------------------------


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
