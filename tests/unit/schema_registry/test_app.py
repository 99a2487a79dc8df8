"""The registry API over HTTP: at its root (`cobranca schemas serve`) and under the HTTP API's
/registry (`cobranca api serve`)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from connectors.schema_registry.app import create_app
from schemas.registry import default_registry

REGISTRY = default_registry()


@asynccontextmanager
async def _client() -> AsyncIterator[TestClient[Any, Any]]:
    async with TestClient(TestServer(create_app(REGISTRY))) as test_client:
        yield test_client


async def test_schema_by_id() -> None:
    async with _client() as client:
        response = await client.get("/schemas/ids/27")
        assert response.status == 200
        assert response.content_type == "application/vnd.schemaregistry.v1+json"
        body = await response.json(content_type=None)
        assert json.loads(body["schema"]) == REGISTRY.by_id(27).schema  # type: ignore[union-attr]

        response = await client.get("/schemas/ids/999999")
        assert response.status == 404
        assert await response.json(content_type=None) == {
            "error_code": 40403,
            "message": "Schema not found",
        }


async def test_subjects_versions_and_latest() -> None:
    async with _client() as client:
        subjects = await (await client.get("/subjects")).json(content_type=None)
        assert subjects == REGISTRY.subjects()
        versions = await (await client.get("/subjects/cobranca.events.BalanceLow/versions")).json(
            content_type=None
        )
        assert versions == [1, 2]
        latest = await client.get("/subjects/cobranca.events.BalanceLow/versions/latest")
        body = await latest.json(content_type=None)
        assert (body["subject"], body["version"], body["id"]) == (
            "cobranca.events.BalanceLow",
            2,
            27,
        )
        missing = await client.get("/subjects/nope/versions")
        assert missing.status == 404
        assert (await missing.json(content_type=None))["error_code"] == 40401


async def test_writes_and_unknown_paths_answer_in_confluents_shape() -> None:
    async with _client() as client:
        response = await client.post("/subjects/cobranca.events.BalanceLow/versions", json={})
        assert response.status == 405
        assert (await response.json(content_type=None))["error_code"] == 405
        response = await client.get("/nothing/here")
        assert response.status == 404
        assert (await response.json(content_type=None))["error_code"] == 404


async def test_config_and_mode() -> None:
    async with _client() as client:
        config = await (await client.get("/config")).json(content_type=None)
        assert config == {"compatibilityLevel": "BACKWARD_TRANSITIVE"}
        assert await (await client.get("/mode")).json(content_type=None) == {"mode": "READONLY"}


async def test_mounted_under_a_prefix_the_same_answers() -> None:
    outer = web.Application()
    outer.add_subapp("/registry", create_app(REGISTRY))
    async with TestClient(TestServer(outer)) as prefixed:
        response = await prefixed.get("/registry/schemas/ids/1")
        assert response.status == 200
        body = await response.json(content_type=None)
        assert json.loads(body["schema"]) == REGISTRY.by_id(1).schema  # type: ignore[union-attr]
