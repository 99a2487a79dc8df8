"""Debtor imports through the API: the same import path as `cobranca import`, run by the import
jobs of `connectors/imports/server.py`, behind the API's credentials."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from connectors.api.http import Route, answer
from connectors.imports.server import ImportService, import_status, receive_import
from streams.domain.identity import Permission

__all__ = ["IMPORTS", "ROUTES"]

IMPORTS: Final = web.AppKey("imports", ImportService)


async def post_import(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    status, body, headers = await receive_import(request.app[IMPORTS], request, tenant)
    return answer(body, status, **headers)


async def get_import(request: web.Request) -> web.Response:
    tenant, import_id = request.match_info["tenant"], request.match_info["import_id"]
    return answer(import_status(request.app[IMPORTS], tenant, import_id))


ROUTES = (
    Route(
        "POST",
        "/v1/tenants/{tenant}/imports",
        "createImport",
        post_import,
        permission=Permission.IMPORTS_WRITE,
        changes_state=True,
    ),
    Route(
        "GET",
        "/v1/tenants/{tenant}/imports/{import_id}",
        "getImport",
        get_import,
        permission=Permission.IMPORTS_READ,
    ),
)
