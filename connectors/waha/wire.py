"""The WAHA wire format: webhook envelopes, their payloads, ids, and send responses.

This is the one module that knows how WAHA spells things (`fromMe`, `hasMedia`, `ackName`,
`evt_…` ids, Unix seconds here and milliseconds there). Everything else in cobranca works with the
typed, immutable values it returns. The reference is `shared/waha/WAHA_API.md` (WAHA 2026.7.1) and
the OpenAPI document beside it; the parsing follows WAHA's own advice to be lenient where engines
differ and strict where the product depends on a value:

- Required, because nothing can be done without them: the envelope's `event`, `session` and
  `payload` (a JSON object), and each payload's `id`.
- Optional, although the OpenAPI lists some as required: the envelope `id`, `timestamp`, `engine`,
  `metadata`, `me` and `environment` (WAHA's own fixtures omit `timestamp` and `metadata`; GOWS ack
  fixtures have no envelope `timestamp`), and the payload's `from`, `to` and `participant` (NOWEB
  "sends the minimum").
- A field that is present must have the documented JSON type. `null` counts as absent.
- Unknown fields are ignored, `_data` (the raw engine object) is never read, and unknown events,
  engines and session statuses are kept as plain strings: WAHA adds them over time.

Parsing never guesses: a body that does not fit raises `WahaWireError` with the JSON path of the
offending value, the reason, and the body's source when the caller gave one.

Engine quirks this module absorbs (see also `normalize.py`):

- Payload timestamps are Unix *seconds*, fractional for WEBJS reactions; envelope timestamps and
  `session.status` points are Unix *milliseconds*. Baileys (NOWEB) serialises 64-bit numbers as
  decimal strings (`"messageTimestamp": "1738070128"`), so numeric strings are accepted too.
- `<digits>@s.whatsapp.net` (and `<digits>:<device>@s.whatsapp.net`) is the NOWEB/GOWS spelling of
  `<digits>@c.us`; `canonical_jid` converts it. `@lid`, `@g.us`, `@newsletter` and
  `status@broadcast` are kept as they are.
- Send responses are the engine's raw object (maintainer, issue #760), so the message id lives in
  a different place per engine; `message_id_from_send_response` reads all three.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final

import orjson

from connectors.waha.errors import WahaWireError

__all__ = [
    "ENVELOPE_HINT",
    "Engine",
    "Environment",
    "Me",
    "Media",
    "Message",
    "MessageAck",
    "MessageId",
    "MessageReaction",
    "Reaction",
    "SessionStatus",
    "StatusPoint",
    "WahaEvent",
    "WebhookEnvelope",
    "canonical_jid",
    "decode_envelope",
    "decode_envelope_head",
    "envelope_from_object",
    "link_key",
    "message_id_from_send_response",
    "parse_message",
    "parse_message_ack",
    "parse_message_id",
    "parse_message_reaction",
    "parse_session_status",
]

#: What a webhook body must look like; appended to errors about the envelope itself.
ENVELOPE_HINT: Final = (
    'A WAHA webhook body is a JSON object with "id", "timestamp", "event", "session", "engine" '
    'and "payload" (WAHA_API.md, section 6: Envelope)'
)

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class Engine(enum.StrEnum):
    """WAHA engines that can appear in an envelope's `engine` field."""

    WEBJS = "WEBJS"
    WPP = "WPP"
    NOWEB = "NOWEB"
    GOWS = "GOWS"


class WahaEvent(enum.StrEnum):
    """Webhook event names from WAHA's OpenAPI (2026.7.1); envelopes may carry newer ones."""

    SESSION_STATUS = "session.status"
    MESSAGE = "message"
    MESSAGE_REACTION = "message.reaction"
    MESSAGE_ANY = "message.any"
    MESSAGE_ACK = "message.ack"
    MESSAGE_ACK_GROUP = "message.ack.group"
    MESSAGE_WAITING = "message.waiting"
    MESSAGE_REVOKED = "message.revoked"
    MESSAGE_EDITED = "message.edited"
    STATE_CHANGE = "state.change"
    GROUP_JOIN = "group.join"
    GROUP_LEAVE = "group.leave"
    GROUP_V2_JOIN = "group.v2.join"
    GROUP_V2_LEAVE = "group.v2.leave"
    GROUP_V2_UPDATE = "group.v2.update"
    GROUP_V2_PARTICIPANTS = "group.v2.participants"
    PRESENCE_UPDATE = "presence.update"
    POLL_VOTE = "poll.vote"
    POLL_VOTE_FAILED = "poll.vote.failed"
    CHAT_ARCHIVE = "chat.archive"
    CALL_RECEIVED = "call.received"
    CALL_ACCEPTED = "call.accepted"
    CALL_REJECTED = "call.rejected"
    LABEL_UPSERT = "label.upsert"
    LABEL_DELETED = "label.deleted"
    LABEL_CHAT_ADDED = "label.chat.added"
    LABEL_CHAT_DELETED = "label.chat.deleted"
    EVENT_RESPONSE = "event.response"
    EVENT_RESPONSE_FAILED = "event.response.failed"
    ENGINE_EVENT = "engine.event"


# --- values ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Me:
    """The session's own account (`me`); null in the envelope before the session is paired."""

    id: str
    """`<digits>@c.us`."""
    push_name: str | None = None
    lid: str | None = None
    """The account's hidden linked id, `<digits>@lid` (NOWEB, GOWS)."""
    jid: str | None = None
    """The id with the device number, `<digits>:<device>@s.whatsapp.net` (NOWEB, GOWS)."""


@dataclass(frozen=True, slots=True)
class Environment:
    """The WAHA server that sent the webhook (`environment`)."""

    version: str | None = None
    engine: str | None = None
    tier: str | None = None
    browser: str | None = None
    platform: str | None = None
    worker_id: str | None = None


@dataclass(frozen=True, slots=True)
class WebhookEnvelope:
    """One webhook body: the fields every WAHA event shares, and its still-untyped payload.

    Parse the payload with the function for its event (`parse_message`, `parse_message_ack`,
    `parse_session_status`, `parse_message_reaction`).
    """

    event: str
    """Event name; compare with `WahaEvent` members (unknown names are kept)."""
    session: str
    """The WAHA session (one WhatsApp account) the event belongs to."""
    payload: Mapping[str, Any]
    """The event's data as decoded JSON (read-only)."""
    id: str | None = None
    """`evt_` + a lowercase ULID, unique per event and identical on retries."""
    timestamp: datetime | None = None
    """When WAHA created the event (envelope `timestamp`, Unix ms), aware UTC."""
    engine: str | None = None
    """`engine`, or `environment.engine` when the envelope has no top-level `engine`."""
    metadata: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """The session's `config.metadata`, echoed by WAHA; `{}` when absent."""
    me: Me | None = None
    environment: Environment | None = None
    source: str | None = field(default=None, compare=False)
    """Where the body came from (file, `topic[partition]@offset`); only used in error messages."""


@dataclass(frozen=True, slots=True)
class Media:
    """A message's downloaded media (`media`)."""

    url: str | None = None
    """Where to download it (`/api/files/...`; the request needs `X-Api-Key`)."""
    mimetype: str | None = None
    filename: str | None = None
    error: Any = None
    """WAHA's description of a failed download; null when the download worked."""


@dataclass(frozen=True, slots=True)
class Message:
    """A message (`WAMessage`): the payload of `message`, `message.any` and `message.edited`.

    `from`/`to` mean different things per engine (WEBJS: `from` is the sender; NOWEB and GOWS: the
    chat); use `MessageId.chat` from `parse_message_id(message.id)` for the conversation.
    """

    id: str
    """Serialized id `{fromMe}_{chat}_{waId}[_{participant}]`."""
    from_me: bool
    """Sent by this session's account. Taken from the id's prefix when `fromMe` is absent."""
    timestamp: datetime | None = None
    from_: str | None = None
    to: str | None = None
    participant: str | None = None
    """The sender inside a group (often `@lid`). WEBJS also sets it in direct chats."""
    author: str | None = None
    source: str | None = None
    """`api` or `app`; meaningful only for `fromMe` messages."""
    body: str | None = None
    """Text, or the caption of a media message."""
    has_media: bool = False
    media: Media | None = None
    """Null when there is no media, or when it was not downloaded (by configuration)."""
    ack: int | None = None
    ack_name: str | None = None


@dataclass(frozen=True, slots=True)
class MessageAck:
    """The payload of `message.ack` and `message.ack.group` (`WAMessageAckBody`)."""

    id: str
    from_me: bool
    ack: int | None
    """-1 to 4 (`streams.domain.normalized.Ack`); GOWS reports an unknown state as null."""
    ack_name: str | None = None
    from_: str | None = None
    to: str | None = None
    participant: str | None = None


@dataclass(frozen=True, slots=True)
class StatusPoint:
    """One entry of a `session.status` history."""

    status: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class SessionStatus:
    """The payload of `session.status` (`WASessionStatusBody`)."""

    status: str
    """STOPPED, STARTING, SCAN_QR_CODE, WORKING, FAILED, PASSKEY_REQUIRED, ... (kept as sent)."""
    name: str | None = None
    statuses: tuple[StatusPoint, ...] = ()
    """The last few statuses (WAHA sends 3), in the order WAHA sent them."""
    data: Any = None
    """Extra data of the passkey statuses; null otherwise."""


@dataclass(frozen=True, slots=True)
class Reaction:
    """The reaction inside a `message.reaction` payload."""

    text: str
    """The emoji; `""` means the reaction was removed."""
    message_id: str | None = None
    """Id of the message reacted to."""


@dataclass(frozen=True, slots=True)
class MessageReaction:
    """The payload of `message.reaction` (`WAMessageReaction`)."""

    id: str
    from_me: bool
    reaction: Reaction
    timestamp: datetime | None = None
    from_: str | None = None
    to: str | None = None
    participant: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class MessageId:
    """The parts of a serialized message id `{fromMe}_{chat}_{waId}[_{participant}]`."""

    from_me: bool
    chat: str
    """The chat, exactly as in the id (see `canonical_jid`)."""
    wa_id: str
    """WhatsApp's own id of the message; `revokedMessageId`/`editedMessageId` carry only this."""
    participant: str | None = None
    """Set in group and status ids (and per-participant group receipts)."""


# --- JSON reading ---------------------------------------------------------------------------


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if key.replace("_", "a").isalnum() else f"{path}[{_quote(key)}]"


def _quote(value: str) -> str:
    return orjson.dumps(value).decode()


def _describe(value: object) -> str:
    """A JSON value's type and a short rendering of it, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"string {_quote(shown)}"
    if isinstance(value, list):
        return f"an array of {len(value)} items"
    if isinstance(value, dict):
        return "an object" if value else "an empty object"
    return type(value).__name__


class _Object:
    """A JSON object being read, with its JSON path, so every error says where it happened."""

    __slots__ = ("path", "source", "value")

    def __init__(self, value: Mapping[str, Any], path: str, source: str | None) -> None:
        self.value = value
        self.path = path
        self.source = source

    def error(self, key: str, reason: str, hint: str = "") -> WahaWireError:
        return WahaWireError(reason, path=_child(self.path, key), source=self.source, hint=hint)

    def _typed(self, key: str, kind: type | tuple[type, ...], expected: str) -> Any:
        value = self.value.get(key)
        if value is None:
            return None
        if isinstance(value, bool) and kind is not bool:
            raise self.error(key, f"expected {expected}, got {_describe(value)}")
        if not isinstance(value, kind):
            raise self.error(key, f"expected {expected}, got {_describe(value)}")
        return value

    def required_str(self, key: str, hint: str = "") -> str:
        value = self.optional_str(key)
        if value is None:
            raise self.error(
                key,
                "missing required field" if key not in self.value else "required field is null",
                hint,
            )
        return value

    def optional_str(self, key: str) -> str | None:
        value: str | None = self._typed(key, str, "a string")
        return value

    def optional_bool(self, key: str) -> bool | None:
        value: bool | None = self._typed(key, bool, "a boolean")
        return value

    def optional_int(self, key: str) -> int | None:
        value = self._typed(key, (int, float), "an integer")
        if isinstance(value, float):
            if not value.is_integer():
                raise self.error(key, f"expected an integer, got {_describe(value)}")
            return int(value)
        return value  # type: ignore[no-any-return]

    def optional_object(self, key: str) -> _Object | None:
        value = self._typed(key, dict, "an object")
        return None if value is None else _Object(value, _child(self.path, key), self.source)

    def optional_array(self, key: str) -> Sequence[Any] | None:
        value: list[Any] | None = self._typed(key, list, "an array")
        return value

    def optional_time(self, key: str, *, millis: bool) -> datetime | None:
        """A Unix timestamp (seconds, or milliseconds if `millis`) as an aware UTC datetime."""
        value = self.value.get(key)
        if value is None:
            return None
        unit = "milliseconds" if millis else "seconds"
        number: float | int
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise self.error(key, f"expected a Unix time in {unit}, got {_describe(value)}")
        if isinstance(value, str):
            try:
                number = int(value) if value.isdigit() else float(value)
            except ValueError:
                raise self.error(
                    key, f"expected a Unix time in {unit}, got {_describe(value)}"
                ) from None
        else:
            number = value
        if number < 0 or number != number:
            raise self.error(key, f"expected a Unix time in {unit}, got {_describe(value)}")
        try:
            if millis:
                return _EPOCH + timedelta(milliseconds=number)
            return _EPOCH + timedelta(seconds=number)
        except OverflowError:
            raise self.error(key, f"Unix time in {unit} out of range: {_describe(value)}") from None


def _payload(envelope: WebhookEnvelope) -> _Object:
    return _Object(envelope.payload, "$.payload", envelope.source)


# --- envelope -------------------------------------------------------------------------------


def decode_envelope(
    raw: bytes | bytearray | memoryview | str, *, source: str | None = None
) -> WebhookEnvelope:
    """Decode a webhook body (the raw bytes WAHA posted) into a `WebhookEnvelope`.

    Raises `WahaWireError` at path `$` when the body is not JSON, and with the path of the
    offending field when it is JSON but not a WAHA envelope.
    """
    return envelope_from_object(_loads(raw, source), source=source)


def decode_envelope_head(
    raw: bytes | bytearray | memoryview | str, *, source: str | None = None
) -> WebhookEnvelope:
    """What every webhook must have, checked as `decode_envelope` checks it: a JSON object with
    `event`, `session`, `payload` (an object) and, when present, a string `id`. The rest of the
    envelope is not read (`timestamp`, `engine`, `me`, ... are left empty).

    For the receiver, which stores the raw body and only needs to know it is an envelope and
    whose session it is; the normalizer reads the body in full.
    """
    root, event, session, payload = _head(_loads(raw, source), source)
    return WebhookEnvelope(
        event=event,
        session=session,
        payload=MappingProxyType(payload),
        id=root.optional_str("id"),
        source=source,
    )


def _loads(raw: bytes | bytearray | memoryview | str, source: str | None) -> object:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WahaWireError(
            f"not valid JSON ({exc})", path="$", source=source, hint=ENVELOPE_HINT
        ) from exc


def _head(value: object, source: str | None) -> tuple[_Object, str, str, dict[str, Any]]:
    """The envelope as an `_Object`, and its required `event`, `session` and `payload`."""
    if not isinstance(value, dict):
        raise WahaWireError(
            f"expected a JSON object, got {_describe(value)}",
            path="$",
            source=source,
            hint=ENVELOPE_HINT,
        )
    root = _Object(value, "$", source)
    missing = [key for key in ("event", "session", "payload") if value.get(key) is None]
    if len(missing) > 1:
        hint = ENVELOPE_HINT
        if "key" in value and "messageTimestamp" in value:
            hint = "This looks like a NOWEB send API response, not a webhook body. " + hint
        listed = ", ".join(_quote(key) for key in missing)
        raise WahaWireError(
            f"not a WAHA webhook envelope: missing required fields {listed}",
            path="$",
            source=source,
            hint=hint,
        )
    event = root.required_str("event", ENVELOPE_HINT)
    session = root.required_str("session", ENVELOPE_HINT)
    payload = root.optional_object("payload")
    if payload is None:
        raise root.error("payload", "missing required field", ENVELOPE_HINT)
    return root, event, session, payload.value  # type: ignore[return-value]


def envelope_from_object(value: object, *, source: str | None = None) -> WebhookEnvelope:
    """Build a `WebhookEnvelope` from an already decoded JSON value."""
    root, event, session, payload = _head(value, source)
    metadata = root.optional_object("metadata")
    environment = _environment(root.optional_object("environment"))
    engine = root.optional_str("engine")
    if engine is None and environment is not None:
        engine = environment.engine
    return WebhookEnvelope(
        event=event,
        session=session,
        payload=MappingProxyType(payload),
        id=root.optional_str("id"),
        timestamp=root.optional_time("timestamp", millis=True),
        engine=engine,
        metadata=MappingProxyType(metadata.value if metadata is not None else {}),
        me=_me(root.optional_object("me")),
        environment=environment,
        source=source,
    )


def _me(obj: _Object | None) -> Me | None:
    if obj is None:
        return None
    return Me(
        id=obj.required_str("id"),
        push_name=obj.optional_str("pushName"),
        lid=obj.optional_str("lid"),
        jid=obj.optional_str("jid"),
    )


def _environment(obj: _Object | None) -> Environment | None:
    if obj is None:
        return None
    worker = obj.optional_object("worker")
    return Environment(
        version=obj.optional_str("version"),
        engine=obj.optional_str("engine"),
        tier=obj.optional_str("tier"),
        browser=obj.optional_str("browser"),
        platform=obj.optional_str("platform"),
        worker_id=worker.optional_str("id") if worker is not None else None,
    )


# --- payloads -------------------------------------------------------------------------------


def _from_me(obj: _Object, message_id: str) -> bool:
    """`fromMe`, or the id's `true_`/`false_` prefix when an engine leaves `fromMe` out."""
    from_me = obj.optional_bool("fromMe")
    if from_me is not None:
        return from_me
    parsed = parse_message_id(message_id)
    return parsed.from_me if parsed is not None else False


def parse_message(envelope: WebhookEnvelope) -> Message:
    """The payload of a `message`, `message.any` or `message.edited` envelope."""
    obj = _payload(envelope)
    message_id = obj.required_str("id")
    media = obj.optional_object("media")
    return Message(
        id=message_id,
        from_me=_from_me(obj, message_id),
        timestamp=obj.optional_time("timestamp", millis=False),
        from_=obj.optional_str("from"),
        to=obj.optional_str("to"),
        participant=obj.optional_str("participant"),
        author=obj.optional_str("author"),
        source=obj.optional_str("source"),
        body=obj.optional_str("body"),
        has_media=bool(obj.optional_bool("hasMedia")),
        media=None
        if media is None
        else Media(
            url=media.optional_str("url"),
            mimetype=media.optional_str("mimetype"),
            filename=media.optional_str("filename"),
            error=media.value.get("error"),
        ),
        ack=obj.optional_int("ack"),
        ack_name=obj.optional_str("ackName"),
    )


def parse_message_ack(envelope: WebhookEnvelope) -> MessageAck:
    """The payload of a `message.ack` or `message.ack.group` envelope."""
    obj = _payload(envelope)
    message_id = obj.required_str("id")
    return MessageAck(
        id=message_id,
        from_me=_from_me(obj, message_id),
        ack=obj.optional_int("ack"),
        ack_name=obj.optional_str("ackName"),
        from_=obj.optional_str("from"),
        to=obj.optional_str("to"),
        participant=obj.optional_str("participant"),
    )


def parse_session_status(envelope: WebhookEnvelope) -> SessionStatus:
    """The payload of a `session.status` envelope."""
    obj = _payload(envelope)
    points: list[StatusPoint] = []
    for index, item in enumerate(obj.optional_array("statuses") or ()):
        path = f"{obj.path}.statuses[{index}]"
        if not isinstance(item, dict):
            raise WahaWireError(
                f"expected an object, got {_describe(item)}", path=path, source=obj.source
            )
        point = _Object(item, path, obj.source)
        timestamp = point.optional_time("timestamp", millis=True)
        if timestamp is None:
            raise point.error("timestamp", "missing required field")
        points.append(StatusPoint(status=point.required_str("status"), timestamp=timestamp))
    return SessionStatus(
        status=obj.required_str("status"),
        name=obj.optional_str("name"),
        statuses=tuple(points),
        data=obj.value.get("data"),
    )


def parse_message_reaction(envelope: WebhookEnvelope) -> MessageReaction:
    """The payload of a `message.reaction` envelope."""
    obj = _payload(envelope)
    message_id = obj.required_str("id")
    reaction = obj.optional_object("reaction")
    if reaction is None:
        raise obj.error("reaction", "missing required field")
    return MessageReaction(
        id=message_id,
        from_me=_from_me(obj, message_id),
        reaction=Reaction(
            text=reaction.optional_str("text") or "",
            message_id=reaction.optional_str("messageId"),
        ),
        timestamp=obj.optional_time("timestamp", millis=False),
        from_=obj.optional_str("from"),
        to=obj.optional_str("to"),
        participant=obj.optional_str("participant"),
        source=obj.optional_str("source"),
    )


# --- ids ------------------------------------------------------------------------------------


def parse_message_id(message_id: str) -> MessageId | None:
    """Split a serialized message id into its parts; None if it is not in WAHA's format.

    `false_5511999999999@c.us_3EB0...` -> from_me False, chat `5511999999999@c.us`; a group id
    `false_123@g.us_AAAA_456@c.us` also carries the participant. The chat is the second segment on
    every engine, which makes it the engine-independent conversation id.
    """
    prefix, sep, rest = message_id.partition("_")
    if not sep or prefix not in ("true", "false"):
        return None
    chat, sep, rest = rest.partition("_")
    if not sep or "@" not in chat or not rest:
        return None
    wa_id, _, participant = rest.partition("_")
    if not wa_id:
        return None
    return MessageId(
        from_me=prefix == "true", chat=chat, wa_id=wa_id, participant=participant or None
    )


def link_key(message_id: str) -> str:
    """The id to match a sent message with its acks and replies: `{fromMe}_{chat}_{waId}`.

    Drops the trailing `_{participant}` and writes the chat in its `@c.us` form, because the same
    message is not always spelled the same way: GOWS may answer a send with
    `true_<chat>_<waId>_<me>` while its acks say `true_<chat>_<waId>`, NOWEB's Baileys key names
    the chat `@s.whatsapp.net`, and group receipts append the participant. An id that is not in
    WAHA's format is returned unchanged.
    """
    parsed = parse_message_id(message_id)
    if parsed is None:
        return message_id
    return f"{'true' if parsed.from_me else 'false'}_{canonical_jid(parsed.chat)}_{parsed.wa_id}"


def canonical_jid(jid: str) -> str:
    """The `@c.us` form of a user id; other ids (`@lid`, `@g.us`, ...) unchanged.

    NOWEB and GOWS use WhatsApp's own `<digits>@s.whatsapp.net`, sometimes with a device
    (`<digits>:3@s.whatsapp.net`); WAHA's API wants `<digits>@c.us`. The same device suffix is
    dropped from `@c.us` ids.
    """
    user, at, server = jid.partition("@")
    if at and server in ("s.whatsapp.net", "c.us"):
        return f"{user.partition(':')[0]}@c.us"
    return jid


def message_id_from_send_response(body: object, *, source: str | None = None) -> str:
    """The serialized message id in a send endpoint's 201 answer, whatever the engine.

    - WEBJS: a whatsapp-web.js Message, id at `id._serialized`;
    - GOWS (and WAHA's documented `WAMessage`): `id` is the serialized id string;
    - NOWEB: a Baileys message, `{key: {remoteJid, fromMe, id}}`, so the id is built as
      `{fromMe}_{chat}_{key.id}` with the chat in its `@c.us` form.
    """
    if not isinstance(body, dict) or not body:
        hint = "WEBJS 2025.6.x answered sends with an empty body (WAHA bugs #1083, #1087)"
        raise WahaWireError(
            f"expected a send response object, got {_describe(body)}",
            path="$",
            source=source,
            hint=hint if not body else "",
        )
    root = _Object(body, "$", source)
    raw_id = body.get("id")
    if isinstance(raw_id, str) and raw_id:
        return raw_id
    if isinstance(raw_id, dict):
        serialized = _Object(raw_id, "$.id", source).optional_str("_serialized")
        if serialized:
            return serialized
    key = root.optional_object("key")
    if key is not None:
        chat = canonical_jid(key.required_str("remoteJid"))
        wa_id = key.required_str("id")
        from_me = key.optional_bool("fromMe")
        return f"{'false' if from_me is False else 'true'}_{chat}_{wa_id}"
    raise root.error(
        "id",
        "no message id: expected id (GOWS), id._serialized (WEBJS) or key.id (NOWEB)",
    )
