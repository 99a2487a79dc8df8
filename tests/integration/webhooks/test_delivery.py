"""Tenant webhooks end to end on the real broker: subscribed through the API, events produced
to their topics, POSTed by the delivery agent to real local receivers with valid signatures;
retries recorded as events; other tenants' events never delivered; a restart rebuilds the
pending retries from the log and re-delivers nothing already delivered."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from connectors.api.credentials import Passwords, write_signing_key
from connectors.api.settings import ApiSettings
from connectors.webhooks import WebhookSender
from schemas.events import WebhookAttempted, WebhookDeadLettered
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.base.topics import WEBHOOK_DELIVERIES
from streams.domain.identity import accounts, record_key
from streams.domain.webhooks import RetryPolicy, verify
from streams.ops.api_server import KafkaApiLog, running_api
from streams.ops.webhook_delivery import DeliverySettings, WebhookDeliveryAgent
from streams.runtime.log_reader import read_events
from streams.runtime.producer import EventProducer
from tests import factories as f

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

PASSWORD = "correct horse battery staple"


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    status: int


@dataclass
class Receivers:
    """One local HTTP server; each path is a receiver answering as `answers` says."""

    base: str
    got: dict[str, list[Received]] = field(default_factory=dict)
    answers: dict[str, Callable[[int], int]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


@contextlib.asynccontextmanager
async def _receivers() -> AsyncIterator[Receivers]:
    port = free_port()
    receivers = Receivers(f"http://127.0.0.1:{port}")

    async def receive(request: web.Request) -> web.Response:
        path = request.match_info["path"]
        seen = receivers.got.setdefault(path, [])
        status = receivers.answers.get(path, lambda n: 200)(len(seen))
        seen.append(Received(dict(request.headers), await request.text(), status))
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/{path}", receive)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield receivers
    finally:
        await runner.cleanup()


async def _create_platform_admin(bootstrap: str) -> str:
    """A platform admin on the identity topic, made before the API starts: an API reads the
    topic to its end at start, and only follows it afterwards (within a fetch)."""
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    log = KafkaApiLog(bootstrap)
    await log.start(3)
    try:
        hashed = await asyncio.to_thread(Passwords().hash, PASSWORD)
        event = accounts.create_platform_admin(
            email, hashed, actor="cli", now=datetime.now(UTC), existing=None
        )
        await log.append([(event, record_key(event))])
    finally:
        await log.stop()
    return email


async def _platform_token(email: str, api_base: str, session: aiohttp.ClientSession) -> str:
    async with session.post(
        f"{api_base}/v1/auth/login", json={"email": email, "password": PASSWORD}
    ) as answer:
        assert answer.status == 200, await answer.text()
        return str((await answer.json())["access_token"])


async def _until(check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def _agent(bootstrap: str, settings: DeliverySettings) -> AsyncIterator[WebhookDeliveryAgent]:
    async with WebhookSender(timeout_s=5) as sender:
        agent = WebhookDeliveryAgent(bootstrap, settings, sender.post)
        task = asyncio.create_task(agent.run(3))
        ready = asyncio.create_task(agent.ready.wait())
        done, _ = await asyncio.wait({task, ready}, timeout=60, return_when="FIRST_COMPLETED")
        if task in done:
            task.result()
        assert ready in done, "the agent did not start"
        try:
            yield agent
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _valid(received: Received, secret: str) -> bool:
    return verify(
        secret, received.headers["X-Cobranca-Signature"], received.body, now=int(time.time())
    )


async def test_events_are_posted_signed_retried_isolated_and_survive_a_restart(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    write_signing_key(tmp_path, "k1")
    api = replace(ApiSettings(tmp_path), port=free_port(), webhook_loopback_http=True)
    settings = replace(Settings.from_env(), kafka_bootstrap=kafka_bootstrap, topic_partitions=3)
    base = f"http://127.0.0.1:{api.port}"
    acme, beta = f"a{uuid.uuid4().hex[:6]}", f"b{uuid.uuid4().hex[:6]}"
    delivery = DeliverySettings(
        group_id=f"webhooks-{uuid.uuid4().hex[:6]}",
        policy=RetryPolicy((timedelta(seconds=0.5),), timedelta(minutes=10)),
        tick_s=0.1,
    )
    admin = await _create_platform_admin(kafka_bootstrap)
    async with (
        _receivers() as hooks,
        running_api(settings, api),
        aiohttp.ClientSession() as session,
    ):
        token = await _platform_token(admin, base, session)

        async def subscribe(tenant: str, path: str, events: list[str]) -> dict[str, Any]:
            async with session.post(
                f"{base}/v1/tenants/{tenant}/webhooks",
                json={"url": hooks.url(path), "events": events},
                headers={"Authorization": f"Bearer {token}"},
            ) as answer:
                body = await answer.json()
                assert answer.status == 201, body
                assert body["secret"].startswith("whsec_")
                return dict(body)

        ok = await subscribe(acme, "ok", ["balance.low", "send.delivered"])
        flaky = await subscribe(acme, "flaky", ["balance.low"])
        down = await subscribe(acme, "down", ["balance.low"])
        gone = await subscribe(acme, "gone", ["balance.low"])
        other = await subscribe(beta, "other", ["balance.low"])
        hooks.answers["flaky"] = lambda n: 500 if n < 2 else 200
        hooks.answers["down"] = lambda n: 503
        hooks.answers["gone"] = lambda n: 503
        async with session.get(
            f"{base}/v1/tenants/{acme}/webhooks", headers={"Authorization": f"Bearer {token}"}
        ) as answer:
            listed = await answer.json()
        assert sorted(w["subscription_id"] for w in listed["webhooks"]) == sorted(
            s["subscription_id"] for s in (ok, flaky, down, gone)
        )
        assert "secret" not in json.dumps(listed)

        low = f.balance_low(acme)
        delivered = f.delivery_status_changed(acme, ack=2, message_id="m1", request_id="r1")
        beta_low = f.balance_low(beta)
        unsubscribed = f.import_completed(acme)
        async with _agent(kafka_bootstrap, delivery) as agent:
            async with EventProducer(kafka_bootstrap) as producer:
                await producer.send_many(
                    [(e, e.header.tenant_id) for e in (low, delivered, beta_low, unsubscribed)]
                )
            await _until(
                lambda: (
                    len(hooks.got.get("ok", [])) == 2
                    and len(hooks.got.get("flaky", [])) == 3
                    and len(hooks.got.get("other", [])) == 1
                    and len(hooks.got.get("down", [])) >= 2
                    and len(hooks.got.get("gone", [])) >= 1
                )
            )
        # The subscriber got both of its events, signed, with their ids.
        by_id = {r.headers["X-Cobranca-Event-Id"]: r for r in hooks.got["ok"]}
        assert set(by_id) == {low.header.event_id, delivered.header.event_id}
        for event_id, received in by_id.items():
            assert _valid(received, ok["secret"])
            assert not _valid(received, flaky["secret"])
            payload = json.loads(received.body)
            assert payload["id"] == event_id and payload["tenant"] == acme
        assert json.loads(by_id[delivered.header.event_id].body)["kind"] == "send.delivered"
        assert "5511987654321" not in by_id[delivered.header.event_id].body
        # 500, 500, 200: three attempts of the same bytes, numbered.
        assert [r.headers["X-Cobranca-Attempt"] for r in hooks.got["flaky"]] == ["1", "2", "3"]
        assert len({r.body for r in hooks.got["flaky"]}) == 1
        assert all(_valid(r, flaky["secret"]) for r in hooks.got["flaky"])
        # The other tenant's event went to its own subscription only.
        [beta_got] = hooks.got["other"]
        assert beta_got.headers["X-Cobranca-Event-Id"] == beta_low.header.event_id
        assert _valid(beta_got, other["secret"])
        for path in ("ok", "flaky", "down", "gone"):
            ids = {r.headers["X-Cobranca-Event-Id"] for r in hooks.got[path]}
            assert beta_low.header.event_id not in ids
            assert unsubscribed.header.event_id not in ids

        attempts = [
            p.event
            for p in await read_events(kafka_bootstrap, WEBHOOK_DELIVERIES.name)
            if isinstance(p.event, WebhookAttempted)
        ]
        flaky_attempts = sorted(
            (a.attempt, a.status_code, a.delivered)
            for a in attempts
            if a.subscription_id == flaky["subscription_id"]
        )
        assert flaky_attempts == [(1, 500, False), (2, 500, False), (3, 200, True)]
        assert all(
            a.header.tenant_id == acme
            for a in attempts
            if a.subscription_id != other["subscription_id"]
        )

        # Restart: the receiver that was down comes back; the new agent rebuilds the pending
        # retries from the log and delivers that one; the one whose subscription was deleted
        # meanwhile is dead-lettered; nothing already delivered is POSTed again.
        async with session.delete(
            f"{base}/v1/tenants/{acme}/webhooks/{gone['subscription_id']}",
            headers={"Authorization": f"Bearer {token}"},
        ) as answer:
            assert answer.status == 200 and (await answer.json())["active"] is False
        gone_before = len(hooks.got["gone"])
        failed_before = len(hooks.got["down"])
        hooks.answers["down"] = lambda n: 200
        counts = {path: len(hooks.got[path]) for path in ("ok", "flaky", "other")}
        async with _agent(kafka_bootstrap, delivery) as agent:
            assert agent.deliveries.counts()["pending"] == 2
            await _until(lambda: hooks.got["down"][-1].status == 200)
            await asyncio.sleep(1.5)
        assert [int(r.headers["X-Cobranca-Attempt"]) for r in hooks.got["down"]] == list(
            range(1, failed_before + 2)
        )
        assert {path: len(hooks.got[path]) for path in counts} == counts
        assert len(hooks.got["gone"]) == gone_before
        dead = [
            p.event
            for p in await read_events(kafka_bootstrap, WEBHOOK_DELIVERIES.name)
            if isinstance(p.event, WebhookDeadLettered)
        ]
        assert [(d.subscription_id, d.reason, d.attempts) for d in dead] == [
            (gone["subscription_id"], "subscription_deleted", gone_before)
        ]
