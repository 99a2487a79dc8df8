"""`cobranca waha receive`: the WAHA webhook receiver (connectors/waha/receiver.py) on Kafka.

The receiver's app declares what it needs as ports; this is where the real ones are built: the
tenants directory followed from Kafka answers who owns a session (`SessionOwners`), a group
commit producer on cobranca.waha.callbacks stores the callbacks (`CallbackStore`), the topic's
limits read from the broker bound the records (`check_record_limits`, `max_record_bytes`), and
`record_bytes` counts them as Kafka does. `serve` runs the app with them until cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import structlog
from aiohttp import web
from prometheus_client.metrics_core import CounterMetricFamily
from prometheus_client.registry import Collector

from connectors.waha.receiver import (
    PATH,
    RECEIVER,
    ReceiverConfig,
    check_record_limits,
    create_app,
)
from streams.base.topics import WAHA_CALLBACKS
from streams.runtime.group_commit import GroupCommitProducer
from streams.runtime.kafka_limits import record_bytes
from streams.runtime.metrics_endpoint import process_registry
from streams.runtime.tenants import TenantDirectory

__all__ = ["ProducerCounts", "serve"]

log = structlog.get_logger(__name__)


class ProducerCounts(Collector):
    """The group-commit producer's counts since start, as Counters read at each scrape: they
    only grow, so `rate()` and `increase()` apply (the producer keeps them as plain ints on its
    hot path; nothing is updated per record here)."""

    def __init__(self, producer: GroupCommitProducer) -> None:
        self.producer = producer

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "cobranca_webhook_produce_batches",
            "Group commits (produce requests) since start.",
            value=self.producer.flushes,
        )
        yield CounterMetricFamily(
            "cobranca_webhook_records_stored",
            "Callbacks Kafka acknowledged since start (divided by the batches: group size).",
            value=self.producer.records,
        )
        yield CounterMetricFamily(
            "cobranca_webhook_producer_renewals",
            "Producers replaced after a failed delivery since start (a refused batch would "
            "otherwise leave its partition's sequence broken).",
            value=self.producer.renewals,
        )


async def serve(bootstrap: str, config: ReceiverConfig) -> None:
    """Run the receiver until cancelled: follow the tenants topic, produce to Kafka, serve HTTP.

    `/healthz` answers 503 until every tenant configuration written before the start has been
    read (until then a known session could be refused). Raises ReceiverConfigError, before
    serving anything, when the body limit allows records the callbacks topic would refuse.
    """
    directory = TenantDirectory(bootstrap)
    follower = asyncio.create_task(directory.run(), name="tenant-directory")
    try:
        async with GroupCommitProducer(
            bootstrap,
            WAHA_CALLBACKS.name,
            request_timeout_s=max(config.produce_timeout_s, 5.0),
            compression=config.compression,
            max_request_bytes=config.max_request_bytes,
        ) as producer:
            assert producer.limits is not None  # read by __aenter__
            max_record_bytes = check_record_limits(config, producer.limits)
            log.info(
                "webhook_receiver_limits",
                max_body_bytes=config.max_body_bytes,
                max_record_bytes=max_record_bytes,
                topic_max_message_bytes=producer.limits.topic_max_message_bytes,
                max_request_bytes=config.max_request_bytes,
            )
            app = create_app(
                directory,
                producer,
                config,
                record_bytes=record_bytes,
                ready=directory.ready.is_set,
                max_record_bytes=max_record_bytes,
            )
            registry = app[RECEIVER].registry
            registry.register(ProducerCounts(producer))
            process_registry(registry)  # CPU, memory, open files, like every process
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, config.host, config.port)
            await site.start()
            log.info("webhook_receiver_listening", host=config.host, port=config.port, path=PATH)
            try:
                # The follower only returns by failing; its error ends the receiver.
                await follower
            finally:
                await runner.cleanup()
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
