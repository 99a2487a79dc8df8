"""The worker's clock: a tick into every partition of the clock topic, every few seconds.

Under exactly-once a record can only be written in the transaction of the event that caused
it (streams/runtime/transport.py), and a Faust timer has no event. So the timer only produces ticks,
with a plain idempotent producer like any producer outside the agents, and the régua acts
on due reminders when it processes a tick, inside that tick's transaction. A duplicate or lost
tick changes nothing but latency: what is due is read from the régua's state, not the tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from schemas.codec import encode
from schemas.events import ClockTicked, new_header
from streams.base.topics import CLOCK

__all__ = ["Clock", "Now", "now_source", "tick_event"]

Now = Callable[[], datetime]
"""What time it is, in UTC, for a rule that depends on it."""

SOURCE = "streams.clock"
ALL_TENANTS = "*"

log = structlog.get_logger(__name__)


def now_source(start: datetime | None = None) -> Now:
    """The real clock, or one that reads `start` now and advances in real time from there (a
    demo on a Sunday sees Monday's contact windows; see Settings.clock_start)."""
    if start is None:
        return lambda: datetime.now(UTC)
    began = time.monotonic()
    origin = start.astimezone(UTC)
    return lambda: origin + timedelta(seconds=time.monotonic() - began)


def tick_event(now: datetime) -> ClockTicked:
    return ClockTicked(
        header=new_header(
            "ClockTicked",
            tenant_id=ALL_TENANTS,
            correlation_id=SOURCE,
            causation_id=None,
            source=SOURCE,
            occurred_at=now,
        )
    )


class Clock:
    """Ticks every partition of the clock topic; started on first use."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None

    async def tick(self, now: datetime | None = None) -> int:
        """One tick per partition; returns how many were stored (0 when Kafka failed: the next
        tick tries again)."""
        try:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True
                )
                await producer.start()
                self._producer = producer
            partitions = sorted(await self._producer.partitions_for(CLOCK.name))
            at = now or datetime.now(UTC)
            sent = [
                await self._producer.send(
                    CLOCK.name, encode(tick_event(at).to_representation()), partition=p
                )
                for p in partitions
            ]
            await asyncio.gather(*sent)
            return len(sent)
        except KafkaError as exc:
            log.warning("clock_tick_failed", topic=CLOCK.name, error=repr(exc))
            return 0

    async def stop(self) -> None:
        if self._producer is not None:
            with contextlib.suppress(KafkaError):
                await self._producer.stop()
            self._producer = None
