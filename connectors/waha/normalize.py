"""Normalization of WAHA webhooks: pure functions from an envelope to the normalized values of
streams/domain/normalized.py, and the WAHA side of the normalizer's rules.

Given a decoded `WebhookEnvelope`, `normalize` returns one of

- `NormalizedInbound`: the fields of an InboundMessage (`message`, `message.any`);
- `NormalizedDelivery`: the fields of a DeliveryStatusChanged (`message.ack`);
- `NormalizedSessionStatus`: the fields of a SessionStatusChanged (`session.status`);
- `Ignored`: nothing to emit, with a reason code and a sentence saying why.

What the normalizer's rules (streams/domain/normalization.py) need of WAHA's format is here too,
so they never read a webhook or an id themselves: `read_webhook` gives a callback's dedupe keys
(`dedup_keys`) and, when the rules ask, its normalized value (`CallbackReading`), and `WAHA_IDS`
says which spellings of WAHA's ids name one message, one chat, one webhook (`MessageIds`). The
agent and `cobranca waha normalize` run the same functions; the agent's rules add the event
header, the tenant and the `request_id`. Nothing here does I/O, reads a clock or keeps state, so
replaying a callback normalizes it the same way.

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
  is WAHA's canonical name for the number (`Ack`), not the payload's `ackName`. Group receipts
  (`message.ack.group`, and `message.ack` in a `@g.us` chat before WAHA 2025.12.2) are
  per-participant and ignored: cobranca sends to direct chats only. Sends, acks and replies are
  matched on `wire.link_key` (`WAHA_IDS.message_key`).
- Timestamps are aware UTC datetimes.

docs/adr/0002-waha-normalization.md records why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from connectors.waha.errors import WahaWireError
from connectors.waha.wire import (
    Engine,
    Message,
    WahaEvent,
    WebhookEnvelope,
    canonical_jid,
    decode_envelope,
    link_key,
    parse_message,
    parse_message_ack,
    parse_message_id,
    parse_session_status,
)
from streams.domain.normalized import (
    Ack,
    Ignored,
    IgnoreReason,
    Normalized,
    NormalizedDelivery,
    NormalizedInbound,
    NormalizedSessionStatus,
)

__all__ = [
    "WAHA_IDS",
    "WahaIds",
    "WebhookReading",
    "dedup_keys",
    "envelope_dedup_key",
    "is_placeholder_envelope_id",
    "normalize",
    "normalize_body",
    "read_webhook",
    "routing_chat",
]

_BROWSER_ENGINES: Final = frozenset({Engine.WEBJS.value, Engine.WPP.value})
_SOCKET_ENGINES: Final = frozenset({Engine.NOWEB.value, Engine.GOWS.value})
_ACK_LEVELS: Final = frozenset(int(level) for level in Ack)
_CHAT_EVENTS: Final = frozenset(
    {WahaEvent.MESSAGE, WahaEvent.MESSAGE_ANY, WahaEvent.MESSAGE_ACK, WahaEvent.MESSAGE_ACK_GROUP}
)


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
    return _message_chat(payload_id) if isinstance(payload_id, str) else None


def _message_chat(message_id: str) -> str | None:
    """The chat segment of a message id in its `@c.us` form; None for an id not in WAHA's."""
    parsed = parse_message_id(message_id)
    return canonical_jid(parsed.chat) if parsed is not None else None


# --- what the normalizer's rules ask --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WebhookReading:
    """A callback's body read for the normalizer (`streams.domain.normalization.CallbackReading`):
    its dedupe keys at once, its normalized value when the rules ask for it, which they do only
    for a callback that is not a duplicate."""

    envelope: WebhookEnvelope
    dedup_keys: tuple[str, ...]

    def normalized(self) -> Normalized:
        """`normalize` of the envelope; raises `WahaWireError` as it does."""
        return normalize(self.envelope)


def read_webhook(raw: bytes | str, *, source: str | None = None) -> WebhookReading:
    """Decode a webhook body for the normalizer; `source` names it in errors.

    Raises `WahaWireError` when the body is not a WAHA envelope (`decode_envelope`).
    """
    envelope = decode_envelope(raw, source=source)
    return WebhookReading(envelope, dedup_keys(envelope))


class WahaIds:
    """Which spellings of WAHA's ids name one webhook, one message, one chat: the normalizer's
    `streams.domain.normalization.MessageIds`, for the ids of events already stored."""

    __slots__ = ()

    def envelope_key(self, envelope_id: str | None) -> str | None:
        return envelope_dedup_key(envelope_id)

    def message_key(self, message_id: str) -> str:
        return link_key(message_id)

    def chat(self, chat_id: str) -> str:
        return canonical_jid(chat_id)

    def message_chat(self, message_id: str) -> str | None:
        return _message_chat(message_id)


#: The one `WahaIds` (it holds nothing).
WAHA_IDS: Final = WahaIds()
