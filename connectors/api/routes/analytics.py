"""The analytics views of ClickHouse for one tenant, as JSON or CSV, by São Paulo day."""

from __future__ import annotations

from aiohttp import web

from connectors.api.http import REPORTS, Route, date_range, table_answer
from streams.domain.identity import Permission

__all__ = ["ROUTES"]


async def view(request: web.Request) -> web.StreamResponse:
    tenant, name = request.match_info["tenant"], request.match_info["view"]
    start, end = date_range(request)
    columns, rows = await request.app[REPORTS].analytics(name, tenant, start, end)
    span = {"tenant": tenant, "view": name, "from": start.isoformat(), "to": end.isoformat()}
    return table_answer(request, rows, columns, f"{name}-{tenant}-{start}-{end}", **span)


ROUTES = (
    Route(
        "GET",
        "/v1/tenants/{tenant}/analytics/{view}",
        "getAnalytics",
        view,
        permission=Permission.REPORTS_READ,
    ),
)
