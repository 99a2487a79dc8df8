"""`cobranca demo`: the product's main job on the local default stack, start to finish.

Starts the local broker and ClickHouse, creates the topics, migrates ClickHouse, applies the demo
tenant's configuration (infra/tenants/acme-cobrancas.yaml), credits its tokens, imports its
debtors, runs the worker until the régua has scheduled every debtor (sending or deferring the
steps already due), sinks the audit log into ClickHouse and shows the views. Each run is a new
import, so the views grow run after run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from schemas.events import ClientImported, CreditRequested, DocumentKind, Event, new_header
from streams.logs import mask
from streams.settings import Settings, cache_home
from streams.topics import REGUA_SCHEDULES, SEND_REQUESTS

TENANT = "acme-cobrancas"
TENANT_FILE = Path(__file__).resolve().parents[1] / "infra" / "tenants" / f"{TENANT}.yaml"
SOURCE = "streams.demo"
# Real-looking debtors: names, DDDs from several states, valid CPF check digits.
DEBTORS = (
    ("Maria Aparecida Souza", "11", "SP", "52998224725"),
    ("João Pedro Oliveira", "21", "RJ", "11144477735"),
    ("Ana Beatriz Lima", "31", "MG", "12345678909"),
    ("Carlos Eduardo Santos", "71", "BA", "98765432100"),
    ("Francisca Ferreira", "85", "CE", "39053344705"),
    ("Luiz Henrique Costa", "41", "PR", "52998224725"),
    ("Patrícia Gomes", "51", "RS", "11144477735"),
    ("Antônio Carlos Ribeiro", "61", "DF", "12345678909"),
)


def demo_clients(import_id: str, count: int, today: date) -> list[ClientImported]:
    clients = []
    for n in range(count):
        name, ddd, uf, cpf = DEBTORS[n % len(DEBTORS)]
        clients.append(
            ClientImported(
                header=new_header(
                    "ClientImported",
                    tenant_id=TENANT,
                    correlation_id=import_id,
                    causation_id=None,
                    source=SOURCE,
                ),
                import_id=import_id,
                row=n + 1,
                client_id=f"cli-{n + 1:04d}",
                name=name,
                phone_e164=f"+55{ddd}9{87650000 + n:08d}",
                document=cpf,
                document_kind=DocumentKind.CPF,
                amount_centavos=15_000 + 7_919 * n,
                due_date=today + timedelta(days=3 - n % 10),
                invoice_id=f"NF-{2026_0000 + n}",
                uf=uf,
                pix_code=f"00020126580014br.gov.bcb.pix0136{uuid.uuid4()}",
            )
        )
    return clients


def run_demo(settings: Settings, *, count: int = 24, console: Console | None = None) -> None:
    from connectors.clickhouse import apply_migrations, connect
    from infra.kafka.broker import LocalBroker
    from streams.topic_admin import create_topics

    console = console or Console()
    import_id = f"demo-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"

    with console.status("starting the local Kafka broker"):
        broker = LocalBroker.for_bootstrap(
            settings.kafka_bootstrap, cache=cache_home(), home=settings.data_dir / "kafka"
        )
        status = broker.start()
    console.print(f"[green]✓[/] Kafka {status.bootstrap} (logs: {status.log_file})")
    created = asyncio.run(create_topics(settings.kafka_bootstrap, settings.topic_partitions))
    console.print(f"[green]✓[/] topics ready ({len(created)} created now)")
    local = _local_clickhouse(settings)
    if local is not None:
        with console.status("starting the local ClickHouse"):
            served = local.start()
        console.print(f"[green]✓[/] ClickHouse {served.url} (chDB at {served.data_path})")
    client = connect(settings)
    try:
        applied = apply_migrations(client, settings.clickhouse_database)
        console.print(
            f"[green]✓[/] ClickHouse {settings.clickhouse_database} migrated ({len(applied)} new)"
        )

        from streams.tenant_config import load_tenant_file
        from streams.tenants import apply_config

        config = load_tenant_file(TENANT_FILE)
        asyncio.run(apply_config(settings.kafka_bootstrap, config))
        console.print(
            f"[green]✓[/] tenant {TENANT} configured from {TENANT_FILE.name} "
            f"(régua {', '.join(step.label for step in config.steps)})"
        )

        clients = demo_clients(import_id, count, datetime.now(UTC).date())
        asyncio.run(_produce(settings, [(_credit(import_id, count), TENANT)]))
        asyncio.run(_produce(settings, [(c, f"{TENANT}:{c.client_id}") for c in clients]))
        console.print(
            f"[green]✓[/] credited {count} tokens and imported {count} debtors of {TENANT} "
            f"(import {import_id})"
        )

        _run_worker_until(settings, import_id, count, console)
        requests = asyncio.run(_for_import(settings, SEND_REQUESTS.name, import_id))
        sent = [r for r in requests if r["header"]["event_type"] == "SendRequested"]
        console.print(
            f"[green]✓[/] the régua scheduled {count} debtors: {len(sent)} reminders requested "
            f"now, {len(requests) - len(sent)} deferred to the next contact window, the other "
            "steps wait for their day"
        )
        _show_requests(console, requests)

        with console.status("sinking the audit log into ClickHouse"):
            sunk = asyncio.run(_sink(settings, client))
        console.print(
            f"[green]✓[/] {sunk} new events in the raw tables of {settings.clickhouse_database}"
        )
        _show_views(console, client, settings.clickhouse_database)
    finally:
        client.close()
    console.print(
        "\nThe broker and ClickHouse keep running (`cobranca broker stop`, `cobranca db stop`); "
        f"data lives in {settings.data_dir}."
    )


def _credit(import_id: str, amount: int) -> CreditRequested:
    return CreditRequested(
        header=new_header(
            "CreditRequested",
            tenant_id=TENANT,
            correlation_id=import_id,
            causation_id=None,
            source=SOURCE,
        ),
        credit_id=f"{import_id}-credit",
        amount=amount,
        reference="demo",
    )


def _local_clickhouse(settings: Settings) -> Any:
    """The local server to start, or None when CLICKHOUSE_URL names a server already answering
    or one that is not on loopback."""
    from connectors.clickhouse import LocalServerError
    from connectors.clickhouse.server import LocalClickHouse

    try:
        local = LocalClickHouse.from_settings(settings)
    except LocalServerError:
        return None
    return None if local.pid() is None and local.answers() else local


async def _sink(settings: Settings, client: Any) -> int:
    """What `cobranca sink --drain` does: every committed event into the raw tables, once."""
    from connectors.clickhouse.cli import sink_group
    from connectors.clickhouse.privacy import Pseudonymizer, pseudonym_key
    from connectors.clickhouse.raw_tables import RowEncoder
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig

    sink = ClickHouseSink(
        SinkConfig(
            bootstrap=settings.kafka_bootstrap,
            database=settings.clickhouse_database,
            group_id=sink_group(settings),
        ),
        client,
        RowEncoder(Pseudonymizer(pseudonym_key())),
    )
    stats = await sink.run(drain=True)
    return stats.rows


async def _produce(settings: Settings, events: list[tuple[Event, str]]) -> None:
    from streams.producer import EventProducer

    async with EventProducer(settings.kafka_bootstrap) as producer:
        await producer.send_many(events)


def _run_worker_until(settings: Settings, import_id: str, count: int, console: Console) -> None:
    log_file = settings.data_dir / "logs" / "worker.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COBRANCA_LOG_FORMAT": "json"}
    with log_file.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 120
        with console.status(f"worker running (logs: {log_file})") as status:
            while time.monotonic() < deadline:
                if worker.poll() is not None:
                    raise RuntimeError(
                        f"the worker exited with {worker.returncode}; see {log_file}"
                    )
                found = asyncio.run(_for_import(settings, REGUA_SCHEDULES.name, import_id))
                scheduled = len({event["client_id"] for event in found})
                status.update(f"worker running: {scheduled}/{count} debtors scheduled")
                if scheduled >= count:
                    return
                time.sleep(0.5)
        raise RuntimeError(f"the worker did not schedule {count} debtors in 120 s; see {log_file}")
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()


async def _for_import(settings: Settings, topic: str, import_id: str) -> list[dict[str, Any]]:
    """Every committed event on `topic` that belongs to the import."""
    from aiokafka import AIOKafkaConsumer

    from schemas.codec import decode

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found = []
    try:
        while batch := await consumer.getmany(timeout_ms=300):
            for messages in batch.values():
                for m in messages:
                    event = decode(m.value)
                    if event["header"]["correlation_id"] == import_id:
                        found.append(event)
    finally:
        await consumer.stop()
    return found


def _show_requests(console: Console, requests: list[dict[str, Any]]) -> None:
    table = Table(
        "request",
        "event",
        "step",
        "phone",
        "message (pt-BR) or until",
        title="the régua's sends (first 5)",
    )
    for event in requests[:5]:
        if event["header"]["event_type"] == "SendRequested":
            table.add_row(
                event["request_id"][:8],
                "SendRequested",
                event["step"],
                mask(event["phone_e164"]),
                event["text"],
            )
        else:
            until = event["until"].astimezone(ZoneInfo("America/Sao_Paulo"))
            table.add_row(
                event["request_id"][:8],
                "SendDeferred",
                "",
                "",
                f"{until:%d/%m/%Y %H:%M} (São Paulo)",
            )
    console.print(table)


def _show_views(console: Console, client: Any, database: str) -> None:
    result = client.query(
        f"SELECT day, event_type, sum(events) AS events FROM {database}.events_per_tenant_day "
        "WHERE tenant_id = {tenant:String} GROUP BY day, event_type ORDER BY day, event_type",
        parameters={"tenant": TENANT},
    )
    table = Table(
        "day (America/Sao_Paulo)", "event type", "events", title=f"events_per_tenant_day — {TENANT}"
    )
    for day, event_type, events in result.result_rows:
        table.add_row(str(day), event_type, str(events))
    console.print(table)
