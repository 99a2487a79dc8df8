"""`cobranca api serve`: the HTTP API (connectors/api) on Kafka.

`KafkaApiLog` is the API's `EventLog` port: it stores events with the runtime's producer and
keeps an `IdentityDirectory` fed by a follower of `cobranca.identity` from its beginning, so a
replica started or restarted at any time knows every user, key and login, and one replica's
writes reach the others within a fetch. Its own writes are applied as soon as Kafka acknowledges
them, so a caller reads what it just wrote on the replica it wrote through.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from aiohttp import web

from connectors.api.app import create_app
from connectors.api.credentials import TokenSigner
from connectors.api.identity import IdentityService
from connectors.api.settings import ApiSettings
from connectors.imports.server import ImportService, ServiceSettings
from schemas.events import Event
from streams.base.settings import Settings
from streams.base.topics import API_AUDIT, IDENTITY, topic_for_event
from streams.domain.identity import IdentityDirectory
from streams.ops.imports_server import KafkaEventStore, KafkaTenantImportSettings
from streams.runtime.errors import FollowerError
from streams.runtime.follower import TopicFollower
from streams.runtime.producer import EventProducer
from streams.runtime.topic_admin import create_topics

__all__ = ["KafkaApiLog", "running_api", "serve"]

log = structlog.get_logger("cobranca.api")


class KafkaApiLog:
    def __init__(self, bootstrap: str, *, ready_timeout_s: float = 60.0) -> None:
        self._bootstrap = bootstrap
        self._directory = IdentityDirectory()
        self._producer = EventProducer(bootstrap)
        self._follower = TopicFollower(bootstrap, IDENTITY.name, self._directory.apply)
        self._task: asyncio.Task[None] | None = None
        self._ready_timeout_s = ready_timeout_s

    @property
    def identity(self) -> IdentityDirectory:
        return self._directory

    async def start(self, partitions: int) -> None:
        """Create the API's topics if missing, start producing, and read the identity topic to
        its end before returning."""
        await create_topics(self._bootstrap, partitions, (IDENTITY, API_AUDIT))
        await self._producer.__aenter__()
        self._task = asyncio.create_task(self._follower.run(), name="identity-follower")
        ready = asyncio.create_task(self._follower.ready.wait())
        done, _ = await asyncio.wait(
            {ready, self._task}, timeout=self._ready_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if self._task in done:
            ready.cancel()
            self._task.result()  # the follower's own error, with its reason
        if ready not in done:
            ready.cancel()
            raise FollowerError(
                f"{IDENTITY.name} on {self._bootstrap} was not read to its end within "
                f"{self._ready_timeout_s:.0f} s"
            )
        log.info("identity loaded", events=self._follower.applied)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, FollowerError):
                await self._task
        await self._producer.__aexit__(None, None, None)

    async def append(self, events: Sequence[tuple[Event, str]]) -> None:
        await self._producer.send_many(events)
        for event, _ in events:
            if topic_for_event(event.header.event_type) is IDENTITY:
                self._directory.apply(event)


@contextlib.asynccontextmanager
async def running_api(settings: Settings, api: ApiSettings):  # type: ignore[no-untyped-def]
    """The API application on Kafka, started and listening; yields (runner, log)."""
    api_log = KafkaApiLog(settings.kafka_bootstrap)
    await api_log.start(settings.topic_partitions)
    imports = ImportService(
        ServiceSettings.from_env(),
        KafkaEventStore(settings.kafka_bootstrap),
        KafkaTenantImportSettings(settings.kafka_bootstrap),
    )
    identity = IdentityService(api, api_log, TokenSigner(api.signing_keys, api.active_kid))
    runner = web.AppRunner(create_app(api, identity, api_log, imports), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, api.host, api.port).start()
        log.info(
            "API listening", url=f"http://{api.host}:{api.port}/v1", kafka=settings.kafka_bootstrap
        )
        yield runner, api_log
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
        imports.close()
        await api_log.stop()


async def serve(settings: Settings, api: ApiSettings, stop: asyncio.Event | None = None) -> None:
    """Serve until `stop` is set (SIGINT/SIGTERM in `cobranca api serve`) or cancelled."""
    async with running_api(settings, api):
        await (stop or asyncio.Event()).wait()
