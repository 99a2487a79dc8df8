"""`cobranca sink`: every audit topic into its raw table in ClickHouse, exactly once.

A consumer group (`<COBRANCA_APP_ID>-clickhouse-sink`) reads every audit topic with
isolation_level=read_committed (aborted transactions never reach analytics) and, per
topic-partition, gathers records into batches of up to `max_rows` rows or `max_wait_s` seconds.
A flush then, for all due batches at once:

1. commits, for each partition, its current offset again with the batch ends in the metadata
   (the plan; see `batches.py`);
2. inserts each batch into its raw table with the token of its offset range, several at a time
   in threads (views run inside the insert);
3. commits each partition's last end, once ClickHouse acknowledged every insert.

A crash anywhere leaves either nothing inserted, or a plan that the next owner of the partition
follows to insert the very same ranges with the very same tokens, which ClickHouse drops as
duplicates. Only one flush is in flight at a time; records keep being read and framed while it
runs, up to `read_ahead_rows`. Batches are cut by size and time, or, when the sink is behind the
log, all at once as soon as ClickHouse is free (ADR 0012).

Operator action: the sink is safe to SIGKILL and restart at any time; several sinks with the same
group share the partitions. While ClickHouse does not answer at all (down, restarting), an insert
waits for it, retrying its batch every 5 s at most, for up to `clickhouse_wait_s` (600 s,
`cobranca sink --clickhouse-wait`) before the sink exits for its supervisor; nothing is committed
meanwhile, so either way every row arrives once (issue 16 §5).

To rebuild ClickHouse from the log, use `cobranca replay`, not a reset of this group's offsets
(re-inserting old ranges into the live tables is deduplicated only within the tables'
deduplication window).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    CommitFailedError,
    IllegalGenerationError,
    IllegalStateError,
    KafkaConnectionError,
    KafkaError,
    RebalanceInProgressError,
)
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from clickhouse_connect.driver.client import Client
from prometheus_client import CollectorRegistry, Counter, Gauge

from connectors.clickhouse.batches import Batch, PartitionBuffer, parse_plan, plan_metadata
from connectors.clickhouse.errors import ClickHouseError, SinkError, SinkInsertFailed
from connectors.clickhouse.raw_tables import AUDIT_TOPICS, RAW_TABLES, RawTableWriter

__all__ = ["ClickHouseSink", "SinkConfig", "SinkMetrics", "SinkStats"]

log = structlog.get_logger(__name__)

_INSERT_ATTEMPTS = 5
_RETRY_CAP_S = 5.0
"""The longest pause between two attempts while ClickHouse does not answer."""
# What a commit raises once the group has moved on (or is moving on) without this member.
_GROUP_MOVED_ON = (
    CommitFailedError,
    IllegalGenerationError,
    IllegalStateError,
    RebalanceInProgressError,
)
_POLL_MS = 200
_POLL_RECORDS = 5_000
"""Records converted between two returns to the event loop. Conversion is CPU work on the loop
that also sends the group's heartbeats: 50,000 records at once took longer than the session
timeout on a loaded machine, the group evicted the member, and it started over, forever."""


@dataclass(frozen=True, slots=True)
class SinkConfig:
    """Where the sink reads and writes, and how big its batches are."""

    bootstrap: str
    database: str
    group_id: str
    max_rows: int = 50_000
    """A batch is cut at this many rows (10k to 100k keeps parts large and inserts cheap)."""
    max_wait_s: float = 1.0
    """...or when its first record has waited this long."""
    insert_threads: int = 4
    """Batches inserted at the same time within one flush."""
    read_ahead_rows: int = 500_000
    """Rows read and waiting while a flush runs (a frame is about 200 bytes: ~100 MB). In a
    backlog the next flush takes them all, spread over every partition, so this sets the size
    of its batches (~read_ahead_rows / partitions each, up to max_rows); each insert costs
    ClickHouse ~20 ms besides its rows, so small batches halve the throughput."""
    session_timeout_s: float = 30.0
    """How long the group waits for a silent member before giving its partitions away. Longer
    than Kafka clients' usual 10 s: on a busy machine ClickHouse's insert threads can starve this
    process of CPU for several seconds (measured: up to 10 s at load 12 on 2 cores), and an
    evicted member must start its ranges over."""
    clickhouse_wait_s: float = 600.0
    """How long an insert keeps retrying while ClickHouse does not answer at all (down or
    restarting), before the sink gives up and exits for its supervisor. A refused insert (an
    answer) is retried `_INSERT_ATTEMPTS` times whatever this says."""

    def __post_init__(self) -> None:
        if (
            self.max_rows < 1
            or self.max_wait_s < 0
            or self.insert_threads < 1
            or self.read_ahead_rows < 1
            or self.session_timeout_s < 6
        ):
            raise ValueError(
                f"sink needs max_rows >= 1, max_wait_s >= 0, insert_threads >= 1, "
                f"read_ahead_rows >= 1 and session_timeout_s >= 6, got {self.max_rows}, "
                f"{self.max_wait_s}, {self.insert_threads}, {self.read_ahead_rows}, "
                f"{self.session_timeout_s}"
            )


@dataclass(slots=True)
class SinkStats:
    """What one run of the sink did."""

    rows: int = 0
    """Rows acknowledged by ClickHouse (retried duplicates included)."""
    batches: int = 0
    records: int = 0
    """Records read (rows plus the records that are not events)."""
    resumed_plans: int = 0
    """Partitions taken over with a plan in their commit metadata (a crash mid-batch)."""
    per_topic: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class SinkMetrics:
    """The sink's Prometheus metrics (served at /metrics by `cobranca sink`, ADR 0020).

    - `cobranca_sink_rows_total{table}`: rows ClickHouse acknowledged per raw table (a batch
      retried after a crash counts again, although ClickHouse dropped it as a duplicate);
    - `cobranca_sink_lag_seconds`: now minus the log timestamp of the newest row written
      (Kafka's record timestamp, set when the event was produced: the pipeline's delay, not
      the business's), or minus the sink's start until it has written a row;
    - `cobranca_sink_records_waiting`: records of its partitions not written yet, from those
      read and not acknowledged to each partition's last stable offset. Caught up, it is 0,
      and a lag that grows then only means the log is quiet.
    """

    def __init__(
        self, registry: CollectorRegistry | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.registry = CollectorRegistry() if registry is None else registry
        self.clock = clock
        self.newest_s = clock()
        """Log time of the newest row written (the start until one is)."""
        self.rows = Counter(
            "cobranca_sink_rows",
            "Rows ClickHouse acknowledged, by raw table (retried batches count again).",
            ["table"],
            registry=self.registry,
        )
        for table in RAW_TABLES.values():  # at 0 from the start, so increase() sees the first
            self.rows.labels(table)
        self.batches = Counter(
            "cobranca_sink_batches",
            "Offset ranges inserted and committed.",
            registry=self.registry,
        )
        self.insert_retries = Counter(
            "cobranca_sink_insert_retries",
            "Inserts ClickHouse refused or did not answer, retried.",
            registry=self.registry,
        )
        self.lag = Gauge(
            "cobranca_sink_lag_seconds",
            "Seconds between now and the log timestamp of the newest row written (the sink's "
            "start until it wrote one).",
            registry=self.registry,
        )
        self.lag.set_function(lambda: self.clock() - self.newest_s)
        self.waiting = Gauge(
            "cobranca_sink_records_waiting",
            "Records of this sink's partitions not written yet: read and not acknowledged, "
            "or in Kafka up to the last stable offset.",
            registry=self.registry,
        )

    def written(self, batches: list[Batch]) -> None:
        """`batches` are in ClickHouse and committed."""
        for batch in batches:
            if batch.rows:
                self.rows.labels(RAW_TABLES.get(batch.topic, batch.topic)).inc(len(batch.rows))
            if batch.newest_ms is not None:
                self.newest_s = max(self.newest_s, batch.newest_ms / 1000)
        self.batches.inc(len(batches))


_WAITING_EVERY_S = 1.0
"""How often the loop counts the records waiting (a position per partition)."""


class _FlushAborted(Exception):
    """The group refused a flush's commit (it rebalanced): nothing after it may build on it."""


class ClickHouseSink:
    """One member of the sink's consumer group."""

    def __init__(
        self,
        config: SinkConfig,
        client: Client,
        writer: RawTableWriter,
        metrics: SinkMetrics | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.writer = writer
        self.metrics = SinkMetrics() if metrics is None else metrics
        self.stats = SinkStats()
        self._inflight_rows = 0
        self._waiting_at = 0.0
        self._buffers: dict[TopicPartition, PartitionBuffer] = {}
        self._inflight: asyncio.Task[None] | None = None
        self._rebalancing = False
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None

    @property
    def partitions(self) -> frozenset[TopicPartition]:
        """The partitions this member owns now."""
        return frozenset(self._buffers)

    async def run(
        self,
        stop: asyncio.Event | None = None,
        *,
        drain: bool = False,
        on_progress: Callable[[int, int | None], None] | None = None,
    ) -> SinkStats:
        """Sink until `stop` is set, or, with `drain`, until every partition is caught up.

        On the way out every record read so far is flushed and committed, and the member
        leaves the group. `on_progress(read, total)` hears, after each fetch, the records read
        and that plus what waits up to the last stable offsets (None until every partition's
        fetch has told it).
        """
        stop = stop or asyncio.Event()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.config.bootstrap,
            group_id=self.config.group_id,
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=min(self.config.max_rows, _POLL_RECORDS),
            max_partition_fetch_bytes=8 * 1024 * 1024,
            session_timeout_ms=int(self.config.session_timeout_s * 1000),
            heartbeat_interval_ms=2000,
        )
        admin = AIOKafkaAdminClient(bootstrap_servers=self.config.bootstrap)
        try:
            await consumer.start()
            await admin.start()
        except KafkaConnectionError as exc:
            await consumer.stop()
            await admin.close()
            raise SinkError(
                f"no Kafka broker answers at {self.config.bootstrap}; start the local one with "
                "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
            ) from exc
        self._consumer, self._admin = consumer, admin
        consumer.subscribe(topics=list(AUDIT_TOPICS), listener=_Rebalance(self))
        try:
            await self._loop(consumer, stop, drain, on_progress)
            await self._flush_everything()
        finally:
            await self._settle_inflight(raise_errors=False)
            await consumer.stop()
            await admin.close()
            self._consumer = self._admin = None
        return self.stats

    # -- the loop -------------------------------------------------------------------------------

    async def _loop(
        self,
        consumer: AIOKafkaConsumer,
        stop: asyncio.Event,
        drain: bool,
        on_progress: Callable[[int, int | None], None] | None,
    ) -> None:
        while not stop.is_set():
            fetched = await consumer.getmany(
                timeout_ms=_POLL_MS, max_records=min(self.config.max_rows, _POLL_RECORDS)
            )
            now = time.monotonic()
            for tp, messages in fetched.items():
                buffer = self._buffers.get(tp)
                if buffer is None:
                    continue  # revoked while the fetch was under way
                frame = self.writer.frame
                for message in messages:
                    buffer.add(
                        message.offset,
                        frame(message.offset, message.value),
                        now,
                        message.timestamp,
                    )
                self.stats.records += len(messages)
            for tp, buffer in list(self._buffers.items()):
                if buffer.planned and (position := await _position(consumer, tp)) is not None:
                    buffer.reached(position)
            await self._maybe_flush(now)
            if now - self._waiting_at >= _WAITING_EVERY_S:
                self._waiting_at = now
                await self._count_waiting(consumer)
            # getmany returns without yielding while fetched records are buffered: yield here,
            # or a flush task (its commits, its inserts' completions) waits for reading to stall.
            await asyncio.sleep(0)
            if on_progress:
                waiting = self._waiting()
                read = self.stats.records
                on_progress(read, None if waiting is None else read + waiting)
            if drain and not fetched and await self._caught_up(consumer):
                return

    async def _maybe_flush(self, now: float) -> None:
        if self._rebalancing:
            return  # batches are cut again once the new assignment is known
        max_wait = self.config.max_wait_s
        waiting = sum(buffer.pending_rows for buffer in self._buffers.values())
        if self._inflight is not None:
            if not self._inflight.done() and waiting < self.config.read_ahead_rows:
                return  # keep reading while ClickHouse works
            await self._settle_inflight(raise_errors=True)
        if waiting >= self.config.read_ahead_rows or (
            waiting >= self.config.max_rows and self._behind()
        ):
            # A backlog: ClickHouse is free and a batch's worth of rows waits, so everything
            # read is due now, not max_wait after the previous flush cut it. Batches then grow
            # with the time each flush takes (up to read_ahead_rows over the partitions).
            max_wait = 0.0
        if any(buffer.due(now, max_wait) for buffer in self._buffers.values()):
            batches = [b for buffer in self._buffers.values() for b in buffer.take(now, max_wait)]
            self._inflight = asyncio.create_task(self._flush(batches))

    def _waiting(self) -> int | None:
        """Records in Kafka past what was read, up to each partition's last stable offset as
        its latest fetch saw it; None while a partition has not been fetched yet."""
        consumer = self._consumer
        if consumer is None or not self._buffers:
            return None
        waiting = 0
        for tp, buffer in self._buffers.items():
            stable = consumer.last_stable_offset(tp)
            if stable is None:
                return None
            waiting += max(0, stable - max(buffer.seen_end, buffer.next_start))
        return waiting

    async def _count_waiting(self, consumer: AIOKafkaConsumer) -> None:
        """Set the records-waiting gauge: rows read and not acknowledged, plus each
        partition's records from the consumer's position to its last stable offset."""
        waiting = self._inflight_rows
        for tp, buffer in list(self._buffers.items()):
            waiting += buffer.pending_rows
            position = await _position(consumer, tp)
            try:
                stable = consumer.last_stable_offset(tp)
            except AssertionError:  # revoked meanwhile
                continue
            if position is not None and stable is not None:
                waiting += max(0, stable - position)
        self.metrics.waiting.set(waiting)

    def _behind(self) -> bool:
        """Records wait in Kafka past what was read: a partition's last stable offset (as its
        latest fetch saw it) is past the records read, or no fetch has answered for it yet."""
        if self._consumer is None or not self._buffers:
            return False
        waiting = self._waiting()
        return waiting is None or waiting > 0

    async def _caught_up(self, consumer: AIOKafkaConsumer) -> bool:
        """Every record up to the last stable offset is read, inserted and committed."""
        assigned = consumer.assignment()
        if not assigned or self._inflight is not None:
            await self._settle_inflight(raise_errors=True)
            return False
        if any(b.sealed or b.seen_end > b.next_start for b in self._buffers.values()):
            return False
        ends = await consumer.end_offsets(list(assigned))  # the LSO under read_committed
        for tp in assigned:
            position = await _position(consumer, tp)
            if position is None or position < ends[tp]:
                return False  # behind, or revoked while the end offsets were fetched
        return True

    async def _flush_everything(self) -> None:
        await self._settle_inflight(raise_errors=True)
        batches = [b for buffer in self._buffers.values() for b in buffer.take(float("inf"), 0.0)]
        if batches:
            await self._flush(batches)

    async def _settle_inflight(self, *, raise_errors: bool) -> None:
        # The task stays visible in _inflight until it is done: a rebalance that starts while
        # the loop waits for it must wait for it too.
        task = self._inflight
        if task is None:
            return
        try:
            await task
        except _FlushAborted as exc:
            # The buffers moved past ranges that were not committed: start over from what the
            # group has committed (and planned), for every partition still ours.
            log.warning("sink flush aborted; resuming from the committed offsets", error=str(exc))
            if raise_errors:
                await self._resume_from_committed()
        except (SinkError, KafkaError) as exc:
            if raise_errors:
                raise
            log.warning("sink flush failed", error=str(exc))
        finally:
            if self._inflight is task:
                self._inflight = None

    async def _resume_from_committed(self) -> None:
        assert self._consumer is not None
        assigned = set(self._consumer.assignment())
        self._buffers.clear()
        await self._take_over(assigned)
        for tp in assigned & set(self._consumer.assignment()):  # some may be revoked by now
            self._consumer.seek(tp, self._buffers[tp].next_start)

    # -- one flush ------------------------------------------------------------------------------

    async def _flush(self, batches: list[Batch]) -> None:
        consumer = self._consumer
        assert consumer is not None
        by_tp: dict[TopicPartition, list[Batch]] = defaultdict(list)
        for batch in batches:
            by_tp[TopicPartition(batch.topic, batch.partition)].append(batch)
        plan = {
            tp: OffsetAndMetadata(group[0].start, plan_metadata([b.end for b in group]))
            for tp, group in by_tp.items()
        }
        done = {tp: OffsetAndMetadata(group[-1].end, "") for tp, group in by_tp.items()}
        try:
            await consumer.commit(plan)
        except _GROUP_MOVED_ON as exc:
            # The group moved on before anything was inserted; whoever owns the partitions now
            # reads them again from the committed offsets.
            raise _FlushAborted(f"plan not recorded: {exc}") from exc
        limit = asyncio.Semaphore(self.config.insert_threads)

        async def insert(batch: Batch) -> None:
            async with limit:
                await self._insert(batch)

        rows = sum(len(batch.rows) for batch in batches)
        self._inflight_rows += rows
        try:
            await asyncio.gather(*(insert(batch) for batch in batches if batch.rows))
            try:
                await consumer.commit(done)
            except _GROUP_MOVED_ON as exc:
                # Inserted but not committed: whoever owns the partitions now follows the plan
                # and re-inserts the same ranges, which ClickHouse drops.
                raise _FlushAborted(f"inserted, not committed: {exc}") from exc
        finally:
            self._inflight_rows -= rows
        self.metrics.written(batches)
        for batch in batches:
            self.stats.rows += len(batch.rows)
            self.stats.per_topic[batch.topic] += len(batch.rows)
        self.stats.batches += len(batches)

    async def _insert(self, batch: Batch) -> None:
        """Insert one batch, retrying with its token (a retry ClickHouse already took is dropped
        as a duplicate). While nothing answers, keep waiting up to `clickhouse_wait_s`: the
        flush holds its partitions' commits, reading stops at `read_ahead_rows`, and the rows
        go in once ClickHouse is back (issue 16 §5: ClickHouse down for 60 s)."""
        delay, refused, down_since = 0.5, 0, None
        while True:
            try:
                await asyncio.to_thread(
                    self.writer.insert, self.client, self.config.database, batch
                )
                if down_since is not None:
                    log.info(
                        "sink reaches ClickHouse again",
                        token=batch.token,
                        waited_s=round(time.monotonic() - down_since, 1),
                    )
                return
            except ClickHouseError as exc:
                now = time.monotonic()
                if isinstance(exc, SinkInsertFailed) and exc.unreachable:
                    down_since = now if down_since is None else down_since
                    if now - down_since >= self.config.clickhouse_wait_s:
                        raise SinkError(
                            f"{exc} (ClickHouse did not answer for "
                            f"{self.config.clickhouse_wait_s:g} s)"
                        ) from exc
                    log.warning(
                        "sink waits for ClickHouse",
                        token=batch.token,
                        down_s=round(now - down_since, 1),
                        error=str(exc),
                    )
                else:
                    refused += 1
                    if refused == _INSERT_ATTEMPTS:
                        raise SinkError(f"{exc} (gave up after {refused} attempts)") from exc
                    log.warning("sink insert failed, retrying", token=batch.token, error=str(exc))
                self.metrics.insert_retries.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_CAP_S)

    # -- rebalances -----------------------------------------------------------------------------

    async def on_revoked(self, revoked: set[TopicPartition]) -> None:
        # Let the flush in flight commit while this member still owns its partitions, and
        # start no other until the new assignment is known.
        self._rebalancing = True
        await self._settle_inflight(raise_errors=False)
        for tp in revoked:
            self._buffers.pop(tp, None)

    async def on_assigned(self, assigned: set[TopicPartition]) -> None:
        try:
            await self._take_over(assigned)
        finally:
            self._rebalancing = False

    async def _take_over(self, assigned: set[TopicPartition]) -> None:
        if not assigned:
            return
        assert self._consumer is not None and self._admin is not None
        committed = await self._admin.list_consumer_group_offsets(
            self.config.group_id, partitions=list(assigned)
        )
        fresh = [tp for tp in assigned if committed.get(tp, OffsetAndMetadata(-1, "")).offset < 0]
        beginnings = await self._consumer.beginning_offsets(fresh) if fresh else {}
        for tp in assigned:
            record = committed.get(tp)
            start = record.offset if record is not None and record.offset >= 0 else beginnings[tp]
            planned = parse_plan(record.metadata if record is not None else None, start)
            if planned:
                self.stats.resumed_plans += 1
                log.info(
                    "sink resumes a planned range",
                    topic=tp.topic,
                    partition=tp.partition,
                    start=start,
                    ends=list(planned),
                )
            self._buffers[tp] = PartitionBuffer.resume(
                tp.topic, tp.partition, start, planned, self.config.max_rows
            )


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sink: ClickHouseSink) -> None:
        self.sink = sink

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.sink.on_revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self.sink.on_assigned(assigned)


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    """The consumer's position on `tp`, or None once `tp` is no longer assigned: a rebalance can
    revoke it between reading the assignment and asking, while any earlier await ran."""
    if tp not in consumer.assignment():
        return None
    try:
        return int(await consumer.position(tp))
    except IllegalStateError:
        return None
