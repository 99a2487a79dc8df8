"""A tenant's debtors: search by name, phone or CPF/CNPJ, one debtor's timeline, and the
low-balance threshold the Tokens page sets (it lives in the tenant's configuration).

Phones and documents are masked for callers without `personal_data:read` (viewers, keys not
given it); reply texts are shown only to those with it."""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import (
    DEBTORS,
    LOG,
    Route,
    answer,
    json_body,
    now_of,
    principal_of,
)
from connectors.api.ports import Debtors, TenantConfigs
from streams.base.logs import mask
from streams.domain.debtors import parse_debtor_query
from streams.domain.errors import InvalidDebtorQuery, TenantConfigError
from streams.domain.identity import Permission
from streams.domain.tenant_config import to_event, with_low_balance_threshold

__all__ = ["ROUTES"]

_MAX_LIMIT: Final = 100
_MAX_CURSOR: Final = 200


def _debtors(request: web.Request) -> Debtors:
    found = request.app.get(DEBTORS)
    if found is None:
        raise ApiError(503, "debtors_unavailable", "this API serves no debtor search")
    return found


def _configs(request: web.Request) -> TenantConfigs:
    return request.app[LOG].tenants


def _limit(request: web.Request) -> int:
    text = request.query.get("limit", "20")
    if not text.isdigit() or not 1 <= int(text) <= _MAX_LIMIT:
        raise ApiError(
            400,
            "invalid_query",
            f"limit is a whole number from 1 to {_MAX_LIMIT}",
            parameter="limit",
        )
    return int(text)


def _shown(value: str | None, unmasked: bool) -> str | None:
    return value if value is None or unmasked else mask(value)


async def search(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    try:
        query = parse_debtor_query(request.query.get("q", ""))
    except InvalidDebtorQuery as exc:
        raise ApiError(400, "invalid_query", str(exc), parameter="q") from None
    cursor = request.query.get("cursor", "")
    if len(cursor) > _MAX_CURSOR:
        raise ApiError(400, "invalid_query", "cursor is not one this API gave", parameter="cursor")
    limit = _limit(request)
    found, following = await _debtors(request).search(tenant, query, cursor, limit)
    unmasked = principal_of(request).may(Permission.PERSONAL_DATA_READ)
    debtors = [
        {
            **debtor,
            "phone": _shown(debtor["phone"], unmasked),
            "document": _shown(debtor["document"], unmasked),
        }
        for debtor in found
    ]
    return answer(
        {
            "tenant": tenant,
            "query": {"kind": query.kind.value},
            "debtors": debtors,
            "masked": not unmasked,
            "next_cursor": following,
        }
    )


async def timeline(request: web.Request) -> web.Response:
    tenant, client_id = request.match_info["tenant"], request.match_info["client_id"]
    texts = principal_of(request).may(Permission.PERSONAL_DATA_READ)
    entries = await _debtors(request).timeline(tenant, client_id, texts=texts)
    if entries is None:
        raise ApiError(
            404,
            "not_found",
            f"nenhum devedor {client_id!r} importado pelo tenant {tenant!r} (a análise "
            "acompanha o log com cerca de um segundo de atraso)",
        )
    return answer(
        {"tenant": tenant, "client_id": client_id, "texts_shown": texts, "entries": entries}
    )


def _threshold_of(request: web.Request, tenant: str) -> Any:
    config = _configs(request).get(tenant)
    if config is None:
        raise ApiError(
            404,
            "not_found",
            f"o tenant {tenant!r} ainda não tem configuração; aplique uma com "
            "`cobranca tenants apply`",
        )
    return config


async def get_threshold(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    config = _threshold_of(request, tenant)
    return answer({"tenant": tenant, "threshold_tokens": config.low_balance_threshold})


async def set_threshold(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    body = await json_body(request)
    config = _threshold_of(request, tenant)
    try:
        changed = with_low_balance_threshold(config, body.get("threshold_tokens"))
    except TenantConfigError as exc:
        raise ApiError(
            400,
            "invalid_field",
            f"'threshold_tokens' is {exc.problems[0].message}",
            field="threshold_tokens",
        ) from None
    await request.app[LOG].append([(to_event(changed, now=now_of(request)), tenant)])
    return answer(
        {
            "tenant": tenant,
            "threshold_tokens": changed.low_balance_threshold,
            "previous": config.low_balance_threshold,
        }
    )


_BASE = "/v1/tenants/{tenant}"
ROUTES = (
    Route("GET", f"{_BASE}/debtors", "searchDebtors", search, permission=Permission.IMPORTS_READ),
    Route(
        "GET",
        f"{_BASE}/debtors/{{client_id}}/timeline",
        "getDebtorTimeline",
        timeline,
        permission=Permission.IMPORTS_READ,
    ),
    Route(
        "GET",
        f"{_BASE}/tokens/threshold",
        "getLowBalanceThreshold",
        get_threshold,
        permission=Permission.TOKENS_READ,
    ),
    Route(
        "PUT",
        f"{_BASE}/tokens/threshold",
        "setLowBalanceThreshold",
        set_threshold,
        permission=Permission.CONFIG_WRITE,
        changes_state=True,
    ),
)
