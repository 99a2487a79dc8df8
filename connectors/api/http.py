"""Small helpers every handler uses: the route declaration, JSON bodies in and out, and the
request's caller and time."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.identity import IdentityService
from connectors.api.ports import Conversations, Debtors, EventLog, LedgerView, Reports, WhatsApp
from streams.domain.identity import Permission, Principal

__all__ = [
    "CONVERSATIONS",
    "DEBTORS",
    "IDENTITY",
    "LEDGER",
    "LOG",
    "NOW",
    "PRINCIPAL",
    "REPORTS",
    "REQUEST_ID",
    "WHATSAPP",
    "Access",
    "Route",
    "answer",
    "date_range",
    "json_body",
    "now_of",
    "principal_of",
    "table_answer",
    "text_field",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

IDENTITY: Final = web.AppKey("identity", IdentityService)
LOG: Final = web.AppKey("log", EventLog)
LEDGER: Final = web.AppKey("ledger", LedgerView)
REPORTS: Final = web.AppKey("reports", Reports)
WHATSAPP: Final = web.AppKey("whatsapp", WhatsApp)
CONVERSATIONS: Final = web.AppKey("conversations", Conversations)
DEBTORS: Final = web.AppKey("debtors", Debtors)
SAO_PAULO: Final = ZoneInfo("America/Sao_Paulo")
PRINCIPAL: Final = web.RequestKey("principal", Principal)
NOW: Final = web.RequestKey("now", datetime)
REQUEST_ID: Final = web.RequestKey("request_id", str)


class Access:
    """Who may call a route besides what its permission says."""

    PUBLIC: Final = "public"
    """Anyone: login, refresh, accepting an invite, the docs."""
    USER: Final = "user"
    """A logged-in user (an access token), whatever their role; not an API key."""
    ANY: Final = "any"
    """Any caller with a valid credential, user or key."""
    PERMISSION: Final = "permission"
    """A user or key holding the route's permission, on the route's tenant."""


@dataclass(frozen=True, slots=True)
class Route:
    """One operation of the API, as the OpenAPI document names it."""

    method: str
    path: str
    operation: str
    """The OpenAPI operationId."""
    handler: Handler
    access: str = Access.PERMISSION
    permission: Permission | None = None
    changes_state: bool = False
    """Recorded as an ApiRequestAudited on the log when it is called."""
    target: str | None = None
    """The path parameter naming what the call acts on, for the audit record."""
    personal: bool = False
    """Its path names a person (a chat key is a phone): the audit record masks the path."""


def principal_of(request: web.Request) -> Principal:
    return request[PRINCIPAL]


def now_of(request: web.Request) -> datetime:
    return request[NOW]


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object, or 400/413/415 saying what is wrong with it."""
    if request.content_type != "application/json":
        raise ApiError(
            415,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
            content_type=request.content_type,
        )
    try:
        body = await request.json()
    except web.HTTPRequestEntityTooLarge:
        raise ApiError(
            413, "body_too_large", "the JSON body is larger than this API accepts"
        ) from None
    except ValueError as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_body", "the body must be a JSON object")
    return body


def text_field(body: dict[str, Any], name: str, *, max_length: int = 1024) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise ApiError(
            400, "invalid_field", f"{name!r} is required, as a non-empty string", field=name
        )
    if len(value) > max_length:
        raise ApiError(
            400, "invalid_field", f"{name!r} is longer than {max_length} characters", field=name
        )
    return value


def answer(body: Any, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(body, status=status, headers=headers or None)


def _day(request: web.Request, name: str, default: date) -> date:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(
            400, "invalid_query", f"{name} is a date, YYYY-MM-DD", parameter=name
        ) from None


def date_range(request: web.Request, *, days: int = 30, max_days: int = 366) -> tuple[date, date]:
    """`?from=&to=` (São Paulo days, inclusive); by default the last `days` days."""
    end = _day(request, "to", now_of(request).astimezone(SAO_PAULO).date())
    start = _day(request, "from", end - timedelta(days=days - 1))
    if start > end or (end - start).days >= max_days:
        raise ApiError(
            400,
            "invalid_query",
            f"from must not be after to, and the range covers at most {max_days} days",
            parameter="from",
        )
    return start, end


def table_answer(
    request: web.Request,
    rows: list[dict[str, Any]],
    columns: Sequence[str],
    name: str,
    **extra: Any,
) -> web.Response:
    """`rows` as JSON (`{**extra, "rows": rows}`) or, with `?format=csv`, as a CSV download."""
    fmt = request.query.get("format", "json")
    if fmt == "json":
        return answer({**extra, "rows": rows})
    if fmt != "csv":
        raise ApiError(400, "invalid_query", "format is json or csv", parameter="format")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[column] for column in columns])
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
