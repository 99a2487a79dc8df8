"""A tenant's users: invite, list, grant and revoke roles, disable and enable."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import IDENTITY, Route, answer, json_body, now_of, principal_of, text_field
from streams.domain.identity import Account, Permission, Role, accounts, parse_roles

__all__ = ["ROUTES", "account_view"]

MANAGE = Permission.USERS_MANAGE


def account_view(account: Account) -> dict[str, Any]:
    return {
        "user_id": account.user_id,
        "email": account.email,
        "tenant": account.tenant,
        "roles": sorted(account.roles),
        "status": account.status,
        "locked_until": account.locked_until.isoformat() if account.locked_until else None,
    }


def _roles(body: dict[str, Any]) -> frozenset[Role]:
    names = body.get("roles")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(
            400, "invalid_field", "'roles' is required, a list of role names", field="roles"
        )
    try:
        return parse_roles(names)
    except ValueError as exc:
        raise ApiError(400, "invalid_field", str(exc), field="roles") from None


def _account(request: web.Request) -> Account:
    tenant, user_id = request.match_info["tenant"], request.match_info["user_id"]
    account = request.app[IDENTITY].account_in(principal_of(request), user_id)
    if account.tenant != tenant:
        raise ApiError(404, "not_found", f"no user {user_id!r} in tenant {tenant!r}")
    return account


async def list_users(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    found = request.app[IDENTITY].directory.accounts(tenant)
    return answer({"users": [account_view(a) for a in found]})


async def invite_user(request: web.Request) -> web.Response:
    body = await json_body(request)
    email = text_field(body, "email", max_length=254)
    tenant = request.match_info["tenant"]
    issued = await request.app[IDENTITY].invite(
        principal_of(request), tenant, email, _roles(body), now_of(request)
    )
    assert isinstance(issued.subject, Account)
    view = account_view(issued.subject)
    return answer(
        {**view, "invite_token": issued.secret},
        201,
        Location=f"/v1/tenants/{tenant}/users/{view['user_id']}",
    )


async def grant_role(request: web.Request) -> web.Response:
    body = await json_body(request)
    try:
        role = Role(text_field(body, "role", max_length=64))
    except ValueError as exc:
        raise ApiError(400, "invalid_field", str(exc), field="role") from None
    account = _account(request)
    actor, now = principal_of(request).actor, now_of(request)
    changed = await request.app[IDENTITY].change(
        lambda: accounts.grant_role(account, role, actor=actor, now=now)
    )
    return answer(account_view(changed))


async def revoke_role(request: web.Request) -> web.Response:
    try:
        role = Role(request.match_info["role"])
    except ValueError as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    account = _account(request)
    actor, now = principal_of(request).actor, now_of(request)
    changed = await request.app[IDENTITY].change(
        lambda: accounts.revoke_role(account, role, actor=actor, now=now)
    )
    return answer(account_view(changed))


async def disable_user(request: web.Request) -> web.Response:
    account = _account(request)
    service, actor, now = request.app[IDENTITY], principal_of(request).actor, now_of(request)
    changed = await service.change(lambda: accounts.disable(account, actor=actor, now=now))
    await service.revoke_logins(changed, now)
    return answer(account_view(changed))


async def enable_user(request: web.Request) -> web.Response:
    account = _account(request)
    actor, now = principal_of(request).actor, now_of(request)
    changed = await request.app[IDENTITY].change(
        lambda: accounts.enable(account, actor=actor, now=now)
    )
    return answer(account_view(changed))


_USER = "/v1/tenants/{tenant}/users/{user_id}"
ROUTES = (
    Route("GET", "/v1/tenants/{tenant}/users", "listUsers", list_users, permission=MANAGE),
    Route(
        "POST",
        "/v1/tenants/{tenant}/users",
        "inviteUser",
        invite_user,
        permission=MANAGE,
        changes_state=True,
    ),
    Route(
        "POST",
        f"{_USER}/roles",
        "grantRole",
        grant_role,
        permission=MANAGE,
        changes_state=True,
        target="user_id",
    ),
    Route(
        "DELETE",
        f"{_USER}/roles/{{role}}",
        "revokeRole",
        revoke_role,
        permission=MANAGE,
        changes_state=True,
        target="user_id",
    ),
    Route(
        "POST",
        f"{_USER}/disable",
        "disableUser",
        disable_user,
        permission=MANAGE,
        changes_state=True,
        target="user_id",
    ),
    Route(
        "POST",
        f"{_USER}/enable",
        "enableUser",
        enable_user,
        permission=MANAGE,
        changes_state=True,
        target="user_id",
    ),
)
