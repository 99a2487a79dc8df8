"""A webhook endpoint for simulator tests: records each raw body and its headers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    body: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """POST /hook; answers `fail_first` requests with 500 before answering 200."""

    fail_first: int = 0
    received: list[Received] = field(default_factory=list)
    calls: int = 0
    _runner: web.AppRunner | None = None
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def _hook(self, request: web.Request) -> web.Response:
        self.calls += 1
        body = await request.read()
        if self.calls <= self.fail_first:
            return web.Response(status=500)
        self.received.append(Received(body, dict(request.headers)))
        self.arrived.set()
        return web.Response(status=200)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, n: int, within_s: float = 60) -> None:
        async def until() -> None:
            while len(self.received) < n:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(until(), within_s)
