"""`cobranca waha receive`: the WAHA webhook receiver (connectors/waha/receiver.py) on Kafka.

The receiver's app declares what it needs as ports; this is where the real ones are built: the
tenants directory followed from Kafka answers who owns a session (`SessionOwners`), one group
commit producer on the two lanes' topics stores the callbacks (`LaneStore`: the debtors'
messages on cobranca.waha.messages, the rest on cobranca.waha.callbacks), the topics'
limits read from the broker bound the records (`check_record_limits`, `max_record_bytes`), and
`record_bytes` counts them as Kafka does. `serve` runs the app with them until cancelled.

`supervise` runs several receivers on one port (`cobranca waha receive --processes N`): each a
process of its own with its own producer and tenants directory, bound with SO_REUSEPORT so the
kernel spreads the connections over them. One Python process serves a few thousand webhooks a
second on one core; this is how the receiver uses the others (docs/adr/0021).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence

import structlog
from aiohttp import web
from prometheus_client.metrics_core import CounterMetricFamily
from prometheus_client.registry import Collector

from connectors.waha.receiver import (
    PATH,
    RECEIVER,
    Lane,
    ReceiverConfig,
    check_record_limits,
    create_app,
)
from streams.base.topics import WAHA_CALLBACKS, WAHA_MESSAGES
from streams.runtime.group_commit import GroupCommitProducer
from streams.runtime.kafka_limits import record_bytes
from streams.runtime.metrics_endpoint import process_registry
from streams.runtime.tenants import TenantDirectory

__all__ = ["LaneStore", "ProducerCounts", "child_command", "serve", "supervise"]

log = structlog.get_logger(__name__)

LANE_TOPICS: dict[Lane, str] = {Lane.MESSAGES: WAHA_MESSAGES.name, Lane.EVENTS: WAHA_CALLBACKS.name}


class LaneStore:
    """The receiver's `CallbackStore`: each lane's records on its topic, through one producer
    (a burst of acks and a reply still share a produce request)."""

    def __init__(self, producer: GroupCommitProducer) -> None:
        self.producer = producer

    async def send(self, key: bytes, value: bytes, timeout_s: float, lane: Lane) -> None:
        await self.producer.send(key, value, timeout_s, topic=LANE_TOPICS[lane])


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
            *LANE_TOPICS.values(),
            request_timeout_s=max(config.produce_timeout_s, 5.0),
            compression=config.compression,
            max_request_bytes=config.max_request_bytes,
        ) as producer:
            limits = producer.tightest  # read by __aenter__
            max_record_bytes = check_record_limits(config, limits)
            log.info(
                "webhook_receiver_limits",
                max_body_bytes=config.max_body_bytes,
                max_record_bytes=max_record_bytes,
                topic_max_message_bytes=limits.topic_max_message_bytes,
                max_request_bytes=config.max_request_bytes,
            )
            app = create_app(
                directory,
                LaneStore(producer),
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
            site = web.TCPSite(runner, config.host, config.port, reuse_port=config.reuse_port)
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


def supervise(count: int, command: Sequence[str], *, poll_s: float = 0.2) -> int:
    """Run `count` receiver processes (`command`, which binds with SO_REUSEPORT) until SIGTERM
    or Ctrl-C, which each of them is given in turn (in-flight requests finish); returns the exit
    status. Fail-stop: when one exits on its own, the others are stopped and its status is
    returned, so the supervisor (docker, systemd) restarts the whole receiver."""
    children = [subprocess.Popen(list(command)) for _ in range(count)]
    log.info("webhook_receiver_processes", processes=count, pids=[c.pid for c in children])
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    status = 0
    try:
        while not stopping:
            ended = [c for c in children if c.poll() is not None]
            if ended:
                status = ended[0].returncode or 1
                log.error(
                    "webhook_receiver_process_exited", pid=ended[0].pid, status=ended[0].returncode
                )
                break
            time.sleep(poll_s)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return status


def child_command(argv: Sequence[str] | None = None) -> list[str]:
    """The command line of one receiver process of a supervised set: this one's, told to bind
    with SO_REUSEPORT as a single process."""
    args = list(sys.argv[1:] if argv is None else argv)
    return [sys.executable, "-m", "streams.ops.cli", *args, "--processes", "1", "--reuse-port"]
