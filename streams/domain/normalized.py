"""What a WAHA callback says, in cobranca's terms: the values that cross from connectors/waha to
the normalization rules (streams/domain/normalization.py).

connectors/waha/normalize.py builds them from WAHA's webhooks; the rules read them and never see
a webhook. Everything WAHA-specific is already resolved in a value: the chat is the
engine-independent one (`@c.us`, `@lid` or `@g.us`), the sender is known, timestamps are aware
UTC, an ack is one of the `Ack` levels under its canonical name, and a webhook cobranca does not
act on is `Ignored` with a reason. Each value carries the fields of the conversation event it
becomes (`event_fields`); the rules add the header and the request it answers.

- `NormalizedInbound`: an InboundMessage (`message`, `message.any`);
- `NormalizedDelivery`: a DeliveryStatusChanged (`message.ack`);
- `NormalizedSessionStatus`: a SessionStatusChanged (`session.status`);
- `Ignored`: nothing to emit, with a reason code (`IgnoreReason`) and a sentence saying why.

`Ack` is here, not in the connector, because the levels are those of DeliveryStatusChanged.ack
and the monotonic ack rule ranks them; WAHA sends the same numbers (WAHA_API.md), and the
connector maps its payloads onto them. `InvalidAck` (streams/domain/errors.py) is the error of a
number outside them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Final, TypeAlias

__all__ = [
    "DELIVERY_STATUS_CHANGED",
    "IGNORED",
    "INBOUND_MESSAGE",
    "SESSION_STATUS_CHANGED",
    "Ack",
    "IgnoreReason",
    "Ignored",
    "Normalized",
    "NormalizedDelivery",
    "NormalizedInbound",
    "NormalizedSessionStatus",
]

INBOUND_MESSAGE: Final = "InboundMessage"
DELIVERY_STATUS_CHANGED: Final = "DeliveryStatusChanged"
SESSION_STATUS_CHANGED: Final = "SessionStatusChanged"
IGNORED: Final = "ignored"


class Ack(enum.IntEnum):
    """Delivery states of a message (`ack`, `ackName`). WAHA's GOWS may also send `ack: null`."""

    ERROR = -1
    PENDING = 0
    SERVER = 1
    DEVICE = 2
    READ = 3
    PLAYED = 4


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
    """One of `Ack`: -1 ERROR, 0 PENDING, 1 SERVER, 2 DEVICE, 3 READ, 4 PLAYED."""
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


#: What a webhook normalizes to.
Normalized: TypeAlias = NormalizedInbound | NormalizedDelivery | NormalizedSessionStatus | Ignored
