"""The Kafka side of HTTP imports (`connectors/imports/server.py`), served by the API
(`streams/ops/api_server.py`, `cobranca api serve`).

The import jobs declare what they need from the runtime as ports: `EventStore`, which
`KafkaEventStore` is on the runtime's `EventProducer`, and `TenantImportSettings`, which
`KafkaTenantImportSettings` answers from the tenants topic (read to its end for each import, so
a `cobranca tenants apply` counts from the next import on; the topic is compacted and small).
"""

from __future__ import annotations

from streams.base.errors import ProduceFailed
from streams.runtime.errors import LogReadError
from streams.runtime.producer import EventProducer
from streams.runtime.tenants import read_configs

__all__ = ["KafkaEventStore", "KafkaTenantImportSettings"]


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
