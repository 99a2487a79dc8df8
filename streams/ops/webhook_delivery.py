"""`cobranca webhooks deliver`: tenants' events POSTed to their webhook subscriptions.

The agent reads:

- `cobranca.webhooks.subscriptions` whole, followed (a `TopicFollower` into a `SubscriptionBook`);
- `cobranca.webhooks.deliveries` whole, followed (into a `DeliveryBook`): every attempt it or an
  earlier run made, so the retries pending at a restart are rebuilt from the log, and an event
  already attempted is not attempted as new again;
- the source topics (conversations, dispatches, ledger, actions, clients) in its own consumer
  group (`COBRANCA_WEBHOOKS_GROUP`), read_committed.

For each source batch it asks the pure rules which events are delivered to which subscriptions,
makes each first attempt (`connectors.webhooks.WebhookSender`), stores every attempt's
WebhookAttempted (acks=all) and only then commits the batch's offsets. A second loop makes the
retries as they fall due and dead-letters what is still failing 24 h after the event.

At least once, not exactly once: a crash after a POST and before its WebhookAttempted is stored
POSTs that event again after the restart; receivers deduplicate by `X-Cobranca-Event-Id`
(docs/adr/0024-tenant-webhooks.md). One replica at a time: retries are not split between
replicas yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from connectors.webhooks import Outcome, WebhookSender
from schemas.errors import UndecodableEvent
from schemas.events import AVRO_NAMESPACE, Event
from schemas.registry import default_registry
from streams.base.settings import Settings
from streams.base.topics import (
    ACTIONS,
    CLIENTS,
    CONVERSATIONS,
    DISPATCHES,
    LEDGER,
    WEBHOOK_DELIVERIES,
    WEBHOOK_SUBSCRIPTIONS,
)
from streams.domain.webhooks import (
    DEFAULT_DELAYS,
    SOURCE_EVENT_TYPES,
    Delivery,
    DeliveryBook,
    Kind,
    Pending,
    RetryPolicy,
    SubscriptionBook,
    dead_letter,
    delivery_of,
    kind_of,
    record_attempt,
    request_headers,
)
from streams.runtime.errors import FollowerError
from streams.runtime.follower import TopicFollower
from streams.runtime.log_reader import event_from
from streams.runtime.metrics_endpoint import MetricsEndpoint, process_registry
from streams.runtime.producer import EventProducer
from streams.runtime.topic_admin import create_topics

__all__ = ["SOURCE_TOPICS", "DeliverySettings", "WebhookDeliveryAgent", "deliver"]

log = structlog.get_logger("cobranca.webhooks")

SOURCE_TOPICS = (CONVERSATIONS, DISPATCHES, LEDGER, ACTIONS, CLIENTS)
"""Where the delivered events are written (streams/domain/webhooks.py: `kind_of`)."""

Post = Callable[[str, str, dict[str, str]], Awaitable[Outcome]]


def _seconds(text: str) -> tuple[timedelta, ...]:
    return tuple(timedelta(seconds=float(part)) for part in text.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    group_id: str = "cobranca-webhooks"
    """The consumer group of the source topics (COBRANCA_WEBHOOKS_GROUP)."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    """Waits between attempts (COBRANCA_WEBHOOKS_BACKOFF_S, comma-separated seconds, the last
    repeated) and how long after the event they go on (COBRANCA_WEBHOOKS_WINDOW_S, 86400)."""
    timeout_s: float = 10.0
    """A POST's whole time, connection to answer (COBRANCA_WEBHOOKS_TIMEOUT_S)."""
    concurrency: int = 16
    """POSTs in flight at once (COBRANCA_WEBHOOKS_CONCURRENCY)."""
    tick_s: float = 1.0
    """How often due retries are looked for."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DeliverySettings:
        env = os.environ if env is None else env
        delays = _seconds(env.get("COBRANCA_WEBHOOKS_BACKOFF_S", "")) or DEFAULT_DELAYS
        window = timedelta(seconds=float(env.get("COBRANCA_WEBHOOKS_WINDOW_S") or 86400))
        return cls(
            group_id=env.get("COBRANCA_WEBHOOKS_GROUP") or "cobranca-webhooks",
            policy=RetryPolicy(delays, window),
            timeout_s=float(env.get("COBRANCA_WEBHOOKS_TIMEOUT_S") or 10.0),
            concurrency=int(env.get("COBRANCA_WEBHOOKS_CONCURRENCY") or 16),
        )


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "cobranca_webhook_attempts",
            "Webhook POSTs made, by outcome (delivered or failed).",
            ["outcome"],
            registry=registry,
        )
        self.dead = Counter(
            "cobranca_webhook_dead_lettered",
            "Webhook deliveries given up on, by reason.",
            ["reason"],
            registry=registry,
        )
        self.pending = Gauge(
            "cobranca_webhook_pending", "Webhook deliveries waiting for a retry.", registry=registry
        )


def _now() -> datetime:
    return datetime.now(UTC)


class WebhookDeliveryAgent:
    """The delivery loop over one broker; `run` until cancelled or `stop` is set."""

    def __init__(
        self,
        bootstrap: str,
        settings: DeliverySettings,
        post: Post,
        *,
        clock: Callable[[], datetime] = _now,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._settings = settings
        self._post = post
        self._clock = clock
        self.subscriptions = SubscriptionBook()
        self.deliveries = DeliveryBook()
        self._subs_follower = TopicFollower(
            bootstrap, WEBHOOK_SUBSCRIPTIONS.name, self.subscriptions.apply
        )
        self._deliveries_follower = TopicFollower(
            bootstrap, WEBHOOK_DELIVERIES.name, self.deliveries.apply
        )
        self._producer = EventProducer(bootstrap)
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._in_flight: set[tuple[str, str]] = set()
        self._attempts: set[asyncio.Task[None]] = set()
        self._prefixes = _source_prefixes()
        self.registry = registry or CollectorRegistry()
        self._metrics = _Metrics(self.registry)
        self.ready = asyncio.Event()
        """Set once both topics are read and the consumer is started."""

    async def run(self, partitions: int, stop: asyncio.Event | None = None) -> None:
        await create_topics(
            self._bootstrap,
            partitions,
            (*SOURCE_TOPICS, WEBHOOK_SUBSCRIPTIONS, WEBHOOK_DELIVERIES),
        )
        followers = (self._subs_follower, self._deliveries_follower)
        async with self._producer, contextlib.AsyncExitStack() as stack:
            tasks = [asyncio.create_task(f.run(), name=f"follow {f.topic}") for f in followers]
            stack.push_async_callback(_cancel, tasks)
            for follower, task in zip(followers, tasks, strict=True):
                await _ready(follower, task)
            log.info(
                "webhooks_loaded",
                subscriptions=self._subs_follower.applied,
                **self.deliveries.counts(),
            )
            consumer = AIOKafkaConsumer(
                *(spec.name for spec in SOURCE_TOPICS),
                bootstrap_servers=self._bootstrap,
                group_id=self._settings.group_id,
                isolation_level="read_committed",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            loops: list[asyncio.Task[Any]] = [
                asyncio.create_task(self._consume(consumer), name="webhooks consume"),
                asyncio.create_task(self._retry(), name="webhooks retry"),
                *tasks,
                asyncio.create_task((stop or asyncio.Event()).wait(), name="webhooks stop"),
            ]
            self.ready.set()
            try:
                done, _ = await asyncio.wait(loops, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    failure = None if task.cancelled() else task.exception()
                    if failure is not None:
                        raise failure
            finally:
                await _cancel(loops)
                await self._drain()

    async def _drain(self) -> None:
        """Let attempts already started reach their record before the producer closes."""
        if not self._attempts:
            return
        done, _ = await asyncio.wait(set(self._attempts), timeout=self._settings.timeout_s + 5)
        for task in done:
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                log.warning("webhook_attempt_failed_at_stop", error=repr(failure))

    # --- new events -------------------------------------------------------------------------

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batch = await consumer.getmany(timeout_ms=500, max_records=500)
            if not batch:
                continue
            found: list[tuple[Event, Kind]] = []
            for messages in batch.values():
                for record in messages:
                    event = _decoded(record, self._prefixes)
                    if event is not None and (kind := kind_of(event)) is not None:
                        found.append((event, kind))
            if found:
                # Subscriptions stored before the newest event occurred must be known.
                newest = max(event.header.occurred_at for event, _ in found)
                await self._subs_follower.catch_up(since=newest.timestamp())
            jobs: dict[tuple[str, str], Delivery] = {}
            for event, kind in found:
                for sub in self.subscriptions.wanting(event, kind):
                    if not self.deliveries.seen(sub.subscription_id, event.header.event_id):
                        job = delivery_of(event, sub, kind)
                        jobs.setdefault(job.key, job)
            await asyncio.gather(*(self._attempt(job, 1) for job in jobs.values()))
            await consumer.commit()

    # --- retries ----------------------------------------------------------------------------

    async def _retry(self) -> None:
        while True:
            due = [
                p
                for p in self.deliveries.due(self._clock())
                if p.delivery.key not in self._in_flight
            ]
            self._metrics.pending.set(self.deliveries.counts()["pending"])
            if due:
                await asyncio.gather(*(self._again(p) for p in due))
            await asyncio.sleep(self._settings.tick_s)

    async def _again(self, pending: Pending) -> None:
        if pending.due_at is None:  # its last attempt is stored, its dead letter is not
            event = dead_letter(
                pending.delivery,
                pending.attempts,
                "expired",
                pending.status_code,
                pending.error,
                now=self._clock(),
            )
            await self._store([event])
            return
        await self._attempt(pending.delivery, pending.attempts + 1)

    # --- one attempt ------------------------------------------------------------------------

    async def _attempt(self, delivery: Delivery, attempt: int) -> None:
        key = delivery.key
        if key in self._in_flight:
            return
        self._in_flight.add(key)
        try:
            async with self._slots:
                # A stop does not cut an attempt between its POST and its record: a POST
                # made and not recorded would be made again under the same number.
                task = asyncio.create_task(self._attempt_now(delivery, attempt))
                self._attempts.add(task)
                task.add_done_callback(self._attempts.discard)
                await asyncio.shield(task)
        finally:
            self._in_flight.discard(key)

    async def _attempt_now(self, delivery: Delivery, attempt: int) -> None:
        sub = self.subscriptions.get(delivery.subscription_id)
        if sub is None or not sub.active:
            reason = "subscription_deleted"
            await self._store([dead_letter(delivery, attempt - 1, reason, now=self._clock())])
            return
        now = self._clock()
        headers = request_headers(
            sub.secret,
            delivery.source_event_id,
            delivery.kind,
            attempt,
            delivery.body,
            int(now.timestamp()),
        )
        outcome = await self._post(sub.url, delivery.body, headers)
        events = record_attempt(
            delivery,
            attempt,
            outcome.status_code,
            outcome.error,
            now=self._clock(),
            policy=self._settings.policy,
        )
        log.info(
            "webhook_attempted",
            subscription_id=delivery.subscription_id,
            event_id=delivery.source_event_id,
            kind=delivery.kind,
            attempt=attempt,
            status_code=outcome.status_code,
            error=outcome.error,
        )
        await self._store(events)

    async def _store(self, events: Sequence[Event]) -> None:
        await self._producer.send_many([(event, event.subscription_id) for event in events])
        for event in events:
            self.deliveries.apply(event)
            if event.header.event_type == "WebhookAttempted":
                self._metrics.attempts.labels("delivered" if event.delivered else "failed").inc()
            else:
                self._metrics.dead.labels(event.reason).inc()
                log.warning(
                    "webhook_dead_lettered",
                    subscription_id=event.subscription_id,
                    event_id=event.source_event_id,
                    reason=event.reason,
                    attempts=event.attempts,
                )


def _source_prefixes() -> frozenset[bytes]:
    """The wire-format prefixes (magic byte, schema id) of every version of the delivered
    event types: other records (a whole import's ClientImported) are skipped undecoded."""
    registry = default_registry()
    return frozenset(
        b"\0" + entry.schema_id.to_bytes(4, "big")
        for name in SOURCE_EVENT_TYPES
        for entry in registry.versions(f"{AVRO_NAMESPACE}.{name}")
    )


def _decoded(record: object, prefixes: frozenset[bytes]) -> Event | None:
    value = getattr(record, "value", None)
    if value is None or value[:5] not in prefixes:
        return None
    try:
        event = event_from(value)
    except (UndecodableEvent, KeyError, TypeError, ValueError):
        # The topic's own agent dead-letters what it cannot read; this reader skips it.
        return None
    return event if event.header.event_type in SOURCE_EVENT_TYPES else None


async def _ready(follower: TopicFollower, task: asyncio.Task[None], timeout_s: float = 60) -> None:
    ready = asyncio.create_task(follower.ready.wait())
    done, _ = await asyncio.wait(
        {ready, task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
    )
    if task in done:
        ready.cancel()
        task.result()
    if ready not in done:
        ready.cancel()
        raise FollowerError(f"{follower.topic} was not read to its end within {timeout_s:.0f} s")


async def _cancel(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError, FollowerError, KafkaError):
            await task


async def deliver(
    settings: Settings, delivery: DeliverySettings, stop: asyncio.Event | None = None
) -> None:
    """Run the delivery agent until `stop` is set (SIGTERM/SIGINT in the CLI); /metrics on
    COBRANCA_METRICS_PORT when set."""
    registry = process_registry()
    endpoint = None
    if settings.metrics_port is not None:
        endpoint = MetricsEndpoint(registry, settings.metrics_host, settings.metrics_port)
        endpoint.start()
    try:
        async with WebhookSender(delivery.timeout_s) as sender:
            agent = WebhookDeliveryAgent(
                settings.kafka_bootstrap, delivery, sender.post, registry=registry
            )
            await agent.run(settings.topic_partitions, stop)
    finally:
        if endpoint is not None:
            endpoint.stop()
