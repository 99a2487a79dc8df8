"""The sink on the real broker and the served engine: crashes, replays, analysts at work."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.batches import PLAN_PREFIX
from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
from connectors.clickhouse.raw_tables import AUDIT_TOPICS, RAW_TABLES, RawTableWriter
from connectors.clickhouse.replay import compare_databases, replay_into
from connectors.clickhouse.sink import ClickHouseSink, SinkConfig, SinkMetrics
from schemas.codec import encode
from schemas.events import Event, SendRejectReason
from streams.base.settings import Settings
from streams.base.topics import WAHA_MESSAGES, topic_for_event
from streams.runtime.log_reader import partitions_of
from streams.runtime.metrics_endpoint import MetricsEndpoint, process_registry
from streams.runtime.producer import EventProducer
from tests import factories as f
from tests.faults import report as fault_report
from tests.kafka_helpers import committed_offsets

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
# Small batches (many flushes to kill), and a short session so a restart takes over quickly.
SINK_ARGS = ("--max-rows", "40", "--max-wait", "0.1", "--session-timeout", "6")


def traffic(tenant: str, sends: int) -> list[Event]:
    """A day of one tenant: credits, sends at every stage, replies, intents, actions."""
    stages = ("requested", "approved", "dispatched", "delivered", "read", "replied")
    events: list[Event] = [f.tokens_credited(tenant, 10 * sends, balance_after=10 * sends, at=T0)]
    for n in range(sends):
        at = T0 + timedelta(seconds=37 * n)
        phone = f"+55119{n:08d}"
        request = f"{tenant}-r{n}"
        if n % 11 == 0:
            events += f.send_story(
                tenant, request, at=at, phone=phone, reject=SendRejectReason.OPTED_OUT
            )
            continue
        events += f.send_story(
            tenant,
            request,
            at=at,
            step=("D-3", "D0", "D+3")[n % 3],
            phone=phone,
            client_id=f"c{n}",
            reached=stages[n % len(stages)],
            balance_after=10 * sends - n,
        )
        if n % 7 == 0:
            events.append(f.intent_classified(tenant, phone=phone, client_id=f"c{n}", at=at))
            events.append(f.payment_promised(tenant, f"c{n}", at=at))
        if n % 13 == 0:
            events.append(f.handoff_requested(tenant, reason="dispute", phone=phone, at=at))
    return events


def _key(event: Event) -> str:
    """The key production gives the event: a topic keyed by tenant alone keeps a tenant's events
    in one partition, which the views rely on (a balance is the latest by offset); the others
    spread a tenant over partitions."""
    if topic_for_event(event.header.event_type).key == "tenant_id":
        return event.header.tenant_id
    return f"{event.header.tenant_id}:{event.header.correlation_id}"


async def produce(bootstrap: str, events: list[Event]) -> None:
    async with EventProducer(bootstrap) as producer:
        await producer.send_many((event, _key(event)) for event in events)


async def produce_on(bootstrap: str, topic: str, event: Event) -> None:
    async with EventProducer(bootstrap) as producer:
        value = encode(event.to_representation())
        await producer.send_keyed(topic, [_key(event).encode()], [value])


def expected_counts(events: list[Event]) -> dict[str, int]:
    return dict(Counter(RAW_TABLES[topic_for_event(e.header.event_type).name] for e in events))


def tenant_counts(client: Client, database: str, tenant: str) -> dict[str, int]:
    counts = {}
    for table in RAW_TABLES.values():
        n = client.query(
            f"SELECT count() FROM {database}.{table} WHERE tenant_id = {{t:String}}",
            parameters={"t": tenant},
        ).result_rows[0][0]
        if n:
            counts[table] = int(n)
    return counts


def duplicated_positions(client: Client, database: str) -> int:
    return sum(
        int(
            client.query(
                f"SELECT count() - uniqExact(kafka_partition, kafka_offset) FROM {database}.{table}"
            ).result_rows[0][0]
        )
        for table in RAW_TABLES.values()
    )


def event_ids(client: Client, database: str, tenant: str) -> list[str]:
    """One event id per row of the tenant in every raw table (twice if a row went in twice)."""
    ids: list[str] = []
    for table in RAW_TABLES.values():
        rows = client.query(
            f"SELECT event_id FROM {database}.{table} WHERE tenant_id = {{t:String}}",
            parameters={"t": tenant},
        ).result_rows
        ids += [str(row[0]) for row in rows]
    return ids


def sink_config(bootstrap: str, database: str, **kwargs: object) -> SinkConfig:
    return SinkConfig(
        bootstrap=bootstrap, database=database, group_id=f"sink-{uuid.uuid4().hex[:8]}", **kwargs
    )  # type: ignore[arg-type]


def drain(client: Client, config: SinkConfig) -> dict[str, int]:
    sink = ClickHouseSink(config, client, RawTableWriter(DEV_PSEUDONYM_KEY))
    stats = asyncio.run(sink.run(drain=True))
    return {"rows": stats.rows, "resumed_plans": stats.resumed_plans}


def test_the_sink_writes_every_topic_once(
    kafka_bootstrap: str, client: Client, migrated: str
) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    events = [
        *traffic(tenant, 60),
        f.client_imported(tenant, 1),
        f.import_completed(tenant),
        f.credit_requested(tenant, 5),
        f.waha_callback_received(tenant),
        f.session_status_changed(tenant),
        f.dead_lettered(tenant),
        f.opted_out(tenant),
        f.api_request_audited(tenant),
        f.webhook_attempted(tenant),
        f.webhook_dead_lettered(tenant),
    ]
    asyncio.run(produce(kafka_bootstrap, events))
    # A debtor's message takes the webhooks' other lane (docs/adr/0032).
    reply = f.waha_callback_received(tenant)
    asyncio.run(produce_on(kafka_bootstrap, WAHA_MESSAGES.name, reply))
    expected = {**expected_counts(events), RAW_TABLES[WAHA_MESSAGES.name]: 1}
    config = sink_config(kafka_bootstrap, migrated, max_rows=100, max_wait_s=0.2)
    drain(client, config)
    assert tenant_counts(client, migrated, tenant) == expected
    assert len(expected) == len(AUDIT_TOPICS)  # every topic took part
    # The same group again: everything was committed, nothing is inserted twice.
    again = drain(client, config)
    assert again["rows"] == 0
    assert tenant_counts(client, migrated, tenant) == expected
    assert duplicated_positions(client, migrated) == 0


def test_the_sink_serves_rows_per_table_and_its_lag_on_metrics(
    kafka_bootstrap: str, client: Client, migrated: str
) -> None:
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from streams.base.ports import free_port

    tenant = f"t{uuid.uuid4().hex[:6]}"
    events = [*traffic(tenant, 20), f.dead_lettered(tenant)]
    asyncio.run(produce(kafka_bootstrap, events))
    metrics = SinkMetrics(process_registry())
    endpoint = MetricsEndpoint(metrics.registry, "127.0.0.1", free_port())
    endpoint.start()
    try:
        sink = ClickHouseSink(
            sink_config(kafka_bootstrap, migrated, max_rows=100, max_wait_s=0.2),
            client,
            RawTableWriter(DEV_PSEUDONYM_KEY),
            metrics,
        )
        stats = asyncio.run(sink.run(drain=True))
        with urllib.request.urlopen(endpoint.url, timeout=5) as response:
            text = response.read().decode()
    finally:
        endpoint.stop()
    samples = {
        (sample.name, sample.labels.get("table")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    # The group starts at offset 0 of topics other tests wrote too: at least this tenant's rows.
    for table, count in expected_counts(events).items():
        assert samples[("cobranca_sink_rows_total", table)] >= count
    rows = sum(v for (name, _), v in samples.items() if name == "cobranca_sink_rows_total")
    assert rows == stats.rows
    assert 0 <= samples[("cobranca_sink_lag_seconds", None)] < 120  # just produced
    assert ("process_cpu_seconds_total", None) in samples


def test_two_sinks_in_one_group_share_the_partitions_and_every_count_stays_exact(
    kafka_bootstrap: str, client: Client, migrated: str
) -> None:
    tenants = [f"t{uuid.uuid4().hex[:6]}" for _ in range(4)]
    days = {tenant: traffic(tenant, 80) for tenant in tenants}
    early = [e for events in days.values() for e in events[: len(events) // 2]]
    late = [e for events in days.values() for e in events[len(events) // 2 :]]
    config = sink_config(kafka_bootstrap, migrated, max_rows=40, max_wait_s=0.05)

    async def until(what: str, condition: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + 120
        while not await condition():
            assert time.monotonic() < deadline, f"timed out waiting until {what}"
            await asyncio.sleep(0.1)

    async def scenario() -> list[int]:
        stop = asyncio.Event()
        first, second = (
            ClickHouseSink(config, client, RawTableWriter(DEV_PSEUDONYM_KEY)) for _ in range(2)
        )
        running = [asyncio.create_task(first.run(stop))]
        await produce(kafka_bootstrap, early)

        async def first_wrote() -> bool:
            return first.stats.rows > 0

        await until("the first member wrote rows", first_wrote)
        everything = first.partitions
        running.append(asyncio.create_task(second.run(stop)))

        async def shared() -> bool:  # the group rebalanced: each member owns a part
            mine, theirs = first.partitions, second.partitions
            return bool(mine and theirs) and not mine & theirs and mine | theirs == everything

        await until("the two members share the partitions", shared)
        await produce(kafka_bootstrap, late)

        async def all_written() -> bool:
            counts = await asyncio.to_thread(
                lambda: {t: tenant_counts(client, migrated, t) for t in tenants}
            )
            return counts == {t: expected_counts(events) for t, events in days.items()}

        await until("every event is in ClickHouse", all_written)
        stop.set()
        stats = await asyncio.gather(*running)
        return [s.rows for s in stats]

    rows = asyncio.run(scenario())
    assert all(n > 0 for n in rows), rows  # both took part
    for tenant, events in days.items():
        assert tenant_counts(client, migrated, tenant) == expected_counts(events)
    assert duplicated_positions(client, migrated) == 0


class SinkProcess:
    """`cobranca sink` as a child process, SIGKILLable."""

    def __init__(self, settings: Settings, env: dict[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.ops.cli", "sink", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


async def committed_plans(bootstrap: str, group: str) -> int:
    offsets = await committed_offsets(bootstrap, group)
    return sum(1 for meta in offsets.values() if (meta.metadata or "").startswith(PLAN_PREFIX))


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path


def test_a_sink_killed_mid_batch_and_restarted_leaves_every_count_exact(
    kafka_bootstrap: str,
    client: Client,
    clickhouse_settings: Settings,
    migrated: str,
    log_dir: Path,
) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    events = traffic(tenant, 400)
    asyncio.run(produce(kafka_bootstrap, events))
    app_id = f"kill-{uuid.uuid4().hex[:6]}"
    env = {
        "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "CLICKHOUSE_URL": clickhouse_settings.clickhouse_url,
        "CLICKHOUSE_DATABASE": migrated,
        "COBRANCA_APP_ID": app_id,
        "COBRANCA_LOG_FORMAT": "json",
    }
    group = f"{app_id}-clickhouse-sink"
    sink = SinkProcess(clickhouse_settings, env, log_dir / "sink.log")
    expected = sum(expected_counts(events).values())
    kills = mid_batch_kills = 0
    while kills < 4:
        before = sum(tenant_counts(client, migrated, tenant).values())
        if before >= expected:
            break
        sink.start(*SINK_ARGS)
        deadline = time.monotonic() + 60
        while sum(tenant_counts(client, migrated, tenant).values()) == before:
            assert time.monotonic() < deadline, (log_dir / "sink.log").read_text()[-3000:]
            time.sleep(0.05)
        sink.kill()  # in the middle of its flushes: plan recorded, inserts under way
        kills += 1
        mid_batch_kills += asyncio.run(committed_plans(kafka_bootstrap, group)) > 0
    assert kills == 4, "the sink finished before it was killed four times"
    assert mid_batch_kills >= 1, "no kill landed between a plan and its commit"

    done = subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", "sink", "--drain", *SINK_ARGS],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fault_report(
        "sink_sigkill_mid_batch",
        [e.header.event_id for e in events],
        event_ids(client, migrated, tenant),
        kills=kills,
        mid_batch_kills=mid_batch_kills,
    )
    assert tenant_counts(client, migrated, tenant) == expected_counts(events)
    assert duplicated_positions(client, migrated) == 0

    # Every view holds exactly what a clean rebuild from the log holds.
    replayed = f"{migrated}_replay"
    result = asyncio.run(
        replay_into(Settings.from_env(env), client, replayed, partitions=partitions_of)
    )
    report = compare_databases(client, migrated, replayed, result.ends)
    assert report.equal, "\n".join(report.lines())
    assert all(item.compared for item in report.objects), "\n".join(report.lines())


def test_analysts_query_while_the_sink_writes(
    kafka_bootstrap: str, client: Client, clickhouse_settings: Settings, migrated: str
) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    events = traffic(tenant, 1500)
    asyncio.run(produce(kafka_bootstrap, events))
    queries = [
        f"SELECT count() FROM {migrated}.raw_sends_requested WHERE tenant_id = '{tenant}'",
        f"SELECT sum(requested) FROM {migrated}.delivery_funnel_live WHERE tenant_id = '{tenant}'",
        f"SELECT sum(debited) FROM {migrated}.billing_daily WHERE tenant_id = '{tenant}'",
        f"SELECT balance FROM {migrated}.tenant_balances WHERE tenant_id = '{tenant}'",
    ]
    seen: list[list[int]] = [[] for _ in queries]
    errors: list[Exception] = []
    writing = threading.Event()
    writing.set()

    def analyst(index: int) -> None:
        with connect(clickhouse_settings) as own:
            while writing.is_set():
                try:
                    rows = own.query(queries[index]).result_rows
                    seen[index].append(int(rows[0][0]) if rows and rows[0][0] is not None else 0)
                except Exception as exc:  # any failure is the test's to report
                    errors.append(exc)
                    return

    analysts = [threading.Thread(target=analyst, args=(i,)) for i in range(len(queries))]
    for thread in analysts:
        thread.start()
    try:
        drain(client, sink_config(kafka_bootstrap, migrated, max_rows=500, max_wait_s=0.2))
    finally:
        writing.clear()
        for thread in analysts:
            thread.join(30)
    assert not errors, errors
    requests = expected_counts(events)["raw_sends_requested"]
    assert seen[0] == sorted(seen[0]), "raw counts only grow while the sink writes"
    assert len(set(seen[0])) > 2, f"the queries did not overlap the writes: {seen[0]}"
    assert seen[0][-1] <= requests
    assert tenant_counts(client, migrated, tenant)["raw_sends_requested"] == requests


def test_replay_into_a_fresh_database_equals_the_live_one(
    kafka_bootstrap: str, client: Client, clickhouse_settings: Settings, migrated: str
) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    asyncio.run(produce(kafka_bootstrap, traffic(tenant, 200)))
    drain(client, sink_config(kafka_bootstrap, migrated, max_rows=1000, max_wait_s=0.2))
    settings = Settings.from_env(
        {
            "COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap,
            "CLICKHOUSE_URL": clickhouse_settings.clickhouse_url,
            "CLICKHOUSE_DATABASE": migrated,
        }
    )
    replayed = f"{migrated}_replay"
    progress: list[tuple[int, int]] = []
    result = asyncio.run(
        replay_into(
            settings,
            client,
            replayed,
            partitions=partitions_of,
            max_rows=333,
            on_progress=lambda d, t: progress.append((d, t)),
        )
    )
    assert progress[-1][0] == progress[-1][1] > 0
    report = compare_databases(client, migrated, replayed, result.ends)
    assert report.equal, "\n".join(report.lines())
    assert len(report.objects) == len(RAW_TABLES) + 10

    # A database that differs is reported, object by object.
    client.command(f"ALTER TABLE {replayed}.raw_ledger DELETE WHERE 1 SETTINGS mutations_sync = 2")
    broken = compare_databases(client, migrated, replayed, result.ends)
    assert not broken.equal
    different = {item.name for item in broken.objects if not item.equal}
    assert "raw_ledger" in different
    assert json.dumps(broken.lines())  # printable


def test_replay_refuses_the_live_or_an_existing_database(
    kafka_bootstrap: str, client: Client, clickhouse_settings: Settings, migrated: str
) -> None:
    from connectors.clickhouse import ReplayError

    settings = Settings.from_env(
        {"CLICKHOUSE_URL": clickhouse_settings.clickhouse_url, "CLICKHOUSE_DATABASE": migrated}
    )
    with pytest.raises(ReplayError, match="is the live database"):
        asyncio.run(replay_into(settings, client, migrated, partitions=partitions_of))
    apply_migrations(client, f"{migrated}_x")
    with pytest.raises(ReplayError, match="already exists"):
        asyncio.run(replay_into(settings, client, f"{migrated}_x", partitions=partitions_of))


def test_a_drain_reports_records_read_of_the_backlog(
    kafka_bootstrap: str, client: Client, migrated: str
) -> None:
    tenant = f"t{uuid.uuid4().hex[:6]}"
    asyncio.run(produce(kafka_bootstrap, traffic(tenant, 40)))
    reports: list[tuple[int, int | None]] = []
    sink = ClickHouseSink(
        sink_config(kafka_bootstrap, migrated, max_rows=50, max_wait_s=0.2),
        client,
        RawTableWriter(DEV_PSEUDONYM_KEY),
    )
    stats = asyncio.run(
        sink.run(drain=True, on_progress=lambda read, total: reports.append((read, total)))
    )
    read = [r for r, _ in reports]
    assert read == sorted(read) and read[-1] == stats.records > 0
    # Caught up: the last report's total is what was read, nothing waits.
    assert reports[-1] == (stats.records, stats.records)
    assert all(total is None or total >= done for done, total in reports)
