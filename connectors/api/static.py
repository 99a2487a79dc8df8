"""The operator console's files, served by the API at `/` (ADR 0027).

The console is plain ES modules in `connectors/api/console/` calling the same `/v1` routes as
everyone else; there is no second backend and no build step. Third-party code comes from npm,
pinned by `connectors/api/console/package-lock.json` and installed by `infra/bootstrap.sh`
(`npm ci`) into `console/node_modules`; only the files named in `VENDOR` are served from there,
at stable paths, so an upgrade changes the lock and nothing else.

Only the console's own files (by extension) and the vendored ones are served: nothing else under
the folder (`package.json`, `node_modules/…`) is reachable, and a path that leaves the folder is
404. Pages carry their own Content-Security-Policy, which allows scripts from this origin only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

from connectors.api.errors import ApiError

__all__ = ["CONSOLE_DIR", "CONSOLE_PREFIX", "VENDOR", "add_console"]

CONSOLE_DIR: Final = Path(__file__).resolve().parent / "console"
CONSOLE_PREFIX: Final = "/console"
VENDOR: Final = {
    "echarts.min.js": Path("node_modules/echarts/dist/echarts.min.js"),
}
"""Stable name under `/console/vendor/` → the file npm installed under the console folder."""

_TYPES: Final = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}
# ECharts writes inline styles (tooltips are HTML it builds); no inline script is allowed.
_CSP: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _file(path: Path) -> web.FileResponse:
    response = web.FileResponse(path)
    response.content_type = _TYPES.get(path.suffix, "application/octet-stream")
    # Revalidated on every load (ETag/Last-Modified answer 304): a new release is seen at once.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = _CSP
    return response


def _missing(name: str) -> ApiError:
    return ApiError(404, "not_found", "the console has no such file", file=name[:200])


async def _index(request: web.Request) -> web.StreamResponse:
    return _file(CONSOLE_DIR / "index.html")


async def _asset(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = (CONSOLE_DIR / name).resolve()
    inside = path.is_relative_to(CONSOLE_DIR) and "node_modules" not in path.parts
    if not inside or path.suffix not in _TYPES or not path.is_file():
        raise _missing(name)
    return _file(path)


async def _vendor(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    relative = VENDOR.get(name)
    if relative is None:
        raise _missing(name)
    path = CONSOLE_DIR / relative
    if not path.is_file():
        raise ApiError(
            404,
            "not_installed",
            f"{name} is not installed: run infra/bootstrap.sh (npm ci in {CONSOLE_DIR})",
            file=name,
        )
    return _file(path)


def add_console(app: web.Application) -> None:
    """`/` (the console's page), `/console/vendor/{name}` and `/console/{name}`."""
    app.router.add_get("/", _index)
    app.router.add_get(CONSOLE_PREFIX + "/vendor/{name}", _vendor)
    app.router.add_get(CONSOLE_PREFIX + "/{name:.+}", _asset)
