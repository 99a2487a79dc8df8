"""Debtor imports through the API: the same import path as `cobranca import`, run by the import
jobs of `connectors/imports/server.py`, behind the API's credentials."""

from __future__ import annotations

import csv
import io
import re
from typing import Final

from aiohttp import web

from connectors.api.errors import ApiError
from connectors.api.http import REPORTS, Route, answer, principal_of
from connectors.imports.server import ImportService, import_status, receive_import
from streams.base.logs import mask
from streams.domain.identity import Permission

REJECTED_COLUMNS: Final = ("row", "reason", "message", "field", "raw_row")
"""The rejected rows' CSV: row number, reason code, the reason in Portuguese, the field that
failed, and the row as the source had it (to fix and send again)."""

__all__ = ["IMPORTS", "ROUTES"]

IMPORTS: Final = web.AppKey("imports", ImportService)


async def post_import(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    status, body, headers = await receive_import(request.app[IMPORTS], request, tenant)
    return answer(body, status, **headers)


async def get_import(request: web.Request) -> web.Response:
    tenant, import_id = request.match_info["tenant"], request.match_info["import_id"]
    return answer(import_status(request.app[IMPORTS], tenant, import_id))


async def get_rejected(request: web.Request) -> web.Response:
    """The rejected rows of an import as CSV. The store (ClickHouse) says which rows and where
    the log holds them, the log has their texts; phones and documents masked for a caller
    without personal_data:read (a viewer, a key without that scope)."""
    tenant, import_id = request.match_info["tenant"], request.match_info["import_id"]
    job = request.app[IMPORTS].job(tenant, import_id)
    if job is not None and not job.finished:
        raise ApiError(
            409,
            "import_running",
            f"import {import_id!r} is still running; its rejected rows come when it ends",
            headers={"Retry-After": "1"},
        )
    rows, completed = await request.app[REPORTS].import_rejections(tenant, import_id)
    # This server's own status counts too: the store may not have the ImportCompleted yet.
    expected = completed
    if job is not None:
        expected = max(completed or 0, int(job.status()["rejected"]))
    if expected is None and not rows:
        raise ApiError(
            404, "not_found", f"no import {import_id!r} of tenant {tenant!r} in the store yet"
        )
    if expected is not None and len(rows) < expected:
        raise ApiError(
            503,
            "not_yet_stored",
            f"{len(rows)} of the import's {expected} rejected rows are in the analytics store "
            "so far (it lags the log by about a second); try again shortly",
            headers={"Retry-After": "2"},
        )
    unmasked = principal_of(request).may(Permission.PERSONAL_DATA_READ)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(REJECTED_COLUMNS)
    for r in rows:
        raw = r.raw_row or ""
        writer.writerow([r.row, r.reason, r.message, r.field or "", raw if unmasked else mask(raw)])
    # The import id may be the caller's own (?import_id=): only safe characters in the header.
    name = re.sub(r"[^A-Za-z0-9._-]", "_", import_id)
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="rejeitadas-{name}.csv"'},
    )


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
    Route(
        "GET",
        "/v1/tenants/{tenant}/imports/{import_id}/rejected",
        "getImportRejected",
        get_rejected,
        permission=Permission.IMPORTS_READ,
    ),
)
