"""Small helpers every handler uses: the route declaration, JSON bodies in and out, and the
request's caller and time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.identity import IdentityService
from connectors.api.ports import EventLog, LedgerView, Reports
from streams.domain.identity import Permission, Principal

__all__ = [
    "IDENTITY",
    "LEDGER",
    "LOG",
    "NOW",
    "PRINCIPAL",
    "REPORTS",
    "REQUEST_ID",
    "Access",
    "Route",
    "answer",
    "json_body",
    "now_of",
    "principal_of",
    "text_field",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

IDENTITY: Final = web.AppKey("identity", IdentityService)
LOG: Final = web.AppKey("log", EventLog)
LEDGER: Final = web.AppKey("ledger", LedgerView)
REPORTS: Final = web.AppKey("reports", Reports)
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
