"""The webhook sender against a local aiohttp server: what it sends, and each way a POST ends
(2xx, an error status, a redirect that is not followed, a timeout, nobody listening)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from connectors.webhooks import Outcome, WebhookSender

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
async def server() -> AsyncIterator[tuple[TestServer, list[tuple[str, bytes, str]]]]:
    seen: list[tuple[str, bytes, str]] = []

    async def ok(request: web.Request) -> web.Response:
        seen.append((request.path, await request.read(), request.headers["X-Test"]))
        return web.Response(status=204)

    async def broken(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPFound("/ok")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response()

    app = web.Application()
    for path, handler in (("/ok", ok), ("/broken", broken), ("/moved", moved), ("/slow", slow)):
        app.router.add_post(path, handler)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    try:
        yield test_server, seen
    finally:
        await test_server.close()


async def test_each_way_a_post_ends(
    server: tuple[TestServer, list[tuple[str, bytes, str]]],
) -> None:
    test_server, seen = server
    url = str(test_server.make_url(""))
    async with WebhookSender(timeout_s=0.5) as sender:
        sent = await sender.post(url + "/ok", '{"a":1}', {"X-Test": "yes"})
        assert sent == Outcome(204, None) and sent.delivered
        assert seen == [("/ok", b'{"a":1}', "yes")]
        assert await sender.post(url + "/broken", "{}", {}) == Outcome(503, "HTTP 503")
        moved = await sender.post(url + "/moved", "{}", {"X-Test": "no"})
        assert moved.status_code == 302 and "not followed" in (moved.error or "")
        assert len(seen) == 1  # the redirect's target was never called
        slow = await sender.post(url + "/slow", "{}", {})
        assert slow.status_code is None and "0.5 s" in (slow.error or "")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            closed = probe.getsockname()[1]
        refused = await sender.post(f"http://127.0.0.1:{closed}/x", "{}", {})
        assert refused.status_code is None and refused.error and not refused.delivered


async def test_the_sender_must_be_entered() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        await WebhookSender().post("http://127.0.0.1:1/", "{}", {})
