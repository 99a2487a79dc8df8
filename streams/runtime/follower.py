"""Another agent's topic as lookup data, read on the side (like a Kafka Streams GlobalKTable).

A topic is consumed by exactly one agent: two agents subscribed to one topic can deadlock the
commit cut (docs/adr/0001, streams/runtime/transport.py). An agent that needs another agent's
events as a lookup table (the normalizer needs the dispatcher's MessageDispatched) reads them with a
`TopicFollower`: a plain read_committed consumer outside the consumer group, on every partition,
from the beginning, applying each committed event to a fold.

The table lags the log by a fetch. A lookup that misses calls `catch_up()`, which returns once
everything committed before the call has been applied (the end offsets under read_committed are
the last stable offsets), and looks again.

A process that writes the topic itself and applies its own events as it writes them (the API's
threads) passes `OwnWrites`: its records come back from the log undecoded and unapplied, which
is most of the follower's work when that process is the topic's busiest writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas.errors import UndecodableEvent
from schemas.events import Event
from streams.runtime.errors import FollowerError
from streams.runtime.log_reader import event_from, partitions_of

log = structlog.get_logger(__name__)


class OwnWrites:
    """The exact bytes of records this process wrote and applied itself, until they are read
    back: a record is known by its value (each carries its own event id), so a record another
    process wrote is never taken for one of ours."""

    def __init__(self) -> None:
        self._pending: set[bytes] = set()

    def expect(self, value: bytes) -> None:
        """`value` is about to be written, and will be applied by its writer."""
        self._pending.add(value)

    def take(self, value: bytes) -> bool:
        """Whether a record read back is one of ours (then no longer expected)."""
        if value in self._pending:
            self._pending.remove(value)
            return True
        return False

    def abandon(self, value: bytes) -> bool:
        """The write of `value` failed: no longer expected. True when the follower had already
        read it back (the log has it after all, and nobody applied it)."""
        if value in self._pending:
            self._pending.remove(value)
            return False
        return True


class TopicFollower:
    """Applies every committed event of `topic` to `apply`, and keeps doing so until cancelled.

    `ready` is set once everything committed before `run` started has been applied.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        apply: Callable[[Event], None],
        *,
        catch_up_timeout_s: float = 30.0,
        own: OwnWrites | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._own = own
        self.catch_up_timeout_s = catch_up_timeout_s
        self.topic = topic
        self._apply = apply
        self._consumer: AIOKafkaConsumer | None = None
        self._tps: list[TopicPartition] = []
        self._progress = asyncio.Condition()
        self.ready = asyncio.Event()
        self.applied = 0
        self.caught_up_since = 0.0
        """Wall-clock time (epoch seconds) at which the last successful catch-up began: every
        event committed before it has been applied."""

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            # A catch-up's offset request queues behind an idle fetch on the same connection,
            # which the broker holds up to this long.
            fetch_max_wait_ms=50,
        )
        try:
            await consumer.start()
            partitions = await partitions_of(consumer, self.topic)
            if not partitions:
                raise FollowerError(
                    f"topic {self.topic!r} does not exist on {self._bootstrap}; "
                    "run `cobranca topics create`"
                )
            self._tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(self._tps)
            await consumer.seek_to_beginning(*self._tps)
            self._consumer = consumer
            initial = await consumer.end_offsets(self._tps)
            while True:
                # Short: a fetch that only moves past a transaction marker returns no records,
                # so getmany sits out its timeout before a waiting catch_up sees the position.
                batch = await consumer.getmany(timeout_ms=50)
                for messages in batch.values():
                    for m in messages:
                        self._apply_record(m.value, f"{m.topic}[{m.partition}]@{m.offset}")
                async with self._progress:
                    self._progress.notify_all()
                if not self.ready.is_set() and await self._reached(initial):
                    log.info("follower_ready", topic=self.topic, events=self.applied)
                    self.ready.set()
        except KafkaError as exc:
            raise FollowerError(
                f"following {self.topic} on {self._bootstrap} failed: {exc!r}"
            ) from exc
        finally:
            self._consumer = None
            with contextlib.suppress(KafkaError):
                await consumer.stop()

    def _apply_record(self, value: bytes | None, where: str) -> None:
        if value is None:
            return
        if self._own is not None and self._own.take(value):
            self.applied += 1  # by its writer, this process
            return
        try:
            event = event_from(value)
        except (UndecodableEvent, KeyError, TypeError, ValueError) as exc:
            # The owner of the topic dead-letters what it cannot read; a lookup table skips it.
            log.warning("follower_skipped_record", position=where, error=str(exc))
            return
        self._apply(event)
        self.applied += 1

    async def _reached(self, ends: dict[TopicPartition, int]) -> bool:
        consumer = self._consumer
        if consumer is None:
            return False
        return all([await consumer.position(tp) >= ends[tp] for tp in ends])

    async def catch_up(self, since: float | None = None) -> bool:
        """Wait until every event committed before the call has been applied; False if the
        follower is not running or did not get there within `catch_up_timeout_s`.

        With `since` (epoch seconds), a catch-up that began at or after it already covers what
        the caller needs (everything committed before `since`), and nothing is asked of Kafka:
        a backlog of misses costs one catch-up, not one each.
        """
        if since is not None and self.caught_up_since >= since:
            return True
        consumer = self._consumer
        if consumer is None:
            return False
        began = time.time()
        try:
            async with asyncio.timeout(self.catch_up_timeout_s):
                ends = await consumer.end_offsets(self._tps)
                async with self._progress:
                    while not await self._reached(ends):
                        await self._progress.wait()
        except (TimeoutError, KafkaError) as exc:
            log.warning("follower_catch_up_failed", topic=self.topic, error=repr(exc))
            return False
        self.caught_up_since = max(self.caught_up_since, began)
        return True
