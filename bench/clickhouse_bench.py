"""ClickHouse figures: the sink, a replay of the log, and the view queries analysts run.

Run on demand (not a test):

    ~/.cache/cobranca/venv/bin/python bench/clickhouse_bench.py            # full sizes
    ~/.cache/cobranca/venv/bin/python bench/clickhouse_bench.py --events 50000 --query-rows 500000

It starts, in a temporary directory, a Kafka broker (infra/kafka) and the local ClickHouse
(`cobranca db serve`: chDB over HTTP), both on free loopback ports, produces `--events` events of
a realistic mix (a send's whole life: request, approval and debit, dispatch, acks, replies,
intents, promises, hand-offs) into the audit topics, and measures:

- ``encode``: records → frames in Python (the sink's only per-record work; ClickHouse decodes the
  Avro, computes pseudonyms and payloads inside the insert), rows/s;
- ``insert``: those rows inserted in 50,000-row batches into the raw tables with every view
  attached, beside a bare INSERT of the same batches into copies of the raw tables without
  views, in the same run; rows/s each and the ratio (what the views cost an insert);
- ``sink``: the sink end to end (consumer group, read_committed, plan/insert/commit) draining all
  events from Kafka into a fresh database with views, rows/s;
- ``replay``: `replay_into` of the same log into another fresh database (migrations, reading,
  inserting, refreshing the views), seconds and events/s;
- ``queries``: `--query-rows` raw rows generated inside ClickHouse (INSERT ... SELECT, so every
  view is fed as by the sink), then the README's billing and funnel queries (median of 5 runs)
  beside the same answers computed from the raw tables (the baseline the views replace).

Goals (issue 6): >= 200,000 rows/s sunk, a replay of 1,000,000 events under 60 s, each view query
under 200 ms over 10,000,000 rows. Both servers are stopped by PID at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import cpu_seconds  # noqa: E402
from streams.base.ports import free_port  # noqa: E402

TENANTS = tuple(f"tenant-{n:02d}" for n in range(10))
STEPS = ("D-3", "D0", "D+3", "D+7")
T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


# --- the log -----------------------------------------------------------------------------------


def _header(event_type: str, tenant: str, correlation: str, at: datetime, n: int) -> dict[str, Any]:
    return {
        "event_id": str(uuid.UUID(int=n)),
        "event_type": event_type,
        "schema_version": 1,
        "tenant_id": tenant,
        "occurred_at": at,
        "correlation_id": correlation,
        "causation_id": None,
        "source": "bench",
    }


def stories(events: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """(key, event dict) for about `events` events: whole sends, a few minutes apart."""
    made = 0
    for tenant in TENANTS:
        yield (
            tenant,
            {
                "header": _header("TokensCredited", tenant, "credit", T0, made),
                "amount": 10_000_000,
                "balance_after": 10_000_000,
                "reference": "bench",
            },
        )
        made += 1
    n = 0
    while made < events:
        tenant = TENANTS[n % len(TENANTS)]
        at = T0 + timedelta(seconds=7 * n)
        request = f"r{n}"
        phone = f"+55{11 + n % 80}9{n % 100_000_000:08d}"
        chat = f"{phone[1:]}@c.us"
        message = f"true_{chat}_{request}"
        kind = "FILE" if n % 9 == 0 else "TEXT"
        story: list[tuple[str, dict[str, Any]]] = [
            (
                "SendRequested",
                {
                    "request_id": request,
                    "client_id": f"c{n % 50_000}",
                    "phone_e164": phone,
                    "kind": kind,
                    "text": "Olá, sua fatura vence em breve.",
                    "recipients": 1,
                    "step": STEPS[n % len(STEPS)],
                },
            )
        ]
        if n % 10 == 9:
            story.append(("SendRejected", {"request_id": request, "reason": "insufficient_tokens"}))
        else:
            price = 2 if kind == "FILE" else 1
            story += [
                ("TokensDebited", {"request_id": request, "amount": price, "balance_after": 9_000}),
                (
                    "SendApproved",
                    {
                        "request_id": request,
                        "client_id": f"c{n % 50_000}",
                        "phone_e164": phone,
                        "kind": kind,
                        "price_tokens": price,
                        "balance_after": 9_000,
                    },
                ),
                (
                    "MessageDispatched",
                    {
                        "request_id": request,
                        "session": "default",
                        "chat_id": chat,
                        "waha_message_id": message,
                        "attempt": 1,
                    },
                ),
            ]
            for ack, name, share in ((2, "DEVICE", 85), (3, "READ", 60)):
                if n % 100 < share:
                    story.append(
                        (
                            "DeliveryStatusChanged",
                            {
                                "session": "default",
                                "waha_message_id": message,
                                "chat_id": chat,
                                "ack": ack,
                                "ack_name": name,
                                "request_id": request,
                            },
                        )
                    )
            if n % 4 == 0:
                reply = f"false_{chat}_{n}"
                story += [
                    (
                        "InboundMessage",
                        {
                            "session": "default",
                            "waha_message_id": reply,
                            "chat_id": chat,
                            "sender": chat,
                            "is_group": False,
                            "from_me": False,
                            "has_media": False,
                            "timestamp": at + timedelta(minutes=9),
                            "body": "vou pagar na sexta",
                            "request_id": request,
                        },
                    ),
                    (
                        "IntentClassified",
                        {
                            "waha_message_id": reply,
                            "chat_id": chat,
                            "label": "promise_to_pay" if n % 8 == 0 else "other",
                            "confidence": 0.5 + (n % 50) / 100,
                            "model_version": "bench",
                            "client_id": f"c{n % 50_000}",
                        },
                    ),
                ]
                if n % 8 == 0:
                    story.append(
                        (
                            "PaymentPromised",
                            {
                                "client_id": f"c{n % 50_000}",
                                "waha_message_id": reply,
                                "amount_centavos": 15_000,
                            },
                        )
                    )
                if n % 36 == 0:
                    story.append(
                        (
                            "HandoffRequested",
                            {"chat_id": chat, "reason": "dispute", "client_id": f"c{n % 50_000}"},
                        )
                    )
        for step, (event_type, fields) in enumerate(story):
            if made >= events:
                return
            header = _header(event_type, tenant, request, at + timedelta(minutes=step), made)
            yield f"{tenant}:{request}", {"header": header, **fields}
            made += 1
        n += 1


async def produce(bootstrap: str, events: int) -> float:
    from aiokafka import AIOKafkaProducer

    from schemas.codec import encode
    from streams.base.topics import topic_for_event

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks=1, linger_ms=20)
    await producer.start()
    began = time.perf_counter()
    try:
        pending = []
        for key, event in stories(events):
            topic = topic_for_event(event["header"]["event_type"]).name
            pending.append(await producer.send(topic, encode(event), key=key.encode()))
            if len(pending) >= 5_000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - began


# --- phases ------------------------------------------------------------------------------------


def read_rows(bootstrap: str, limit: int) -> tuple[list[Any], float, int]:
    """Up to `limit` records of every audit topic, encoded as the sink does; and the time."""
    from connectors.clickhouse.batches import PartitionBuffer
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import AUDIT_TOPICS, RawTableWriter
    from streams.runtime.log_reader import read_topic

    records = []
    for topic in AUDIT_TOPICS:
        records += [(topic, r) for r in asyncio.run(read_topic(bootstrap, topic))]
    records = records[:limit]
    writer = RawTableWriter(DEV_PSEUDONYM_KEY)
    buffers: dict[tuple[str, int], PartitionBuffer] = {}
    began = time.perf_counter()
    for topic, record in records:
        key = (topic, record.partition)
        if key not in buffers:
            buffers[key] = PartitionBuffer(topic, record.partition, record.offset, 50_000)
        buffers[key].add(record.offset, writer.frame(record.offset, record.value), 0.0)
    seconds = time.perf_counter() - began
    batches = []
    for buffer in buffers.values():
        buffer.cut(buffer.seen_end)
        batches += buffer.take(0.0, float("inf"))
    return batches, seconds, len(records)


def timed(fn: Callable[[], Any]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def insert_phase(client: Any, batches: list[Any]) -> dict[str, float]:
    from connectors.clickhouse import apply_migrations
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import RAW_TABLES, RawTableWriter

    writer = RawTableWriter(DEV_PSEUDONYM_KEY)

    apply_migrations(client, "bench_views")
    client.command("CREATE DATABASE IF NOT EXISTS bench_bare")
    for table in [*RAW_TABLES.values(), "avro_schemas"]:
        client.command(f"CREATE TABLE IF NOT EXISTS bench_bare.{table} AS bench_views.{table}")
    rows = sum(len(b.rows) for b in batches)
    # Alternate bare and views per batch, so both see the same load on the machine.
    bare = views = 0.0
    for batch in batches:
        bare += timed(partial(writer.insert, client, "bench_bare", batch))
        views += timed(partial(writer.insert, client, "bench_views", batch))
    return {"rows": rows, "bare_rows_per_s": rows / bare, "views_rows_per_s": rows / views}


def cpu_split(pids: dict[str, int | None], fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    """`fn()`'s result and the CPU seconds each process used meanwhile."""
    before = {name: cpu_seconds(pid) or 0.0 for name, pid in pids.items()}
    result = fn()
    return result, {name: (cpu_seconds(pid) or 0.0) - before[name] for name, pid in pids.items()}


def _cpu_text(cpu: dict[str, float]) -> str:
    return ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())


def sink_phase(settings: Any, client: Any) -> dict[str, float]:
    from connectors.clickhouse import apply_migrations
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import RawTableWriter
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig

    apply_migrations(client, "bench_sink")
    sink = ClickHouseSink(
        SinkConfig(settings.kafka_bootstrap, "bench_sink", f"bench-{uuid.uuid4().hex[:6]}"),
        client,
        RawTableWriter(DEV_PSEUDONYM_KEY),
    )
    began = time.perf_counter()
    stats = asyncio.run(sink.run(drain=True))
    seconds = time.perf_counter() - began
    return {
        "rows": stats.rows,
        "seconds": seconds,
        "rows_per_s": stats.rows / seconds,
        "batches": stats.batches,
    }


def replay_phase(settings: Any, client: Any) -> dict[str, float]:
    from connectors.clickhouse.replay import replay_into
    from streams.runtime.log_reader import partitions_of

    result = asyncio.run(replay_into(settings, client, "bench_replay", partitions=partitions_of))
    return {
        "events": result.rows,
        "seconds": result.seconds,
        "events_per_s": result.rows / result.seconds,
    }


GENERATE_SQL = [
    # Each send of `sends`: its request, decision, debit, dispatch, acks and some replies, spread
    # over 10 tenants and about 120 days.
    """INSERT INTO {db}.raw_sends_requested (kafka_partition, kafka_offset, schema_id, event_id,
       event_type, schema_version, tenant_id, occurred_at, correlation_id, source, request_id,
       client_id, phone_e164, kind, recipients, step, payload)
       SELECT number % 6, number, 1, toString(number), 'SendRequested', 1,
              concat('tenant-', toString(number % 10)), {t0} + number,
              concat('r', toString(number)),
              'bench', concat('r', toString(number)), concat('c', toString(number % 50000)),
              concat('p:', hex(cityHash64(number % 400000))), if(number % 9 = 0, 'FILE', 'TEXT'), 1,
              ['D-3', 'D0', 'D+3', 'D+7'][number % 4 + 1], '{{"request_id":"r"}}'
       FROM numbers({sends})""",
    """INSERT INTO {db}.raw_sends_decided (kafka_partition, kafka_offset, schema_id, event_id,
       event_type, schema_version, tenant_id, occurred_at, correlation_id, source, request_id,
       kind, price_tokens, balance_after, reason, payload)
       SELECT number % 6, number, 1, toString(number),
              if(number % 10 = 9, 'SendRejected', 'SendApproved'), 1,
              concat('tenant-', toString(number % 10)), {t0} + number + 60,
              concat('r', toString(number)), 'bench', concat('r', toString(number)),
              if(number % 9 = 0, 'FILE', 'TEXT'), if(number % 9 = 0, 2, 1), 9000,
              if(number % 10 = 9, 'insufficient_tokens', NULL), '{{}}'
       FROM numbers({sends})""",
    """INSERT INTO {db}.raw_ledger (kafka_partition, kafka_offset, schema_id, event_id,
       event_type, schema_version, tenant_id, occurred_at, correlation_id, source, request_id,
       amount, balance_after, payload)
       SELECT number % 6, number, 1, toString(number), 'TokensDebited', 1,
              concat('tenant-', toString(number % 10)), {t0} + number + 60,
              concat('r', toString(number)), 'bench', concat('r', toString(number)),
              if(number % 9 = 0, 2, 1), 10000000 - intDiv(number, 10), '{{}}'
       FROM numbers({sends}) WHERE number % 10 != 9""",
    """INSERT INTO {db}.raw_dispatches (kafka_partition, kafka_offset, schema_id, event_id,
       event_type, schema_version, tenant_id, occurred_at, correlation_id, source, request_id,
       session, chat_id, waha_message_id, attempt, payload)
       SELECT number % 6, number, 1, toString(number), 'MessageDispatched', 1,
              concat('tenant-', toString(number % 10)), {t0} + number + 120,
              concat('r', toString(number)), 'bench', concat('r', toString(number)), 'default',
              concat('p:', hex(cityHash64(number % 400000))), concat('m', toString(number)), 1,
              '{{}}'
       FROM numbers({sends}) WHERE number % 10 != 9""",
    """INSERT INTO {db}.raw_conversations (kafka_partition, kafka_offset, schema_id, event_id,
       event_type, schema_version, tenant_id, occurred_at, correlation_id, source, session,
       waha_message_id, chat_id, request_id, ack, ack_name, payload)
       SELECT number % 6, number, 1, toString(number), 'DeliveryStatusChanged', 1,
              concat('tenant-', toString(intDiv(number, 2) % 10)),
              {t0} + intDiv(number, 2) + 180 + 120 * (number % 2),
              concat('r', toString(intDiv(number, 2))), 'bench', 'default',
              concat('m', toString(intDiv(number, 2))), 'p:x',
              concat('r', toString(intDiv(number, 2))),
              2 + number % 2, if(number % 2 = 0, 'DEVICE', 'READ'), '{{}}'
       FROM numbers(2 * {sends}) WHERE intDiv(number, 2) % 10 != 9""",
    """INSERT INTO {db}.raw_conversations (kafka_partition, kafka_offset, schema_id, event_id,
       event_type, schema_version, tenant_id, occurred_at, correlation_id, source, session,
       waha_message_id, chat_id, sender, is_group, from_me, has_media, request_id, payload)
       SELECT number % 6, 1000000000 + number, 1, toString(number), 'InboundMessage', 1,
              concat('tenant-', toString(number % 10)), {t0} + number + 600,
              concat('r', toString(number)), 'bench', 'default', concat('in', toString(number)),
              'p:x', 'p:x', false, false, false, concat('r', toString(number)), '{{}}'
       FROM numbers({sends}) WHERE number % 4 = 0 AND number % 10 != 9""",
]


def query_phase(client: Any, rows: int) -> dict[str, Any]:
    from connectors.clickhouse import apply_migrations
    from connectors.clickhouse.replay import refresh_views

    db = "bench_queries"
    apply_migrations(client, db)
    sends = max(rows * 100 // 515, 1)  # 1 + 1 + 0.9 + 0.9 + 1.8 + 0.225 rows per send
    t0 = "toDateTime64('2026-07-01 12:00:00', 3, 'UTC')"
    began = time.perf_counter()
    for sql in GENERATE_SQL:
        client.command(sql.format(db=db, sends=sends, t0=t0), settings={"max_insert_threads": 2})
    refresh_views(client, db)
    generated = time.perf_counter() - began
    total = sum(
        int(client.query(f"SELECT count() FROM {db}.{t}").result_rows[0][0])
        for t in (
            "raw_sends_requested",
            "raw_sends_decided",
            "raw_ledger",
            "raw_dispatches",
            "raw_conversations",
        )
    )
    tenant = "tenant-3"
    pairs = {
        "billing per day": (
            f"SELECT day, sum(credited), sum(debited), sum(refunded) FROM {db}.billing_daily "
            f"WHERE tenant_id = '{tenant}' GROUP BY day ORDER BY day",
            f"SELECT toDate(occurred_at, 'America/Sao_Paulo') AS day, "
            f"sumIf(amount, event_type = 'TokensCredited'), "
            f"sumIf(amount, event_type = 'TokensDebited'), "
            f"sumIf(amount, event_type = 'TokensRefunded') FROM {db}.raw_ledger "
            f"WHERE tenant_id = '{tenant}' GROUP BY day ORDER BY day",
        ),
        "billing per month, all tenants": (
            f"SELECT tenant_id, toStartOfMonth(day) AS month, sum(debited) FROM {db}.billing_daily "
            "GROUP BY tenant_id, month ORDER BY tenant_id, month",
            f"SELECT tenant_id, toStartOfMonth(toDate(occurred_at, 'America/Sao_Paulo')) AS month, "
            f"sumIf(amount, event_type = 'TokensDebited') FROM {db}.raw_ledger "
            "GROUP BY tenant_id, month ORDER BY tenant_id, month",
        ),
        "sends by kind": (
            f"SELECT kind, sum(sends), sum(tokens) FROM {db}.billing_sends_daily "
            f"WHERE tenant_id = '{tenant}' GROUP BY kind",
            f"SELECT kind, count(), sum(price_tokens) FROM {db}.raw_sends_decided "
            f"WHERE tenant_id = '{tenant}' AND event_type = 'SendApproved' GROUP BY kind",
        ),
        "current balance": (
            f"SELECT tenant_id, balance FROM {db}.tenant_balances ORDER BY tenant_id",
            f"SELECT tenant_id, argMax(balance_after, kafka_offset) FROM {db}.raw_ledger "
            "WHERE balance_after IS NOT NULL GROUP BY tenant_id ORDER BY tenant_id",
        ),
        "delivery funnel": (
            "SELECT day, step, requested, approved, rejected, dispatched, delivered, read, "
            f"replied "
            f"FROM {db}.delivery_funnel WHERE tenant_id = '{tenant}' ORDER BY day, step",
            "SELECT day, step, requested, approved, rejected, dispatched, delivered, read, "
            f"replied "
            f"FROM {db}.delivery_funnel_live WHERE tenant_id = '{tenant}' ORDER BY day, step",
        ),
    }
    results = {}
    for name, (view_sql, baseline_sql) in pairs.items():
        view = _median_ms(client, view_sql)
        baseline = _median_ms(client, baseline_sql)
        results[name] = {"view_ms": view, "baseline_ms": baseline, "speedup": baseline / view}
    return {"raw_rows": total, "generate_seconds": generated, "queries": results}


def _median_ms(client: Any, sql: str, runs: int = 5) -> float:
    client.query(sql)  # warm: the first read pays for marks and caches
    return statistics.median(timed(lambda: client.query(sql)) for _ in range(runs)) * 1000


# --- orchestration -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log")
    parser.add_argument("--insert-rows", type=int, default=500_000, help="rows for `insert`")
    parser.add_argument("--query-rows", type=int, default=10_000_000)
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--phases", default="encode,insert,sink,replay,queries")
    args = parser.parse_args()
    phases = set(args.phases.split(","))

    from connectors.clickhouse import connect
    from connectors.clickhouse.server import LocalClickHouse
    from infra.kafka.broker import LocalBroker
    from streams.base.settings import Settings, cache_home
    from streams.ops.clickhouse_cli import DB_SERVE
    from streams.runtime.topic_admin import create_topics

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="clickhouse-bench-") as tmp:
        work = Path(tmp)
        broker = LocalBroker.on_free_ports(cache=cache_home(), home=work / "kafka")
        settings = Settings.from_env(
            {
                "COBRANCA_DATA_DIR": str(work),
                "COBRANCA_KAFKA_BOOTSTRAP": broker.bootstrap,
                "CLICKHOUSE_URL": f"http://127.0.0.1:{free_port()}",
                "CLICKHOUSE_DATABASE": "bench_sink",
            }
        )
        server = LocalClickHouse.from_settings(settings)
        try:
            broker.start(timeout=120)
            served = server.start(DB_SERVE, timeout=120)
            pids = {"clickhouse": served.pid, "broker": broker.pid(), "python": os.getpid()}
            print(
                f"broker {broker.bootstrap} (pid {broker.pid()}), ClickHouse {served.url} "
                f"(pid {served.pid}); {os.cpu_count()} cores, load average "
                f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}"
            )
            client = connect(settings)
            if phases & {"encode", "insert", "sink", "replay"}:
                asyncio.run(create_topics(broker.bootstrap, args.partitions))
                seconds = asyncio.run(produce(broker.bootstrap, args.events))
                print(f"produced {args.events:,} events in {seconds:.1f}s")
            if phases & {"encode", "insert"}:
                batches, seconds, records = read_rows(broker.bootstrap, args.insert_rows)
                rows = sum(len(b.rows) for b in batches)
                results["encode"] = {"rows": rows, "rows_per_s": records / seconds}
                print(
                    f"  encode: {rows:,} rows in {seconds:.2f}s = {records / seconds:,.0f} rows/s "
                    "(framing in Python; ClickHouse decodes)"
                )
                if "insert" in phases:
                    r = insert_phase(client, batches)
                    results["insert"] = r
                    print(
                        f"  insert: bare {r['bare_rows_per_s']:,.0f} rows/s, with views "
                        f"{r['views_rows_per_s']:,.0f} rows/s, views/bare = "
                        f"{r['views_rows_per_s'] / r['bare_rows_per_s']:.2f} ({r['rows']:,} rows)"
                    )
            if "sink" in phases:
                r, cpu = cpu_split(pids, partial(sink_phase, settings, client))
                results["sink"] = {**r, "cpu_seconds": cpu}
                print(
                    f"    sink: {r['rows']:,} rows in {r['seconds']:.1f}s = "
                    f"{r['rows_per_s']:,.0f} rows/s end to end (Kafka -> raw tables + views), "
                    f"{r['batches']:,} batches"
                )
                if "insert" in results:
                    bare = results["insert"]["bare_rows_per_s"]
                    print(
                        f"          sink / bare INSERT of the same rows = "
                        f"{r['rows_per_s'] / bare:.2f} (bare {bare:,.0f} rows/s, same run)"
                    )
                print(f"          CPU seconds: {_cpu_text(cpu)}")
            if "replay" in phases:
                r, cpu = cpu_split(pids, partial(replay_phase, settings, client))
                results["replay"] = {**r, "cpu_seconds": cpu}
                print(
                    f"  replay: {r['events']:,} events in {r['seconds']:.1f}s = "
                    f"{r['events_per_s']:,.0f} events/s (goal: 1,000,000 under 60 s)"
                )
                print(f"          CPU seconds: {_cpu_text(cpu)}")
            if "queries" in phases:
                q_results = query_phase(client, args.query_rows)
                results["queries"] = q_results
                print(
                    f" queries: {q_results['raw_rows']:,} raw rows generated with views in "
                    f"{q_results['generate_seconds']:.1f}s"
                )
                for name, q in q_results["queries"].items():
                    print(
                        f"          {name:32} view {q['view_ms']:7.1f} ms   from raw tables "
                        f"{q['baseline_ms']:8.1f} ms   x{q['speedup']:.1f}"
                    )
            client.close()
            results["load_average_at_end"] = os.getloadavg()
            print(f"load average at the end {'/'.join(f'{x:.1f}' for x in os.getloadavg())}")
        finally:
            server.stop()
            broker.stop()
            print("ClickHouse and broker stopped")
    print(json.dumps({"run": uuid.uuid4().hex[:8], "args": vars(args), "results": results}))


if __name__ == "__main__":
    main()
