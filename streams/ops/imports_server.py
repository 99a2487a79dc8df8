"""`cobranca imports serve`: the HTTP import endpoint (`connectors/imports/server.py`) on Kafka.

The endpoint declares what it needs from the runtime as a port, `EventStore`; `KafkaEventStore`
is that port on the runtime's `EventProducer`, and `serve` runs the application with it until
told to stop.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from connectors.imports.api_keys import ensure_keys_file
from connectors.imports.server import ImportService, ServiceSettings, create_app
from streams.base.errors import ProduceFailed
from streams.base.settings import Settings
from streams.runtime.metrics_endpoint import process_registry
from streams.runtime.producer import EventProducer

__all__ = ["KafkaEventStore", "serve"]

log = structlog.get_logger("cobranca.imports.http")


class KafkaEventStore:
    """HTTP imports' events into Kafka at `bootstrap`: a producer of its own for each import."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def open(self) -> EventProducer:
        return EventProducer(self.bootstrap)

    def unavailable(self, exc: BaseException) -> bool:
        return isinstance(exc, ProduceFailed)


async def serve(
    settings: Settings, service_settings: ServiceSettings, stop: asyncio.Event | None = None
) -> None:
    """Serve until `stop` is set (SIGINT/SIGTERM in `cobranca imports serve`) or cancelled."""
    service = ImportService(
        service_settings, KafkaEventStore(settings.kafka_bootstrap), process_registry()
    )
    if ensure_keys_file(service_settings.keys_file):
        log.warning(
            "no API keys file: created an empty one, every request gets 401 until keys are "
            "added with `cobranca imports new-key TENANT --append`",
            keys_file=str(service_settings.keys_file),
        )
    service.keys.current()  # a broken keys file stops the start, with its reason
    runner = web.AppRunner(create_app(service), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, service_settings.host, service_settings.port)
    await site.start()
    log.info(
        "imports endpoint listening",
        url=f"http://{service_settings.host}:{service_settings.port}",
        keys_file=str(service_settings.keys_file),
        kafka=settings.kafka_bootstrap,
    )
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
