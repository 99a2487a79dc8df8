"""Tenant configurations on Kafka: apply one, read them all once, or follow them in a worker.

Every worker needs every tenant's configuration whatever partitions it owns, so the
`TenantDirectory` reads all partitions of the compacted tenants topic with its own consumer,
outside the consumer group, and keeps the latest configuration per tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from types import MappingProxyType

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.codec import decode
from schemas.errors import UndecodableEvent
from schemas.events import TenantConfigured
from streams.base.topics import TENANTS
from streams.domain.errors import TenantConfigError
from streams.domain.tenant_config import (
    TenantConfig,
    config_from_event,
    session_conflicts,
    to_event,
)
from streams.runtime.errors import TenantDirectoryError
from streams.runtime.log_reader import partitions_of, read_topic
from streams.runtime.producer import EventProducer

log = structlog.get_logger(__name__)


def _event_of(value: bytes | None, where: str) -> tuple[str, TenantConfig] | None:
    """(event id, the configuration) a record carries; None (logged) when it cannot be used."""
    if value is None:
        return None
    try:
        event = TenantConfigured.from_data(decode(value))
        return event.header.event_id, config_from_event(event)
    except (UndecodableEvent, TenantConfigError, TypeError, ValueError) as exc:
        log.warning("tenant_config_unusable", position=where, error=str(exc))
        return None


def _config_of(value: bytes | None, where: str) -> TenantConfig | None:
    """The configuration a record carries; None (logged) when it cannot be used."""
    found = _event_of(value, where)
    return None if found is None else found[1]


async def read_configs(bootstrap: str) -> dict[str, TenantConfig]:
    """Every tenant's configuration in force, read to the end of the topic now."""
    configs: dict[str, TenantConfig] = {}
    for record in await read_topic(bootstrap, TENANTS.name):
        config = _config_of(record.value, f"{record.topic}[{record.partition}]@{record.offset}")
        if config is not None:
            configs[config.tenant_id] = config
    return configs


async def apply_config(
    bootstrap: str, config: TenantConfig, *, now: datetime | None = None
) -> TenantConfigured:
    """Store `config` as the tenant's configuration in force, unless another tenant owns one of
    its WAHA sessions; returns the event written."""
    problems = session_conflicts(config, await read_configs(bootstrap))
    if problems:
        raise TenantConfigError(problems)
    event = to_event(config, now=now)
    async with EventProducer(bootstrap) as producer:
        await producer.send(event, key=config.tenant_id)
    return event


class TenantDirectory:
    """The latest configuration of every tenant, followed from the tenants topic.

    `ready` is set once everything written before the directory started has been read; until
    then `get` may answer None for a configured tenant.
    """

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._configs: dict[str, TenantConfig] = {}
        self._session_owners: dict[str, str] = {}
        self._awaited: dict[str, asyncio.Future[None]] = {}
        self.ready = asyncio.Event()

    def get(self, tenant: str) -> TenantConfig | None:
        return self._configs.get(tenant)

    @property
    def configs(self) -> Mapping[str, TenantConfig]:
        """Every tenant's configuration in force, as read so far."""
        return MappingProxyType(self._configs)

    @contextlib.asynccontextmanager
    async def awaiting(self, event_id: str, timeout_s: float = 10.0) -> AsyncIterator[None]:
        """Around the write of TenantConfigured `event_id`: on leaving, wait (up to
        `timeout_s`) until the directory has read it back, so a writer that follows the topic
        reads its own write, in the topic's order. Registered before the write, so a read-back
        faster than the writer's acknowledgement is not missed."""
        seen: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._awaited[event_id] = seen
        try:
            yield
            try:
                await asyncio.wait_for(asyncio.shield(seen), timeout_s)
            except TimeoutError:
                log.warning("tenant_config_not_read_back", event_id=event_id, timeout_s=timeout_s)
        finally:
            self._awaited.pop(event_id, None)

    def owner_of(self, session: str) -> TenantConfig | None:
        """The configuration of the tenant that owns WAHA `session`, or None."""
        tenant = self._session_owners.get(session)
        return None if tenant is None else self._configs.get(tenant)

    def put(self, config: TenantConfig) -> None:
        """Make `config` its tenant's configuration in force (what following the topic does)."""
        previous = self._configs.get(config.tenant_id)
        if previous is not None:
            for session in previous.sessions:
                if self._session_owners.get(session.name) == config.tenant_id:
                    del self._session_owners[session.name]
        self._configs[config.tenant_id] = config
        for session in config.sessions:
            # `apply_config` refuses a session another tenant owns; should the topic hold one
            # anyway (written around it), the latest configuration wins.
            self._session_owners[session.name] = config.tenant_id

    def _read_back(self, event_id: str) -> None:
        seen = self._awaited.get(event_id)
        if seen is not None and not seen.done():
            seen.set_result(None)

    async def run(self) -> None:
        """Follow the topic until cancelled."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        try:
            await consumer.start()
            partitions = await partitions_of(consumer, TENANTS.name)
            if not partitions:
                raise TenantDirectoryError(
                    f"topic {TENANTS.name!r} does not exist on {self._bootstrap}; "
                    "run `cobranca topics create`"
                )
            tps = [TopicPartition(TENANTS.name, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while True:
                batch = await consumer.getmany(timeout_ms=1000)
                for messages in batch.values():
                    for m in messages:
                        found = _event_of(m.value, f"{m.topic}[{m.partition}]@{m.offset}")
                        if found is not None:
                            self.put(found[1])
                            self._read_back(found[0])
                if not self.ready.is_set() and all(
                    [await consumer.position(tp) >= ends[tp] for tp in tps]
                ):
                    log.info("tenant_directory_ready", tenants=len(self._configs))
                    self.ready.set()
        except KafkaError as exc:
            raise TenantDirectoryError(
                f"following {TENANTS.name} on {self._bootstrap} failed: {exc!r}"
            ) from exc
        finally:
            with contextlib.suppress(KafkaError):
                await consumer.stop()
