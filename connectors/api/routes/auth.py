"""Logging in and out, refreshing, accepting an invite, and who am I."""

from __future__ import annotations

from aiohttp import web

from connectors.api.http import (
    IDENTITY,
    Access,
    Route,
    answer,
    json_body,
    now_of,
    principal_of,
    text_field,
)
from connectors.api.identity import IdentityService

__all__ = ["ROUTES"]


def _service(request: web.Request) -> IdentityService:
    return request.app[IDENTITY]


async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    email, password = text_field(body, "email", max_length=254), text_field(body, "password")
    tokens = await _service(request).login(email, password, request.remote or "", now_of(request))
    return answer(tokens.body())


async def refresh(request: web.Request) -> web.Response:
    body = await json_body(request)
    tokens = await _service(request).refresh(text_field(body, "refresh_token"), now_of(request))
    return answer(tokens.body())


async def logout(request: web.Request) -> web.Response:
    await _service(request).logout(request.headers.get("Authorization"), now_of(request))
    return web.Response(status=204)


async def accept_invite(request: web.Request) -> web.Response:
    body = await json_body(request)
    service = _service(request)
    tokens = await service.accept_invite(
        text_field(body, "token"), text_field(body, "password"), now_of(request)
    )
    return answer(tokens.body())


async def change_password(request: web.Request) -> web.Response:
    body = await json_body(request)
    current, new = text_field(body, "current_password"), text_field(body, "new_password")
    await _service(request).change_password(principal_of(request), current, new, now_of(request))
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    principal = principal_of(request)
    service = _service(request)
    kind, _, ident = principal.actor.partition(":")
    body: dict[str, object] = {
        "actor": principal.actor,
        "tenant": principal.tenant,
        "permissions": sorted(p.value for p in principal.permissions),
    }
    if kind == "user":
        account = service.directory.account(ident)
        if account is not None:
            body |= {"user_id": ident, "email": account.email, "roles": sorted(account.roles)}
    else:
        body |= {"key_id": ident}
    return answer(body)


ROUTES = (
    Route("POST", "/v1/auth/login", "login", login, Access.PUBLIC),
    Route("POST", "/v1/auth/refresh", "refreshToken", refresh, Access.PUBLIC),
    Route("POST", "/v1/auth/logout", "logout", logout, Access.USER, changes_state=True),
    Route("POST", "/v1/auth/invites/accept", "acceptInvite", accept_invite, Access.PUBLIC),
    Route("GET", "/v1/auth/me", "me", me, Access.ANY),
    Route(
        "POST",
        "/v1/auth/password",
        "changePassword",
        change_password,
        Access.USER,
        changes_state=True,
    ),
)
