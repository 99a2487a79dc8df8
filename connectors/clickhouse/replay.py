"""`cobranca replay --into DATABASE [--compare]`: rebuild ClickHouse from the log, and check it.

The replay creates DATABASE (it must not exist), applies every migration, then reads every
audit topic from its first offset up to its last stable offset as of the start (a snapshot: the
replay ends even while the pipeline keeps writing) and inserts the records exactly as the sink
does: same rows, batches by topic-partition offset range. The materialized views fill up as the
raw tables do; the refreshed ones (delivery_funnel, response_times) are refreshed once at the end.

`--compare` then checks the replay against the live database, object by object:

- each raw table: the rows of the replayed offset ranges (count and a hash of every column but
  `ingested_at`), so a live sink that is ahead does not count as a difference, and one that is
  behind does;
- each view: its rows (count and hash of a query that folds the not-yet-merged parts). Views
  can only match when the live raw tables hold exactly the replayed ranges; when the live
  database already holds later events, the views are reported as not comparable, not as
  different.

The replay reads Kafka with its own consumer; how a topic's partitions are found is the one thing
it takes from the runtime, as a `PartitionLookup` (`cobranca replay` passes the log reader's).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Protocol

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaConnectionError
from clickhouse_connect.driver.client import Client

from connectors.clickhouse.batches import Batch, PartitionBuffer
from connectors.clickhouse.errors import ReplayError
from connectors.clickhouse.migrations import apply_migrations, validate_database_name
from connectors.clickhouse.privacy import pseudonym_key
from connectors.clickhouse.raw_tables import AUDIT_TOPICS, RAW_TABLES, RawTableWriter
from streams.base.settings import Settings

__all__ = [
    "VIEW_CHECKS",
    "CompareReport",
    "Difference",
    "PartitionLookup",
    "ReplayResult",
    "compare_databases",
    "refresh_views",
    "replay_into",
]

Ends = dict[tuple[str, int], int]
"""(topic, partition) → the offset the replay stopped before."""

VIEW_CHECKS: Final[dict[str, str]] = {
    "events_per_tenant_day": "SELECT tenant_id, day, event_type, sum(events) "
    "FROM {db}.events_per_tenant_day GROUP BY tenant_id, day, event_type",
    "billing_daily": "SELECT tenant_id, day, sum(credited), sum(debited), sum(refunded), "
    "sum(credits), sum(debits), sum(refunds) FROM {db}.billing_daily GROUP BY tenant_id, day",
    "billing_sends_daily": "SELECT tenant_id, day, kind, sum(sends), sum(tokens) "
    "FROM {db}.billing_sends_daily GROUP BY tenant_id, day, kind",
    "tenant_balances": "SELECT * FROM {db}.tenant_balances",
    "send_lifecycle": "SELECT * FROM {db}.send_lifecycle",
    "delivery_funnel": "SELECT * FROM {db}.delivery_funnel",
    "response_times": "SELECT * FROM {db}.response_times",
    "intents_daily": "SELECT tenant_id, day, label, sum(classified), sum(confidence_micros) "
    "FROM {db}.intents_daily GROUP BY tenant_id, day, label",
    "handoffs_daily": "SELECT tenant_id, day, reason, sum(handoffs) "
    "FROM {db}.handoffs_daily GROUP BY tenant_id, day, reason",
    "promise_outcomes": "SELECT * FROM {db}.promise_outcomes",
}
"""Each view analysts read, as a query whose rows do not depend on how parts merged."""

_IGNORED_COLUMNS: Final = frozenset({"ingested_at"})


class PartitionLookup(Protocol):
    """How the replay finds a topic's partitions (the runtime's `log_reader.partitions_of`):
    their numbers as `consumer` learns them from the broker, or [] if the topic does not exist."""

    def __call__(self, consumer: AIOKafkaConsumer, topic: str, /) -> Awaitable[list[int]]: ...


@dataclass(frozen=True, slots=True)
class ReplayResult:
    database: str
    records: int
    """Records read (events and anything else in the topics)."""
    rows: int
    """Rows inserted into the raw tables."""
    seconds: float
    ends: Ends


async def replay_into(
    settings: Settings,
    client: Client,
    database: str,
    *,
    partitions: PartitionLookup,
    max_rows: int = 50_000,
    insert_threads: int = 4,
    on_progress: Callable[[int, int], None] | None = None,
) -> ReplayResult:
    """Rebuild every raw table and view of a new `database` from offset 0 of every audit topic.

    `partitions` finds each audit topic's partitions; `on_progress(done, total)` is called as
    offsets are read (total: offsets in the snapshot).
    """
    validate_database_name(database)
    if database == settings.clickhouse_database:
        raise ReplayError(
            f"{database} is the live database (CLICKHOUSE_DATABASE); replay into a new one, "
            "e.g. --into cobranca_replay"
        )
    if str(client.command(f"EXISTS DATABASE {database}")).strip() == "1":
        raise ReplayError(
            f"database {database} already exists; a replay builds a fresh one: "
            f"`cobranca db query 'DROP DATABASE {database}'` or choose another name"
        )
    began = time.monotonic()
    apply_migrations(client, database)
    writer = RawTableWriter(pseudonym_key())
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        isolation_level="read_committed",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        await consumer.start()
    except KafkaConnectionError as exc:
        await consumer.stop()
        raise ReplayError(
            f"no Kafka broker answers at {settings.kafka_bootstrap}; start it with "
            "`cobranca broker start` or set COBRANCA_KAFKA_BOOTSTRAP"
        ) from exc
    try:
        tps = [TopicPartition(t, p) for t in AUDIT_TOPICS for p in await partitions(consumer, t)]
        consumer.assign(tps)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)  # last stable offsets: the snapshot
        records, rows = await _copy(
            consumer, client, database, writer, starts, ends, max_rows, insert_threads, on_progress
        )
    finally:
        await consumer.stop()
    await asyncio.to_thread(refresh_views, client, database)
    return ReplayResult(
        database=database,
        records=records,
        rows=rows,
        seconds=time.monotonic() - began,
        ends={(tp.topic, tp.partition): ends[tp] for tp in tps},
    )


async def _copy(
    consumer: AIOKafkaConsumer,
    client: Client,
    database: str,
    writer: RawTableWriter,
    starts: dict[TopicPartition, int],
    ends: dict[TopicPartition, int],
    max_rows: int,
    insert_threads: int,
    on_progress: Callable[[int, int], None] | None,
) -> tuple[int, int]:
    total = sum(ends[tp] - starts[tp] for tp in ends)
    buffers = {tp: PartitionBuffer(tp.topic, tp.partition, starts[tp], max_rows) for tp in ends}
    pending = {tp for tp in ends if ends[tp] > starts[tp]}
    for tp in set(ends) - pending:
        consumer.pause(tp)
    inserts: set[asyncio.Task[None]] = set()
    records = rows = finished = 0

    async def insert(batch: Batch) -> None:
        await asyncio.to_thread(writer.insert, client, database, batch)

    while pending:
        fetched = await consumer.getmany(timeout_ms=500, max_records=max_rows)
        for tp, messages in fetched.items():
            buffer, end = buffers[tp], ends[tp]
            for message in messages:
                if message.offset < end:
                    buffer.add(message.offset, writer.frame(message.offset, message.value), 0.0)
                    records += 1
        progress = finished
        for tp in list(pending):
            position = await consumer.position(tp)
            if position >= ends[tp]:
                buffers[tp].cut(ends[tp])
                pending.discard(tp)
                consumer.pause(tp)
                finished += ends[tp] - starts[tp]
                progress += ends[tp] - starts[tp]
            else:
                progress += position - starts[tp]
        for buffer in buffers.values():
            for batch in buffer.take(0.0, float("inf")):
                rows += len(batch.rows)
                if batch.rows:
                    task = asyncio.create_task(insert(batch))
                    inserts.add(task)
                    task.add_done_callback(inserts.discard)
            while len(inserts) >= insert_threads:
                await _first_done(inserts)
        # getmany does not yield while records are buffered: let the new inserts start.
        await asyncio.sleep(0)
        if on_progress is not None:
            on_progress(progress, total)
    await asyncio.gather(*inserts)
    if on_progress is not None:
        on_progress(total, total)
    return records, rows


async def _first_done(tasks: set[asyncio.Task[None]]) -> None:
    finished, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in finished:
        task.result()  # re-raise an insert's error here


def refresh_views(client: Client, database: str) -> list[str]:
    """Refresh every refreshable view of `database` now and wait for it; returns their names."""
    names = [
        str(row[0])
        for row in client.query(
            "SELECT view FROM system.view_refreshes WHERE database = {db:String} ORDER BY view",
            parameters={"db": database},
        ).result_rows
    ]
    for name in names:
        client.command(f"SYSTEM REFRESH VIEW {database}.{name}")
    for name in names:
        client.command(f"SYSTEM WAIT VIEW {database}.{name}")
    return names


# -- compare ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Difference:
    """One table or view in both databases: its row count and content hash on each side."""

    name: str
    kind: str
    """`raw` or `view`."""
    live: tuple[int, int]
    replay: tuple[int, int]
    note: str = ""

    @property
    def equal(self) -> bool:
        return self.live == self.replay

    @property
    def compared(self) -> bool:
        return not self.note.startswith("not comparable")


@dataclass(frozen=True, slots=True)
class CompareReport:
    live: str
    replay: str
    objects: list[Difference] = field(default_factory=list)

    @property
    def equal(self) -> bool:
        return all(item.equal for item in self.objects if item.compared)

    def lines(self) -> list[str]:
        out = [f"compare {self.live} (live) with {self.replay} (replay):"]
        for item in self.objects:
            verdict = "equal" if item.equal else "DIFFERENT"
            if not item.compared:
                verdict = "skipped"
            out.append(
                f"  {item.kind:4} {item.name:24} {verdict:9} live {item.live[0]:>10} rows, "
                f"replay {item.replay[0]:>10} rows{'  ' + item.note if item.note else ''}"
            )
        different = sum(1 for item in self.objects if item.compared and not item.equal)
        out.append("equal" if self.equal else f"{different} objects differ")
        return out


def compare_databases(client: Client, live: str, replay: str, ends: Ends) -> CompareReport:
    """Compare every raw table within the replayed ranges, then every view."""
    for name in (live, replay):
        validate_database_name(name)
    refresh_views(client, live)
    report = CompareReport(live, replay)
    beyond = 0
    for topic, table in RAW_TABLES.items():
        partitions = sorted(p for (t, p) in ends if t == topic)
        limits = [ends[(topic, p)] for p in partitions]
        inside = f"kafka_offset < transform(toInt64(kafka_partition), {partitions}, {limits}, 0)"
        columns = _hashed_columns(client, replay, table)
        query = "SELECT count(), sum(cityHash64({cols})) FROM {db}.{table} WHERE {where}"
        live_side = _count_hash(
            client, query.format(cols=columns, db=live, table=table, where=inside)
        )
        replay_side = _count_hash(
            client, query.format(cols=columns, db=replay, table=table, where=inside)
        )
        later_sql = f"SELECT count() FROM {live}.{table} WHERE NOT ({inside})"
        later = int(client.query(later_sql).result_rows[0][0])
        beyond += later
        note = f"live also holds {later} later events" if later else ""
        report.objects.append(Difference(table, "raw", live_side, replay_side, note))
    for name, template in VIEW_CHECKS.items():
        hashed = f"SELECT count(), sum(cityHash64(*)) FROM ({template})"
        live_side = _count_hash(client, hashed.format(db=live))
        replay_side = _count_hash(client, hashed.format(db=replay))
        note = (
            f"not comparable: the live database holds {beyond} events past the replay"
            if beyond
            else ""
        )
        report.objects.append(Difference(name, "view", live_side, replay_side, note))
    return report


def _hashed_columns(client: Client, database: str, table: str) -> str:
    names = client.query(
        "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} "
        "ORDER BY position",
        parameters={"db": database, "t": table},
    ).result_rows
    return ", ".join(f"`{name}`" for (name,) in names if name not in _IGNORED_COLUMNS)


def _count_hash(client: Client, sql: str) -> tuple[int, int]:
    count, digest = client.query(sql).result_rows[0]
    return int(count), int(digest or 0)
