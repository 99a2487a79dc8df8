"""Conversations for operators: the list of a tenant's chats, a thread with what the classifier
made of each message, open hand-offs and their resolution, correcting a label, replying as a
person. The reads come from the replica's conversation book (ADR 0026); every write is an event.

Message texts are personal data: a caller needs `conversations:read` (operators and admins,
never viewers) and, for a key, `personal_data:read` too.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any, Final

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import (
    CONVERSATIONS,
    LOG,
    Route,
    answer,
    json_body,
    now_of,
    principal_of,
    text_field,
)
from connectors.api.routes.tokens import idempotency_key, idempotent_id
from streams.domain.chat_keys import chat_key, record_key
from streams.domain.conversations import (
    ChatSummary,
    ConversationBook,
    OpenHandoff,
    ThreadHandoff,
    ThreadMessage,
    correction_for,
    operator_reply,
)
from streams.domain.errors import HandoffError, InvalidMessage
from streams.domain.handoffs import resolution_for
from streams.domain.identity import Permission
from streams.domain.intent import LABELS
from streams.domain.messages import MAX_TEXT

__all__ = ["ROUTES"]

_PAGE: Final = 50
_MAX_PAGE: Final = 200
_MAX_NOTE: Final = 1000


def _book(request: web.Request) -> ConversationBook:
    if not principal_of(request).may(Permission.PERSONAL_DATA_READ):
        raise ApiError(
            403,
            "forbidden",
            "conversations carry message texts, personal data: this credential lacks "
            "personal_data:read",
        )
    return request.app[CONVERSATIONS].conversations


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _summary(row: ChatSummary) -> dict[str, Any]:
    return {
        "chat": row.chat,
        "chat_id": row.chat_id,
        "phone": row.phone,
        "client_id": row.client_id,
        "last_message": {
            "direction": row.last_direction,
            "text": row.last_text,
            "at": _time(row.last_at),
        },
        "last_intent": None
        if row.last_label is None
        else {"label": row.last_label, "confidence": row.last_confidence},
        "open_handoff": row.open_handoff,
        "replied": row.replied,
    }


def _cursor(row: ChatSummary) -> str:
    raw = f"{row.last_at.astimezone(UTC).isoformat()}|{row.chat}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _after(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, chat = raw.split("|", 1)
        when = datetime.fromisoformat(at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        when = None
    if when is None or when.tzinfo is None:
        raise ApiError(
            400, "invalid_query", "cursor is the `next` of a previous page", parameter="cursor"
        )
    return when, chat


def _flag(request: web.Request, name: str, values: tuple[str, str]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in values:
        raise ApiError(
            400, "invalid_query", f"{name} is {values[0]} or {values[1]}", parameter=name
        )
    return value


def _limit(request: web.Request) -> int:
    try:
        limit = int(request.query.get("limit", str(_PAGE)))
    except ValueError:
        limit = 0
    if not 1 <= limit <= _MAX_PAGE:
        raise ApiError(400, "invalid_query", f"limit is 1 to {_MAX_PAGE}", parameter="limit")
    return limit


async def list_conversations(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    handoff = _flag(request, "handoff", ("open", "none"))
    replied = _flag(request, "replied", ("true", "false"))
    limit = _limit(request)
    cursor = request.query.get("cursor")
    rows = _book(request).summaries(tenant)
    if handoff is not None:
        rows = [r for r in rows if r.open_handoff == (handoff == "open")]
    if replied is not None:
        rows = [r for r in rows if r.replied == (replied == "true")]
    if cursor is not None:
        after = _after(cursor)
        rows = [r for r in rows if (r.last_at, r.chat) < after]
    page = rows[:limit]
    more = len(rows) > limit
    return answer(
        {
            "conversations": [_summary(r) for r in page],
            "next": _cursor(page[-1]) if more else None,
        }
    )


def _message(m: ThreadMessage) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": m.message_id,
        "direction": m.direction,
        "at": _time(m.at),
        "text": m.text,
        "kind": m.kind,
    }
    if m.direction == "inbound":
        out["intent"] = (
            None
            if m.label is None
            else {
                "label": m.label,
                "confidence": m.confidence,
                "entities": {
                    "promised_date": m.promised_date,
                    "amount_centavos": m.amount_centavos,
                },
            }
        )
        out["corrected_label"] = m.corrected_label
    else:
        out.update(status=m.status, step=m.step, author=m.author)
    return out


def _handoff(h: ThreadHandoff) -> dict[str, Any]:
    return {
        "handoff_id": h.handoff_id,
        "reason": h.reason,
        "opened_at": _time(h.opened_at),
        "message_id": h.waha_message_id,
        "resolved_at": _time(h.resolved_at),
        "label": h.label,
        "operator": h.operator,
    }


def _not_found(tenant: str, chat: str) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"no conversation {chat!r} of tenant {tenant!r} (a chat appears with its first message)",
    )


async def get_conversation(request: web.Request) -> web.Response:
    tenant, chat = request.match_info["tenant"], request.match_info["chat"]
    thread = _book(request).thread(tenant, chat)
    if thread is None:
        raise _not_found(tenant, chat)
    opened = [h for h in thread.handoffs if h.resolved_at is None]
    return answer(
        {
            **_summary(thread.summary),
            "session": thread.session,
            "handoff": _handoff(opened[-1]) if opened else None,
            "handoffs": [_handoff(h) for h in thread.handoffs],
            "messages": [_message(m) for m in thread.messages],
        }
    )


def _open(h: OpenHandoff) -> dict[str, Any]:
    request = h.handoff.request
    return {
        "handoff_id": h.handoff.handoff_id,
        "chat": h.chat,
        "chat_id": request.chat_id,
        "client_id": request.client_id,
        "reason": request.reason,
        "intent": request.intent,
        "opened_at": _time(h.handoff.opened_at),
        "age_s": h.age_s,
        "message": None
        if request.waha_message_id is None
        else {"message_id": request.waha_message_id, "text": h.handoff.text},
    }


async def list_handoffs(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    opened = _book(request).open_handoffs(tenant, now_of(request))
    return answer({"handoffs": [_open(h) for h in opened]})


def _label(body: dict[str, Any]) -> str:
    label = text_field(body, "label", max_length=64)
    if label not in LABELS:
        raise ApiError(
            400,
            "invalid_field",
            f"label is one of: {', '.join(LABELS)}",
            field="label",
        )
    return label


def _note(body: dict[str, Any]) -> str | None:
    return text_field(body, "note", max_length=_MAX_NOTE) if body.get("note") is not None else None


async def resolve_handoff(request: web.Request) -> web.Response:
    tenant, handoff_id = request.match_info["tenant"], request.match_info["handoff_id"]
    body = await json_body(request)
    handoff = _book(request).handoff(tenant, handoff_id)
    if handoff is None:
        raise ApiError(404, "not_found", f"no hand-off {handoff_id!r} of tenant {tenant!r}")
    label, note = _label(body), _note(body)
    resume = body.get("resume", True)
    if not isinstance(resume, bool):
        raise ApiError(400, "invalid_field", "resume is true or false", field="resume")
    try:
        resolution = resolution_for(
            handoff,
            label,
            resume=resume,
            operator=principal_of(request).actor,
            note=note,
            now=now_of(request),
        )
    except HandoffError as exc:
        raise ApiError(409, "handoff_resolved", str(exc)) from None
    key = record_key(tenant, resolution.chat_id).decode()
    await request.app[LOG].append([(resolution, key)])
    return answer(
        {
            "handoff_id": handoff_id,
            "chat": chat_key(resolution.chat_id),
            "label": label,
            "resume": resume,
            "resolved_at": _time(resolution.header.occurred_at),
        },
        202,
    )


async def correct_label(request: web.Request) -> web.Response:
    tenant, chat = request.match_info["tenant"], request.match_info["chat"]
    body = await json_body(request)
    message_id = text_field(body, "message_id", max_length=512)
    book = _book(request)
    try:
        chat_id, classified = book.inbound(tenant, chat, message_id)
    except HandoffError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    thread = book.thread(tenant, chat)
    event = correction_for(
        tenant,
        chat_id,
        message_id,
        _label(body),
        classified_label=classified,
        client_id=None if thread is None else thread.summary.client_id,
        operator=principal_of(request).actor,
        note=_note(body),
        now=now_of(request),
    )
    await request.app[LOG].append([(event, record_key(tenant, chat_id).decode())])
    return answer(
        {
            "chat": chat_key(chat_id),
            "message_id": message_id,
            "label": event.label,
            "classified_label": classified,
        },
        202,
    )


async def reply(request: web.Request) -> web.Response:
    tenant, chat = request.match_info["tenant"], request.match_info["chat"]
    body = await json_body(request)
    text = text_field(body, "text", max_length=MAX_TEXT)
    try:
        phone, client_id, session = _book(request).reply_target(tenant, chat)
    except InvalidMessage:
        raise _not_found(tenant, chat) from None
    key = idempotency_key(request)
    request_id = (
        idempotent_id(tenant, f"reply\x1f{chat_key(chat)}", key) if key else str(uuid.uuid4())
    )
    try:
        event = operator_reply(
            tenant,
            phone,
            text,
            request_id,
            client_id=client_id,
            session=session,
            actor=principal_of(request).actor,
            now=now_of(request),
        )
    except InvalidMessage as exc:
        raise ApiError(400, "invalid_message", str(exc)) from None
    await request.app[LOG].append([(event, tenant)])
    return answer(
        {
            "request_id": request_id,
            "chat": chat_key(chat),
            "status": "requested",
            "location": f"/v1/tenants/{tenant}/messages/{request_id}",
        },
        202,
    )


ROUTES = (
    Route(
        "GET",
        "/v1/tenants/{tenant}/conversations",
        "listConversations",
        list_conversations,
        permission=Permission.CONVERSATIONS_READ,
    ),
    Route(
        "GET",
        "/v1/tenants/{tenant}/conversations/{chat}",
        "getConversation",
        get_conversation,
        permission=Permission.CONVERSATIONS_READ,
    ),
    Route(
        "POST",
        "/v1/tenants/{tenant}/conversations/{chat}/corrections",
        "correctIntent",
        correct_label,
        permission=Permission.CONVERSATIONS_WRITE,
        changes_state=True,
        personal=True,
    ),
    Route(
        "POST",
        "/v1/tenants/{tenant}/conversations/{chat}/replies",
        "replyToConversation",
        reply,
        permission=Permission.CONVERSATIONS_WRITE,
        changes_state=True,
        personal=True,
    ),
    Route(
        "GET",
        "/v1/tenants/{tenant}/handoffs",
        "listHandoffs",
        list_handoffs,
        permission=Permission.CONVERSATIONS_READ,
    ),
    Route(
        "POST",
        "/v1/tenants/{tenant}/handoffs/{handoff_id}/resolution",
        "resolveHandoff",
        resolve_handoff,
        permission=Permission.CONVERSATIONS_WRITE,
        changes_state=True,
        target="handoff_id",
    ),
)
