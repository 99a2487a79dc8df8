"""Confluent Schema Registry's read-only REST API over the pinned registry (aiohttp).

`create_app()` answers at its root (`cobranca schemas serve`); the HTTP API mounts the same
application under `/registry` (`connectors/api/app.py`), so `http://host:8080/registry` is a
base URL standard clients accept. The answers are `schemas/registry_api.py`'s; schemas are not
secret, so every route is public, and every route only reads. Any other path or method answers
in Confluent's error shape, `{"error_code", "message"}`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from schemas import registry_api
from schemas.registry import SchemaRegistry, default_registry

__all__ = ["PREFIX", "REGISTRY", "create_app"]

PREFIX: Final = "/registry"
"""Where `cobranca api serve` mounts this application."""
REGISTRY: Final = web.AppKey("schema_registry", SchemaRegistry)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _answer(answer: registry_api.Answer) -> web.Response:
    return web.json_response(
        answer.body, status=answer.status, content_type=registry_api.CONTENT_TYPE
    )


@web.middleware
async def _confluent_errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """An unknown path or a write answers like Confluent's registry, not in the API's shape."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return _answer(
            registry_api.Answer(
                exc.status, {"error_code": exc.status, "message": f"HTTP {exc.status} {exc.reason}"}
            )
        )


def _registry(request: web.Request) -> SchemaRegistry:
    return request.app[REGISTRY]


async def _root(request: web.Request) -> web.Response:
    return _answer(registry_api.Answer(200, {}))


async def _schema(request: web.Request) -> web.Response:
    schema_id = int(request.match_info["id"])
    return _answer(registry_api.schema_by_id(_registry(request), schema_id))


async def _schema_versions(request: web.Request) -> web.Response:
    schema_id = int(request.match_info["id"])
    return _answer(registry_api.versions_of_id(_registry(request), schema_id))


async def _schema_types(request: web.Request) -> web.Response:
    return _answer(registry_api.schema_types())


async def _subjects(request: web.Request) -> web.Response:
    return _answer(registry_api.subjects(_registry(request)))


async def _versions(request: web.Request) -> web.Response:
    return _answer(registry_api.subject_versions(_registry(request), request.match_info["subject"]))


async def _version(request: web.Request) -> web.Response:
    return _answer(
        registry_api.subject_version(
            _registry(request), request.match_info["subject"], request.match_info["version"]
        )
    )


async def _config(request: web.Request) -> web.Response:
    return _answer(registry_api.config(_registry(request), request.match_info.get("subject")))


async def _mode(request: web.Request) -> web.Response:
    return _answer(registry_api.mode())


def create_app(registry: SchemaRegistry | None = None) -> web.Application:
    """The read-only registry API over `registry` (default: the pins shipped with the code)."""
    app = web.Application(middlewares=[_confluent_errors])
    app[REGISTRY] = registry if registry is not None else default_registry()
    router = app.router
    router.add_get("/", _root)
    router.add_get("/schemas/types", _schema_types)
    router.add_get(r"/schemas/ids/{id:\d{1,10}}", _schema)
    router.add_get(r"/schemas/ids/{id:\d{1,10}}/versions", _schema_versions)
    router.add_get("/subjects", _subjects)
    router.add_get("/subjects/{subject}/versions", _versions)
    router.add_get("/subjects/{subject}/versions/{version}", _version)
    router.add_get("/config", _config)
    router.add_get("/config/{subject}", _config)
    router.add_get("/mode", _mode)
    return app
