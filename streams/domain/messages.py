"""Messages sent through the API by a tenant's own systems: what a valid one is, the
SendRequested it becomes, and where a send stands given the events about it.

An API send is priced and decided by the ledger like any other send; it is a SendRequested
with `step` = `api` so reports tell it from the régua's and the bot's. A person's reply in a
conversation (the API's `…/conversations/{chat}/replies`) has `step` = `operator`: priced the
same, and let through a hand-off's pause like the bot's replies (streams/domain/ledger.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from schemas.events import SendKind, SendRequested, new_header
from streams.domain.brazil.errors import InvalidValue
from streams.domain.brazil.phones import normalize_phone
from streams.domain.errors import InvalidMessage

__all__ = [
    "API_STEP",
    "MAX_BATCH",
    "MAX_TEXT",
    "OPERATOR_STEP",
    "MessageDraft",
    "SendStatus",
    "further",
    "parse_messages",
    "send_request",
    "send_status",
    "status_of",
]

API_STEP: Final = "api"
OPERATOR_STEP: Final = "operator"
"""A person's reply in a conversation, written through the API."""
MAX_BATCH: Final = 1000
MAX_TEXT: Final = 4096
"""WhatsApp's own limit for a text message."""
_MAX_URL: Final = 2048


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """One valid message of a request, before it has a request id."""

    phone_e164: str
    client_id: str
    text: str | None
    file_url: str | None
    file_name: str | None
    file_mimetype: str | None
    session: str | None

    @property
    def kind(self) -> SendKind:
        return SendKind.FILE if self.file_url else SendKind.TEXT


def _text(item: Mapping[str, Any], name: str, where: str, limit: int) -> str | None:
    value = item.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidMessage(f"{where}.{name} must be non-empty text")
    if len(value) > limit:
        raise InvalidMessage(f"{where}.{name} is longer than {limit} characters")
    return value


def _draft(item: Any, where: str) -> MessageDraft:
    if not isinstance(item, Mapping):
        raise InvalidMessage(f"{where} must be an object")
    unknown = set(item) - {"to", "text", "file", "client_id", "session"}
    if unknown:
        raise InvalidMessage(f"{where} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
    to = item.get("to")
    if not isinstance(to, str):
        raise InvalidMessage(f"{where}.to is required: the debtor's phone, e.g. +5511987654321")
    try:
        phone = normalize_phone(to)
    except InvalidValue as exc:
        raise InvalidMessage(f"{where}.to: {exc}") from None
    text = _text(item, "text", where, MAX_TEXT)
    file = item.get("file")
    url = name = mimetype = None
    if file is not None:
        if not isinstance(file, Mapping):
            raise InvalidMessage(f"{where}.file must be an object with url, name and mimetype")
        url = _text(file, "url", f"{where}.file", _MAX_URL)
        if url is None or not url.startswith(("https://", "http://")):
            raise InvalidMessage(f"{where}.file.url must be an http(s) URL WAHA can fetch")
        name = _text(file, "name", f"{where}.file", 255)
        mimetype = _text(file, "mimetype", f"{where}.file", 255)
    if text is None and url is None:
        raise InvalidMessage(f"{where} needs text, a file, or both (the text is the caption)")
    client_id = _text(item, "client_id", where, 200) or phone
    session = _text(item, "session", where, 100)
    return MessageDraft(phone, client_id, text, url, name, mimetype, session)


def parse_messages(body: Any) -> list[MessageDraft]:
    """One message object, or `{"messages": [...]}` with 1 to MAX_BATCH of them; InvalidMessage
    names the first field that is wrong (`messages[3].to: ...`)."""
    if isinstance(body, Mapping) and "messages" in body:
        items = body["messages"]
        if set(body) != {"messages"}:
            raise InvalidMessage('a batch is {"messages": [...]} with nothing beside it')
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_BATCH:
            raise InvalidMessage(f"messages must be a list of 1 to {MAX_BATCH} messages")
        return [_draft(item, f"messages[{i}]") for i, item in enumerate(items)]
    return [_draft(body, "message")]


def send_request(
    tenant: str,
    draft: MessageDraft,
    request_id: str,
    *,
    batch_id: str | None,
    source: str,
    now: datetime,
) -> SendRequested:
    return SendRequested(
        header=new_header(
            "SendRequested",
            tenant_id=tenant,
            correlation_id=request_id,
            causation_id=None,
            source=source,
            occurred_at=now,
        ),
        request_id=request_id,
        client_id=draft.client_id,
        phone_e164=draft.phone_e164,
        kind=draft.kind,
        text=draft.text,
        file_url=draft.file_url,
        file_mimetype=draft.file_mimetype,
        file_name=draft.file_name,
        batch_id=batch_id,
        step=API_STEP,
        session=draft.session,
    )


class SendStatus(enum.StrEnum):
    """Where a send stands, furthest first wins: read > delivered > sent > approved."""

    REQUESTED = "requested"
    DEFERRED = "deferred"
    APPROVED = "approved"
    REJECTED = "rejected"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


_RANK: Final = {
    SendStatus.REQUESTED: 0,
    SendStatus.DEFERRED: 1,
    SendStatus.APPROVED: 2,
    SendStatus.REJECTED: 3,
    SendStatus.SENT: 4,
    SendStatus.FAILED: 5,
    SendStatus.DELIVERED: 6,
    SendStatus.READ: 7,
}


def status_of(event_type: str, fields: Mapping[str, Any]) -> SendStatus | None:
    """Where one event about a send puts it (None: the event says nothing about that)."""
    if event_type == "SendRequested":
        return SendStatus.REQUESTED
    if event_type == "SendDeferred":
        return SendStatus.DEFERRED
    if event_type == "SendApproved":
        return SendStatus.APPROVED
    if event_type == "SendRejected":
        return SendStatus.REJECTED
    if event_type == "MessageDispatched":
        return SendStatus.SENT
    if event_type == "DispatchFailed" and fields.get("retryable") is False:
        return SendStatus.FAILED
    if event_type == "DeliveryStatusChanged":
        ack = fields.get("ack")
        if isinstance(ack, int) and ack >= 3:
            return SendStatus.READ
        if isinstance(ack, int) and ack == 2:
            return SendStatus.DELIVERED
    return None


def send_status(events: Iterable[tuple[str, Mapping[str, Any]]]) -> SendStatus | None:
    """The furthest status the events about one send reach (None: no event about it yet). A
    delivery report after a failure still means delivered: WAHA's word on the message wins."""
    best: SendStatus | None = None
    for event_type, fields in events:
        best = further(best, status_of(event_type, fields))
    return best


def further(a: SendStatus | None, b: SendStatus | None) -> SendStatus | None:
    """The further of two statuses (None counts as no status)."""
    if a is None or (b is not None and _RANK[b] > _RANK[a]):
        return b
    return a
