"""A tenant's webhook subscriptions: subscribe a URL to event kinds (the signing secret is shown
once), list them, delete one. Delivery is `cobranca webhooks deliver` (ADR 0024)."""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web

from connectors.api.credentials import new_secret
from connectors.api.errors import ApiError
from connectors.api.http import IDENTITY, LOG, Route, answer, json_body, now_of, principal_of
from streams.domain.errors import InvalidWebhook
from streams.domain.identity import Permission
from streams.domain.webhooks import Subscription, parse_kinds, subscribe, unsubscribe

__all__ = ["ROUTES", "subscription_view"]

MANAGE = Permission.WEBHOOKS_MANAGE
SECRET_PREFIX = "whsec_"


def subscription_view(sub: Subscription) -> dict[str, Any]:
    """A subscription as answered: never its secret."""
    return {
        "subscription_id": sub.subscription_id,
        "tenant": sub.tenant,
        "url": sub.url,
        "events": sorted(kind.value for kind in sub.kinds),
        "active": sub.active,
    }


def _refused(exc: InvalidWebhook) -> ApiError:
    return ApiError(400, "invalid_field", exc.message, field=exc.field)


async def list_webhooks(request: web.Request) -> web.Response:
    found = request.app[LOG].webhooks.of_tenant(request.match_info["tenant"])
    return answer({"webhooks": [subscription_view(s) for s in found]})


async def create_webhook(request: web.Request) -> web.Response:
    body = await json_body(request)
    url, names = body.get("url"), body.get("events")
    if not isinstance(url, str):
        raise ApiError(400, "invalid_field", "'url' is required, as a string", field="url")
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ApiError(
            400, "invalid_field", "'events' is required, a list of event kinds", field="events"
        )
    tenant = request.match_info["tenant"]
    secret = new_secret(SECRET_PREFIX)
    try:
        event = subscribe(
            "whs_" + uuid.uuid4().hex[:16],
            tenant,
            url,
            parse_kinds(names),
            secret,
            actor=principal_of(request).actor,
            now=now_of(request),
            loopback_http=request.app[IDENTITY].settings.webhook_loopback_http,
        )
    except InvalidWebhook as exc:
        raise _refused(exc) from None
    await request.app[LOG].append([(event, event.subscription_id)])
    view = subscription_view(Subscription.of(event))
    return answer(
        {**view, "secret": secret},
        201,
        Location=f"/v1/tenants/{tenant}/webhooks/{event.subscription_id}",
    )


async def delete_webhook(request: web.Request) -> web.Response:
    tenant, subscription_id = request.match_info["tenant"], request.match_info["subscription_id"]
    sub = request.app[LOG].webhooks.get(subscription_id)
    if sub is None or sub.tenant != tenant or not sub.active:
        raise ApiError(404, "not_found", f"no webhook {subscription_id!r} for tenant {tenant!r}")
    try:
        event = unsubscribe(sub, actor=principal_of(request).actor, now=now_of(request))
    except InvalidWebhook as exc:
        raise _refused(exc) from None
    await request.app[LOG].append([(event, event.subscription_id)])
    return answer(subscription_view(Subscription.of(event)))


ROUTES = (
    Route("GET", "/v1/tenants/{tenant}/webhooks", "listWebhooks", list_webhooks, permission=MANAGE),
    Route(
        "POST",
        "/v1/tenants/{tenant}/webhooks",
        "createWebhook",
        create_webhook,
        permission=MANAGE,
        changes_state=True,
    ),
    Route(
        "DELETE",
        "/v1/tenants/{tenant}/webhooks/{subscription_id}",
        "deleteWebhook",
        delete_webhook,
        permission=MANAGE,
        changes_state=True,
        target="subscription_id",
    ),
)
