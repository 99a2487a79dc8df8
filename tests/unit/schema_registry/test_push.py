"""`cobranca schemas push`'s requests, against a fake Confluent registry that records them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connectors.schema_registry.errors import PushRefused
from connectors.schema_registry.push import push_schemas
from schemas.registry import default_registry
from schemas.registry_api import import_requests

REGISTRY = default_registry()


class FakeRegistry:
    """Keeps (subject, version) -> id, honours IMPORT mode, and records every call."""

    def __init__(self, present: dict[tuple[str, int], int] | None = None) -> None:
        self.versions: dict[tuple[str, int], int] = dict(present or {})
        self.modes: dict[str, str] = {}
        self.calls: list[tuple[str, str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/subjects/{subject}/versions/{version}", self.get_version)
        app.router.add_put("/mode/{subject}", self.put_mode)
        app.router.add_post("/subjects/{subject}/versions", self.post_version)
        return app

    async def get_version(self, request: web.Request) -> web.Response:
        subject, version = request.match_info["subject"], int(request.match_info["version"])
        self.calls.append(("GET", request.path, None))
        found = self.versions.get((subject, version))
        if found is None:
            return web.json_response({"error_code": 40402, "message": "not found"}, status=404)
        return web.json_response({"subject": subject, "version": version, "id": found})

    async def put_mode(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("PUT", request.path_qs, body))
        self.modes[request.match_info["subject"]] = body["mode"]
        return web.json_response(body)

    async def post_version(self, request: web.Request) -> web.Response:
        body = await request.json()
        subject = request.match_info["subject"]
        self.calls.append(("POST", request.path, body))
        if self.modes.get(subject) != "IMPORT":
            return web.json_response({"error_code": 42205, "message": "not in IMPORT"}, 422)
        json.loads(body["schema"])  # a schema as JSON text
        self.versions[(subject, body["version"])] = body["id"]
        return web.json_response({"id": body["id"]})


async def test_every_pin_is_imported_with_its_id_and_version_then_again_nothing() -> None:
    fake = FakeRegistry()
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        url = str(server.make_url(""))
        pushed = await push_schemas(url, import_requests(REGISTRY))
        pins = {
            (s, e.version): e.schema_id for s in REGISTRY.subjects() for e in REGISTRY.versions(s)
        }
        assert fake.versions == pins
        assert all(p.imported for p in pushed) and len(pushed) == len(pins)
        posts = [c for c in fake.calls if c[0] == "POST"]
        balance = [c[2] for c in posts if c[1] == "/subjects/cobranca.events.BalanceLow/versions"]
        assert [(b["version"], b["id"], b["schemaType"]) for b in balance] == [
            (1, 1, "AVRO"),
            (2, 27, "AVRO"),
        ]
        assert json.loads(balance[1]["schema"]) == REGISTRY.by_id(27).schema  # type: ignore[union-attr]
        # IMPORT before the posts of a subject, READWRITE after them.
        subject_calls = [
            (c[0], c[2])
            for c in fake.calls
            if "cobranca.events.BalanceLow" in c[1] and c[0] != "GET"
        ]
        assert subject_calls[0] == ("PUT", {"mode": "IMPORT"})
        assert subject_calls[-1] == ("PUT", {"mode": "READWRITE"})
        assert set(fake.modes.values()) == {"READWRITE"}

        fake.calls.clear()
        again = await push_schemas(url, import_requests(REGISTRY))
        assert not any(p.imported for p in again)
        assert {c[0] for c in fake.calls} == {"GET"}


async def test_a_target_that_disagrees_with_the_pins_is_refused() -> None:
    fake = FakeRegistry({("cobranca.events.BalanceLow", 1): 500})
    requests = [r for r in import_requests(REGISTRY) if r.subject == "cobranca.events.BalanceLow"]
    async with TestServer(fake.app(), host="127.0.0.1") as server:
        with pytest.raises(PushRefused, match="id 500"):
            await push_schemas(str(server.make_url("")), requests)
    assert not [c for c in fake.calls if c[0] == "POST"]


async def test_no_registry_answering_is_a_push_refused() -> None:
    with pytest.raises(PushRefused, match="no answer"):
        await push_schemas("http://127.0.0.1:1", import_requests(REGISTRY)[:1])
