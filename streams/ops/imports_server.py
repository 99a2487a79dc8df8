"""`cobranca imports serve`: the HTTP import endpoint (`connectors/imports/server.py`) on Kafka.

The endpoint declares what it needs from the runtime as ports: `EventStore`, which
`KafkaEventStore` is on the runtime's `EventProducer`, and `TenantImportSettings`, which
`KafkaTenantImportSettings` answers from the tenants topic (read to its end for each import, so
a `cobranca tenants apply` counts from the next import on; the topic is compacted and small).
`serve` runs the application with them until told to stop.
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
from streams.runtime.errors import LogReadError
from streams.runtime.metrics_endpoint import process_registry
from streams.runtime.producer import EventProducer
from streams.runtime.tenants import read_configs

__all__ = ["KafkaEventStore", "KafkaTenantImportSettings", "serve"]

log = structlog.get_logger("cobranca.imports.http")


class KafkaEventStore:
    """HTTP imports' events into Kafka at `bootstrap`: a producer of its own for each import."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    def open(self) -> EventProducer:
        return EventProducer(self.bootstrap)

    def unavailable(self, exc: BaseException) -> bool:
        # LogReadError: the tenants topic could not be read (`KafkaTenantImportSettings`).
        return isinstance(exc, ProduceFailed | LogReadError)


class KafkaTenantImportSettings:
    """Each tenant's ``imports`` settings, from its configuration on the tenants topic at
    `bootstrap` (the latest TenantConfigured); a tenant with none gets the defaults."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap

    async def require_document(self, tenant: str) -> bool:
        config = (await read_configs(self.bootstrap)).get(tenant)
        return config is not None and config.require_document


async def serve(
    settings: Settings, service_settings: ServiceSettings, stop: asyncio.Event | None = None
) -> None:
    """Serve until `stop` is set (SIGINT/SIGTERM in `cobranca imports serve`) or cancelled."""
    service = ImportService(
        service_settings,
        KafkaEventStore(settings.kafka_bootstrap),
        KafkaTenantImportSettings(settings.kafka_bootstrap),
        process_registry(),
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
