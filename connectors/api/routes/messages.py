"""Sends through the API: one message or a batch, text or a file by URL, priced by the ledger
like every other send; and where each send stands."""

from __future__ import annotations

import uuid

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import LOG, REPORTS, Route, answer, json_body, now_of, principal_of
from connectors.api.routes.tokens import idempotency_key, idempotent_id
from streams.base.logs import mask
from streams.domain.errors import InvalidMessage
from streams.domain.identity import Permission
from streams.domain.messages import parse_messages, send_request, send_status

__all__ = ["ROUTES"]


async def send_messages(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    try:
        drafts = parse_messages(await json_body(request))
    except InvalidMessage as exc:
        raise ApiError(400, "invalid_message", str(exc)) from None
    key = idempotency_key(request)
    batch_id = idempotent_id(tenant, "batch", key) if key else str(uuid.uuid4())
    principal = principal_of(request)
    requests = [
        send_request(
            tenant,
            draft,
            idempotent_id(tenant, "send", f"{key}#{i}") if key else str(uuid.uuid4()),
            batch_id=batch_id,
            source=f"api {principal.actor}",
            now=now_of(request),
        )
        for i, draft in enumerate(drafts)
    ]
    await request.app[LOG].append([(event, tenant) for event in requests])
    unmasked = principal.may(Permission.PERSONAL_DATA_READ)
    return answer(
        {
            "batch_id": batch_id,
            "requests": [
                {
                    "request_id": event.request_id,
                    "to": event.phone_e164 if unmasked else mask(event.phone_e164),
                    "status": "requested",
                    "location": f"/v1/tenants/{tenant}/messages/{event.request_id}",
                }
                for event in requests
            ],
        },
        202,
    )


async def message_status(request: web.Request) -> web.Response:
    tenant, request_id = request.match_info["tenant"], request.match_info["request_id"]
    events = await request.app[REPORTS].send_events(tenant, request_id)
    status = send_status((e["event_type"], e["event"]) for e in events)
    if status is None:
        raise ApiError(
            404,
            "not_found",
            f"no send {request_id!r} of tenant {tenant!r} in the analytics store yet (it lags "
            "the log by about a second)",
        )
    return answer(
        {
            "request_id": request_id,
            "status": status.value,
            "events": [
                {k: e[k] for k in ("event_type", "occurred_at", "position")} for e in events
            ],
        }
    )


ROUTES = (
    Route(
        "POST",
        "/v1/tenants/{tenant}/messages",
        "sendMessages",
        send_messages,
        permission=Permission.SENDS_WRITE,
        changes_state=True,
    ),
    Route(
        "GET",
        "/v1/tenants/{tenant}/messages/{request_id}",
        "getMessage",
        message_status,
        permission=Permission.SENDS_READ,
    ),
)
