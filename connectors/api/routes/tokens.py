"""A tenant's tokens: balance, ledger history with hash-chain positions, credits (how a purchase
is recorded) and the usage report as JSON or CSV."""

from __future__ import annotations

import uuid
from typing import Final

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import (
    LEDGER,
    LOG,
    REPORTS,
    Route,
    answer,
    date_range,
    json_body,
    now_of,
    principal_of,
    table_answer,
)
from schemas.events import CreditRequested, new_header
from streams.domain.identity import Permission

__all__ = ["ROUTES", "idempotency_key", "idempotent_id"]

_IDS: Final = uuid.UUID("0b8f6c39-2f55-4a5b-93f4-7c2b3f1a9e10")
_MAX_CREDIT: Final = 10**12
_MAX_DAYS: Final = 366


def idempotent_id(tenant: str, operation: str, key: str) -> str:
    """The id a request with this Idempotency-Key always gets: a retry writes the same id, and
    the ledger does nothing twice for one id."""
    return str(uuid.uuid5(_IDS, f"{tenant}\x1f{operation}\x1f{key}"))


def idempotency_key(request: web.Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 1 <= len(key) <= 255:
        raise ApiError(
            400,
            "invalid_header",
            "Idempotency-Key has 1 to 255 characters",
            header="Idempotency-Key",
        )
    return key


async def balance(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    tokens, movements = request.app[LEDGER].balance(tenant)
    return answer({"tenant": tenant, "balance": tokens, "movements": movements})


def _int_query(
    request: web.Request, name: str, default: int | None, low: int, high: int
) -> int | None:
    text = request.query.get(name)
    if text is None:
        return default
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(
            400, "invalid_query", f"{name} is a whole number from {low} to {high}", parameter=name
        )
    return value


async def ledger(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    before = _int_query(request, "before", None, 0, 2**63 - 1)
    limit = _int_query(request, "limit", 100, 1, 500) or 100
    entries = await request.app[REPORTS].ledger_page(tenant, before, limit)
    following = None
    if len(entries) == limit:
        following = (
            f"/v1/tenants/{tenant}/tokens/ledger?before={entries[-1]['offset']}&limit={limit}"
        )
    return answer({"tenant": tenant, "entries": entries, "next": following})


async def credit(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    body = await json_body(request)
    amount = body.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= _MAX_CREDIT:
        raise ApiError(
            400,
            "invalid_field",
            f"'amount' is a whole number of tokens from 1 to {_MAX_CREDIT}",
            field="amount",
        )
    reference = body.get("reference")
    if reference is not None and (not isinstance(reference, str) or len(reference) > 500):
        raise ApiError(
            400, "invalid_field", "'reference' is text of at most 500 characters", field="reference"
        )
    key = idempotency_key(request)
    credit_id = idempotent_id(tenant, "credit", key) if key else str(uuid.uuid4())
    command = CreditRequested(
        header=new_header(
            "CreditRequested",
            tenant_id=tenant,
            correlation_id=credit_id,
            causation_id=None,
            source=f"api {principal_of(request).actor}",
            occurred_at=now_of(request),
        ),
        credit_id=credit_id,
        amount=amount,
        reference=reference,
    )
    await request.app[LOG].append([(command, tenant)])
    return answer(
        {"tenant": tenant, "credit_id": credit_id, "amount": amount, "reference": reference}, 202
    )


_COLUMNS: Final = ("day", "credited", "debited", "refunded", "sends", "send_tokens")


async def usage(request: web.Request) -> web.StreamResponse:
    tenant = request.match_info["tenant"]
    start, end = date_range(request)
    days = await request.app[REPORTS].usage(tenant, start, end)
    span = {"tenant": tenant, "from": start.isoformat(), "to": end.isoformat()}
    name = f"uso-{tenant}-{start.isoformat()}-{end.isoformat()}"
    return table_answer(request, days, _COLUMNS, name, **span)


_BASE = "/v1/tenants/{tenant}/tokens"
ROUTES = (
    Route("GET", _BASE, "getBalance", balance, permission=Permission.TOKENS_READ),
    Route("GET", f"{_BASE}/ledger", "listLedger", ledger, permission=Permission.TOKENS_READ),
    Route(
        "POST",
        f"{_BASE}/credits",
        "creditTokens",
        credit,
        permission=Permission.TOKENS_CREDIT,
        changes_state=True,
    ),
    Route("GET", f"{_BASE}/usage", "getUsage", usage, permission=Permission.REPORTS_READ),
)
