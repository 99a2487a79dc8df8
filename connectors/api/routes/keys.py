"""A tenant's API keys: issue (the secret is shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import IDENTITY, Route, answer, json_body, now_of, principal_of, text_field
from streams.domain.identity import ApiKey, Permission, parse_scopes

__all__ = ["ROUTES", "key_view"]

MANAGE = Permission.KEYS_MANAGE


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "key_id": key.key_id,
        "tenant": key.tenant,
        "name": key.name,
        "scopes": sorted(key.scopes),
        "revoked": key.revoked,
    }


async def list_keys(request: web.Request) -> web.Response:
    found = request.app[IDENTITY].directory.api_keys(request.match_info["tenant"])
    return answer({"keys": [key_view(k) for k in found]})


async def issue_key(request: web.Request) -> web.Response:
    body = await json_body(request)
    names = body.get("scopes")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(
            400, "invalid_field", "'scopes' is required, a list of scopes", field="scopes"
        )
    try:
        scopes = parse_scopes(names)
    except ValueError as exc:
        raise ApiError(400, "invalid_field", str(exc), field="scopes") from None
    tenant = request.match_info["tenant"]
    issued = await request.app[IDENTITY].issue_key(
        principal_of(request),
        tenant,
        text_field(body, "name", max_length=200),
        scopes,
        now_of(request),
    )
    assert isinstance(issued.subject, ApiKey)
    view = key_view(issued.subject)
    return answer(
        {**view, "key": issued.secret},
        201,
        Location=f"/v1/tenants/{tenant}/keys/{view['key_id']}",
    )


async def revoke_key(request: web.Request) -> web.Response:
    service = request.app[IDENTITY]
    key = service.key_in(request.match_info["tenant"], request.match_info["key_id"])
    revoked = await service.revoke_key(principal_of(request), key, now_of(request))
    return answer(key_view(revoked))


ROUTES = (
    Route("GET", "/v1/tenants/{tenant}/keys", "listKeys", list_keys, permission=MANAGE),
    Route(
        "POST",
        "/v1/tenants/{tenant}/keys",
        "issueKey",
        issue_key,
        permission=MANAGE,
        changes_state=True,
    ),
    Route(
        "DELETE",
        "/v1/tenants/{tenant}/keys/{key_id}",
        "revokeKey",
        revoke_key,
        permission=MANAGE,
        changes_state=True,
        target="key_id",
    ),
)
