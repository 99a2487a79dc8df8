"""The cobranca HTTP API: one aiohttp application under /v1, described by openapi.yaml.

Every route is declared once (`connectors/api/routes/`) with its operationId, who may call it and
whether it changes state. The middlewares do, in order, for every request:

1. a request id (the client's `X-Request-Id` when sane, else a new one) bound to every log line
   and echoed in the answer;
2. the one error shape, `{"error": {"code", "message", "details"}}`, for every refusal and every
   failure (a 500 names the request id, never the exception);
3. security headers, and CORS for the configured origins only;
4. authentication, authorization on the route's tenant, the caller's rate limit (429 with
   Retry-After), and an ApiRequestAudited event for each call that changes state, stored in the
   background (`connectors/api/audit.py`).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final

import structlog
import yaml
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from prometheus_client.exposition import generate_latest

from connectors.api.audit import AuditTrail
from connectors.api.docs import render
from connectors.api.errors import ApiError, error_body
from connectors.api.http import (
    CONVERSATIONS,
    DEBTORS,
    IDENTITY,
    LEDGER,
    LOG,
    NOW,
    PRINCIPAL,
    REPORTS,
    REQUEST_ID,
    WHATSAPP,
    Access,
    Route,
)
from connectors.api.identity import IdentityService, check
from connectors.api.limits import RateLimiter
from connectors.api.ports import Conversations, Debtors, EventLog, LedgerView, Reports, WhatsApp
from connectors.api.routes import ROUTES
from connectors.api.routes.config import CONFIG_LOCKS, config_locks
from connectors.api.routes.imports import IMPORTS
from connectors.api.settings import ApiSettings
from connectors.api.static import add_console
from connectors.imports.errors import BodyTooLarge, RequestRefused, UnsupportedFormat
from connectors.schema_registry.app import PREFIX as REGISTRY_PREFIX
from connectors.schema_registry.app import create_app as registry_app
from schemas.events import ApiRequestAudited, new_header
from schemas.registry import SchemaRegistry
from streams.base.errors import ProduceFailed
from streams.base.logs import mask
from streams.domain.identity import PLATFORM
from streams.domain.tenant_config import TENANT_ID

__all__ = ["create_app", "openapi_document"]

log = structlog.get_logger("cobranca.api")

ROUTE: Final = web.AppKey("routes", dict)
LIMITER: Final = web.AppKey("limiter", RateLimiter)
SETTINGS: Final = web.AppKey("settings", ApiSettings)
OPENAPI: Final = web.AppKey("openapi", dict)
METRICS: Final = web.AppKey("metrics", CollectorRegistry)
AUDIT: Final = web.AppKey("audit", AuditTrail)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_IMPORTS_MODULE: Final = "connectors.api.routes.imports"
_CONVERSATIONS_MODULE: Final = "connectors.api.routes.conversations"
_SECURITY_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Strict-Transport-Security": "max-age=31536000",
}
_CORS_HEADERS: Final = "Authorization, Content-Type, Idempotency-Key, If-Match, X-Request-Id"


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI 3.1 document, as kept in the repository."""
    text = resources.files("connectors.api").joinpath("openapi.yaml").read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def _error(exc: Exception, request_id: str) -> web.Response:
    if isinstance(exc, ApiError):
        return web.json_response(exc.body(), status=exc.status, headers=exc.headers or None)
    if isinstance(exc, RequestRefused):
        body = dict(exc.body)
        code, message = str(body.pop("error")), str(body.pop("message"))
        return web.json_response(
            error_body(code, message, body), status=exc.status, headers=exc.headers or None
        )
    if isinstance(exc, UnsupportedFormat):
        return web.json_response(error_body("unsupported_format", str(exc)), status=415)
    if isinstance(exc, BodyTooLarge):
        return web.json_response(error_body("body_too_large", str(exc)), status=413)
    if isinstance(exc, ProduceFailed):
        log.error("the log does not answer", error=str(exc))
        return web.json_response(
            error_body("unavailable", "the event log does not answer; try again shortly"),
            status=503,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, web.HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return web.json_response(error_body(code, exc.reason), status=exc.status)
    log.exception("unexpected error")
    return web.json_response(
        error_body("internal", f"something failed inside the API; quote request id {request_id}"),
        status=500,
    )


@web.middleware
async def _envelope(request: web.Request, handler: Any) -> web.StreamResponse:
    """Request id, error shape, security and CORS headers."""
    presented = request.headers.get("X-Request-Id", "")
    request_id = presented if _REQUEST_ID.fullmatch(presented) else uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    origin = request.headers.get("Origin", "").rstrip("/")
    allowed = origin in request.app[SETTINGS].cors_origins
    with structlog.contextvars.bound_contextvars(request_id=request_id):
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response: web.StreamResponse = web.Response(status=204 if allowed else 403)
            if allowed:
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, PUT, PATCH, DELETE"
                response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        else:
            try:
                response = await handler(request)
            except Exception as exc:  # every failure answers in the one shape
                response = _error(exc, request_id)
    _count_imports(request, response.status)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = (
                "X-Request-Id, Retry-After, Location, ETag"
            )
            response.headers["Vary"] = "Origin"
    return response


def _count_imports(request: web.Request, status: int) -> None:
    """Every answer of the import routes by status, refusals included (the ImportsUnavailable
    alert watches the 503s; ADR 0020)."""
    if IMPORTS not in request.app:
        return
    route = _route_of(request)
    if route is not None and route.handler.__module__ == _IMPORTS_MODULE:
        request.app[IMPORTS].metrics.requests.labels(str(status)).inc()


def _route_of(request: web.Request) -> Route | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    found: Route | None = request.app[ROUTE].get((request.method, resource.canonical))
    return found


async def _audit(request: web.Request, route: Route, status: int) -> None:
    principal = request.get(PRINCIPAL)
    actor = principal.actor if principal is not None else "anonymous"
    tenant = (
        request.match_info.get("tenant") or (principal.tenant if principal else None) or PLATFORM
    )
    event = ApiRequestAudited(
        header=new_header(
            "ApiRequestAudited",
            tenant_id=tenant,
            correlation_id=request[REQUEST_ID],
            causation_id=None,
            source="api",
            occurred_at=request[NOW],
        ),
        request_id=request[REQUEST_ID],
        actor=actor,
        operation=route.operation,
        method=request.method,
        path=mask(request.path) if route.personal else request.path,
        status=status,
        address=request.remote or "",
        target=request.match_info.get(route.target) if route.target else None,
    )
    await request.app[AUDIT].record(event, actor)


def _limit(request: web.Request, caller: str) -> None:
    wait = request.app[LIMITER].take(caller, time.monotonic())
    if wait > 0:
        retry = str(max(1, round(wait)))
        raise ApiError(
            429, "rate_limited", "too many requests; slow down", headers={"Retry-After": retry}
        )


@web.middleware
async def _access(request: web.Request, handler: Any) -> web.StreamResponse:
    """Who is calling, may they, how fast; and the audit record of what they changed."""
    route = _route_of(request)
    request[NOW] = datetime.now(UTC)
    if route is None:
        response: web.StreamResponse = await handler(request)
        return response
    identity: IdentityService = request.app[IDENTITY]
    caller = f"address:{request.remote}"
    if route.access != Access.PUBLIC:
        try:
            principal = await identity.principal(request.headers.get("Authorization"), request[NOW])
        except ApiError:
            # Guessing keys or tokens costs the address its rate like any public call.
            _limit(request, caller)
            raise
        if route.access == Access.USER and not principal.actor.startswith("user:"):
            raise ApiError(403, "forbidden", "this route is for users; API keys cannot call it")
        tenant = request.match_info.get("tenant")
        if tenant is not None and TENANT_ID.fullmatch(tenant) is None:
            raise ApiError(404, "not_found", "no tenant has that id", tenant=tenant[:80])
        if route.permission is not None:
            check(principal, route.permission, tenant)
        request[PRINCIPAL] = principal
        caller = principal.actor
    _limit(request, caller)
    if not route.changes_state:
        response = await handler(request)
        return response
    try:
        response = await handler(request)
    except ApiError as exc:
        await _audit(request, route, exc.status)
        raise
    await _audit(request, route, response.status)
    return response


async def _openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


async def _docs(request: web.Request) -> web.Response:
    response = web.Response(text=render(request.app[OPENAPI]), content_type="text/html")
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(
    settings: ApiSettings,
    identity: IdentityService,
    log_: EventLog,
    ledger: LedgerView,
    reports: Reports,
    whatsapp: WhatsApp,
    imports: Any | None = None,
    routes: Iterable[Route] = ROUTES,
    metrics: CollectorRegistry | None = None,
    schema_registry: SchemaRegistry | None = None,
    conversations: Conversations | None = None,
    *,
    debtors: Debtors | None = None,
) -> web.Application:
    """The application: `identity` answers who is calling, `log_` stores what they change,
    `ledger` knows balances, `reports` reads analytics, `whatsapp` reaches WAHA's sessions,
    `imports` (an ImportService) runs debtor imports; `metrics`, when given, is served at
    ``GET /metrics`` (Prometheus text). Under ``/registry``, public and read-only, Confluent's
    schema registry API over `schema_registry` (default: the pinned one; ADR 0025).
    `conversations` serves the conversation routes (ADR 0026); without it they are not served.
    `debtors` searches debtors and their timelines; without it those routes answer 503.
    At ``/``, the operator console's files (ADR 0027)."""
    app = web.Application(middlewares=[_envelope, _access], client_max_size=settings.max_json_bytes)
    app[SETTINGS] = settings
    app[IDENTITY] = identity
    app[LOG] = log_
    app[AUDIT] = AuditTrail(log_)
    app[LEDGER] = ledger
    app[REPORTS] = reports
    app[WHATSAPP] = whatsapp
    if debtors is not None:
        app[DEBTORS] = debtors
    app[LIMITER] = RateLimiter(settings.rate_per_s, settings.rate_burst)
    app[OPENAPI] = openapi_document()
    app[CONFIG_LOCKS] = config_locks()
    if imports is not None:
        app[IMPORTS] = imports
    if conversations is not None:
        app[CONVERSATIONS] = conversations
    table: dict[tuple[str, str], Route] = {}
    for route in routes:
        if imports is None and route.handler.__module__ == _IMPORTS_MODULE:
            continue
        if conversations is None and route.handler.__module__ == _CONVERSATIONS_MODULE:
            continue
        resource = app.router.add_route(route.method, route.path, route.handler)
        table[(route.method, resource.resource.canonical if resource.resource else route.path)] = (
            route
        )
    app[ROUTE] = table
    app.router.add_get("/v1/openapi.json", _openapi)
    app.router.add_get("/v1/docs", _docs)
    app.router.add_get("/healthz", _healthz)
    if metrics is not None:
        app[METRICS] = metrics
        app.router.add_get("/metrics", _metrics)
    app.add_subapp(REGISTRY_PREFIX, registry_app(schema_registry))
    add_console(app)  # the operator console at / (ADR 0027)
    app.on_cleanup.append(_drain_audit)
    return app


async def _drain_audit(app: web.Application) -> None:
    await app[AUDIT].drain()
