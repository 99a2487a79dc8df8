"""The ClickHouse commands: `cobranca db ...`, `cobranca sink`, `cobranca replay`, `cobranca trace`.

The operator's side of `connectors/clickhouse/`: the connector holds the server, the sink, the
replay and the trace; this module reads the settings, wires the connector to the runtime where it
needs it (the replay's partition lookup, the command `db start` runs in the background) and
prints. Registered on the main group in `streams/ops/cli.py`. Only click and the settings are
imported at import time, so `cobranca --help` stays fast; each command imports what it runs.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Final

import click

from streams.base.cli_output import Advance, echo_json, json_option, json_value, progress
from streams.base.settings import Settings
from streams.ops.cli_errors import friendly_errors

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

__all__ = ["DB_SERVE", "db", "replay_command", "sink_command", "sink_group", "trace_command"]

DB_SERVE: Final = (sys.executable, "-m", "streams.ops.cli", "db", "serve")
"""`cobranca db serve` as `LocalClickHouse.start` runs it in the background: with this
interpreter, so it serves from the same environment whatever PATH says."""


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj if isinstance(ctx.obj, Settings) else Settings.from_env()


@contextmanager
def _client(settings: Settings) -> Iterator[Client]:
    from connectors.clickhouse import connect

    client = connect(settings)
    try:
        yield client
    finally:
        client.close()


# -- db ------------------------------------------------------------------------------------------


@click.group()
def db() -> None:
    """ClickHouse: the local server (chDB over HTTP), migrations, ad-hoc queries."""


@db.command("serve")
@click.pass_context
@friendly_errors
def db_serve(ctx: click.Context) -> None:
    """Serve ClickHouse's HTTP interface on 127.0.0.1 from chDB, until SIGTERM or Ctrl-C."""
    from connectors.clickhouse.server import LocalClickHouse

    server = LocalClickHouse.from_settings(_settings(ctx))

    def ready(served: LocalClickHouse) -> None:
        click.echo(
            f"ClickHouse serving {served.url} (pid {served.pid()})\n"
            f"  data: {served.data_path}\n  logs: {served.log_file}",
            err=True,
        )

    server.serve(on_ready=ready)
    click.echo("ClickHouse stopped", err=True)


@db.command("start")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for it.")
@click.pass_context
@friendly_errors
def db_start(ctx: click.Context, timeout: float) -> None:
    """Start `db serve` in the background unless it runs, and wait until it answers."""
    from connectors.clickhouse.server import LocalClickHouse

    status = LocalClickHouse.from_settings(_settings(ctx)).start(DB_SERVE, timeout=timeout)
    click.echo(
        f"ClickHouse running: pid {status.pid}, {status.url}\n"
        f"  data: {status.data_path}\n  logs: {status.log_file}"
    )


@db.command("stop")
@click.pass_context
@friendly_errors
def db_stop(ctx: click.Context) -> None:
    """Stop the local ClickHouse by its PID (its data stays)."""
    from connectors.clickhouse.server import LocalClickHouse

    stopped = LocalClickHouse.from_settings(_settings(ctx)).stop()
    click.echo("ClickHouse stopped" if stopped else "ClickHouse was not running")


@db.command("migrate")
@click.pass_context
@friendly_errors
def db_migrate(ctx: click.Context) -> None:
    """Apply the pending migrations of infra/clickhouse/migrations (safe to run again)."""
    from connectors.clickhouse import apply_migrations

    settings = _settings(ctx)
    with _client(settings) as client:
        applied = apply_migrations(client, settings.clickhouse_database)
    for name in applied:
        click.echo(f"applied {name}")
    click.echo(
        f"{len(applied)} migrations applied to {settings.clickhouse_database}"
        if applied
        else "database is up to date"
    )


@db.command("status")
@json_option
@click.pass_context
@friendly_errors
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Show every migration and whether it is applied, pending or changed."""
    from connectors.clickhouse import migration_status

    settings = _settings(ctx)
    with _client(settings) as client:
        rows = migration_status(client, settings.clickhouse_database)
    if as_json:
        echo_json(
            [
                {
                    "version": row.version,
                    "name": row.name,
                    "state": row.state.value,
                    # schema_migrations.applied_at is DateTime64(3, 'UTC'), naive or not.
                    "applied_at": row.applied_at.replace(tzinfo=row.applied_at.tzinfo or UTC)
                    if row.applied_at
                    else None,
                }
                for row in rows
            ]
        )
        return
    for row in rows:
        when = f" at {row.applied_at:%Y-%m-%d %H:%M:%S}" if row.applied_at else ""
        click.echo(f"{row.version:04d} {row.name}: {row.state.value}{when}")


@db.command("query")
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="A table for people, or one JSON array of objects for programs.",
)
@click.pass_context
@friendly_errors
def db_query(ctx: click.Context, sql: str, fmt: str) -> None:
    """Run SQL against the configured ClickHouse; unqualified names are in CLICKHOUSE_DATABASE."""
    from connectors.clickhouse.queries import run_query

    settings = _settings(ctx)
    with _client(settings) as client:
        result = run_query(client, sql, settings.clickhouse_database)
    if fmt == "json":
        echo_json([dict(zip(result.columns, row, strict=True)) for row in result.rows])
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(*result.columns)
    for row in result.rows:
        table.add_row(*(_cell(value) for value in row))
    Console(width=max(120, Console().width)).print(table)
    click.echo(f"{len(result.rows)} rows", err=True)


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=json_value)
    return str(value)


# -- sink ----------------------------------------------------------------------------------------


@click.command("sink")
@click.option("--max-rows", default=50_000, show_default=True, help="Rows per batch (one insert).")
@click.option(
    "--max-wait", default=1.0, show_default=True, help="Seconds a batch may wait to fill up."
)
@click.option(
    "--session-timeout",
    default=30.0,
    show_default=True,
    help="Seconds the group waits for a silent sink before handing its partitions to another.",
)
@click.option(
    "--clickhouse-wait",
    default=600.0,
    show_default=True,
    help="Seconds an insert waits for a ClickHouse that does not answer before the sink exits.",
)
@click.option(
    "--drain", is_flag=True, help="Stop once every partition is caught up, instead of on SIGTERM."
)
@click.pass_context
@friendly_errors
def sink_command(
    ctx: click.Context,
    max_rows: int,
    max_wait: float,
    session_timeout: float,
    clickhouse_wait: float,
    drain: bool,
) -> None:
    """Write every audit topic into ClickHouse's raw tables, exactly once, until SIGTERM."""
    from streams.base import logs

    settings = _settings(ctx)
    logs.configure()
    # A drain ends, so how far it is means something; a sink that runs until SIGTERM shows none.
    with progress("records") as task:
        stats = asyncio.run(
            _run_sink(
                settings,
                max_rows=max_rows,
                max_wait=max_wait,
                session_timeout=session_timeout,
                clickhouse_wait=clickhouse_wait,
                drain=drain,
                on_progress=task("draining the audit topics into ClickHouse") if drain else None,
            )
        )
    click.echo(
        json.dumps(
            {
                "rows": stats.rows,
                "batches": stats.batches,
                "records": stats.records,
                "resumed_plans": stats.resumed_plans,
                "per_topic": dict(stats.per_topic),
            }
        )
    )


async def _run_sink(
    settings: Settings,
    *,
    max_rows: int,
    max_wait: float,
    session_timeout: float,
    drain: bool,
    on_progress: Advance | None,
    clickhouse_wait: float = 600.0,
) -> Any:
    from connectors.clickhouse import connect
    from connectors.clickhouse.privacy import pseudonym_key
    from connectors.clickhouse.raw_tables import RawTableWriter
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig, SinkMetrics
    from streams.runtime.metrics_endpoint import MetricsEndpoint, process_registry

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    metrics = SinkMetrics(process_registry())
    client = connect(settings)
    # /metrics as the worker serves it (COBRANCA_METRICS_PORT; unset: none). A drain ends: none.
    endpoint = None
    try:
        if settings.metrics_port is not None and not drain:
            endpoint = MetricsEndpoint(
                metrics.registry, settings.metrics_host, settings.metrics_port
            )
            endpoint.start()
        sink = ClickHouseSink(
            SinkConfig(
                bootstrap=settings.kafka_bootstrap,
                database=settings.clickhouse_database,
                group_id=sink_group(settings),
                max_rows=max_rows,
                max_wait_s=max_wait,
                session_timeout_s=session_timeout,
                clickhouse_wait_s=clickhouse_wait,
            ),
            client,
            RawTableWriter(pseudonym_key()),
            metrics,
        )
        return await sink.run(stop, drain=drain, on_progress=on_progress)
    finally:
        client.close()
        if endpoint is not None:
            await asyncio.to_thread(endpoint.stop)


def sink_group(settings: Settings) -> str:
    """The sink's consumer group: one per application id."""
    return f"{settings.app_id}-clickhouse-sink"


# -- replay --------------------------------------------------------------------------------------


@click.command("replay")
@click.option("--into", "database", required=True, help="A database that does not exist yet.")
@click.option(
    "--compare", is_flag=True, help="Then diff every raw table and view against the live database."
)
@click.option("--max-rows", default=50_000, show_default=True, help="Rows per insert.")
@click.pass_context
@friendly_errors
def replay_command(ctx: click.Context, database: str, compare: bool, max_rows: int) -> None:
    """Rebuild every raw table and view from offset 0 into a fresh DATABASE."""
    from connectors.clickhouse.replay import compare_databases, replay_into
    from streams.runtime.log_reader import partitions_of

    settings = _settings(ctx)
    with _client(settings) as client:
        with progress("events") as task:
            result = asyncio.run(
                replay_into(
                    settings,
                    client,
                    database,
                    partitions=partitions_of,
                    max_rows=max_rows,
                    on_progress=task(f"replaying into {database}"),
                )
            )
        click.echo(
            f"replayed {result.records} records ({result.rows} events) into {database} in "
            f"{result.seconds:.1f}s ({result.rows / max(result.seconds, 1e-9):,.0f} events/s)",
            err=True,
        )
        if not compare:
            return
        report = compare_databases(client, settings.clickhouse_database, database, result.ends)
    for line in report.lines():
        click.echo(line)
    if not report.equal:
        sys.exit(1)


# -- trace ---------------------------------------------------------------------------------------


@click.command("trace")
@click.argument("what")
@click.option(
    "--as",
    "kind",
    type=click.Choice(["auto", "request", "phone"]),
    default="auto",
    show_default=True,
    help="Whether WHAT is a request id or a phone (auto: a phone if it looks like one).",
)
@click.option("--tenant", default=None, help="Only this tenant's events.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event instead.")
@click.pass_context
@friendly_errors
def trace_command(
    ctx: click.Context, what: str, kind: str, tenant: str | None, as_json: bool
) -> None:
    """The timeline of one send (REQUEST_ID) or one client (PHONE) across all topics."""
    from connectors.clickhouse.privacy import Pseudonymizer, pseudonym_key
    from connectors.clickhouse.trace import trace

    settings = _settings(ctx)
    with _client(settings) as client:
        timeline = trace(
            client,
            settings.clickhouse_database,
            what,
            kind=kind,
            tenant=tenant,
            pseudonymizer=Pseudonymizer(pseudonym_key()),
        )
    if as_json:
        for event in timeline.events:
            click.echo(json.dumps(event.as_dict(), ensure_ascii=False, default=json_value))
        return
    for line in timeline.lines():
        click.echo(line)
