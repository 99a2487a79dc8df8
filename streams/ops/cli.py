"""The `cobranca` command line: thin wrappers over the modules that do the work."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from connectors.waha.simulator.cli import waha_sim
from models.cli import classify_command, model
from streams.base.cli_output import echo_json, json_option, progress
from streams.base.settings import Settings, cache_home
from streams.ops.api_cli import api_group, users_group
from streams.ops.cli_errors import friendly_errors
from streams.ops.clickhouse_cli import db, replay_command, sink_command, trace_command
from streams.ops.handoff_cli import export_corrections_command, handoffs
from streams.ops.imports_cli import import_command
from streams.ops.waha_cli import waha
from streams.ops.webhooks_cli import webhooks_group


@click.group()
# The installed distribution's version (importlib.metadata): what an operator quotes in a report.
@click.version_option(package_name="cobranca", prog_name="cobranca", message="%(prog)s %(version)s")
@click.option(
    "--bootstrap",
    metavar="HOST:PORT[,...]",
    help="Kafka bootstrap servers; wins over COBRANCA_KAFKA_BOOTSTRAP.",
)
@click.option(
    "--clickhouse-url",
    metavar="URL",
    help="ClickHouse HTTP URL; wins over CLICKHOUSE_URL.",
)
@click.pass_context
def main(ctx: click.Context, bootstrap: str | None, clickhouse_url: str | None) -> None:
    """cobranca: event-sourced WhatsApp debt collection."""
    from streams.base import logs

    logs.configure()
    # The flags are written into the environment, not only into the settings: the processes
    # a command starts (the demo's worker and servers) read theirs from it, and must agree.
    for variable, flag in (
        ("COBRANCA_KAFKA_BOOTSTRAP", bootstrap),
        ("CLICKHOUSE_URL", clickhouse_url),
    ):
        if flag:
            os.environ[variable] = flag
    ctx.obj = Settings.from_env()


# -- broker ------------------------------------------------------------------------------------


def _local_broker(settings: Settings) -> Any:
    from infra.kafka.broker import LocalBroker

    return LocalBroker.for_bootstrap(
        settings.kafka_bootstrap, cache=cache_home(), home=settings.data_dir / "kafka"
    )


def _local_cluster(settings: Settings, nodes: int | None = None) -> Any:
    """The local cluster under the data dir: of `nodes` nodes, or the one `start` recorded."""
    from infra.kafka.cluster import LocalCluster

    home = settings.data_dir / "kafka-cluster"
    bootstrap = settings.kafka_bootstrap
    if nodes is None:
        return LocalCluster.recorded(bootstrap, cache=cache_home(), home=home)
    return LocalCluster.for_bootstrap(bootstrap, cache=cache_home(), home=home, nodes=nodes)


@main.group()
def broker() -> None:
    """The local Apache Kafka broker (KRaft, 127.0.0.1): one node, or a cluster of several."""


@broker.command("fetch")
@click.pass_obj
@friendly_errors
def broker_fetch(settings: Settings) -> None:
    """Download the broker's jars from Maven Central into the cache (once)."""
    path = _local_broker(settings).fetch()
    click.echo(f"broker jars in {path}")


@broker.command("start")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the broker.")
@click.option(
    "--nodes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 5),
    help="More than 1: a local KRaft cluster, replication factor min(3, nodes), min ISR 2 "
    "from 3 nodes (infra/kafka/cluster.py).",
)
@click.pass_obj
@friendly_errors
def broker_start(settings: Settings, timeout: float, nodes: int) -> None:
    """Start the broker (or the cluster's nodes) if not running, and wait until it answers."""
    began = time.monotonic()
    if nodes == 1:
        status = _local_broker(settings).start(timeout=timeout)
        click.echo(
            f"broker running: pid {status.pid}, {status.bootstrap} "
            f"(ready in {time.monotonic() - began:.1f}s)\n"
            f"  data: {status.data_dir}\n  logs: {status.log_file}"
        )
        return
    cluster = _local_cluster(settings, nodes)
    statuses = cluster.start(timeout=max(timeout, 90.0))
    click.echo(f"cluster of {nodes} nodes running (ready in {time.monotonic() - began:.1f}s)")
    for node, status in enumerate(statuses, start=1):
        click.echo(f"  node {node}: pid {status.pid}, {status.bootstrap}, logs {status.log_file}")
    click.echo(f"clients: COBRANCA_KAFKA_BOOTSTRAP={cluster.bootstrap}")


@broker.command("stop")
@click.pass_obj
@friendly_errors
def broker_stop(settings: Settings) -> None:
    """Stop the broker, and a cluster's nodes, by PID (their data stays)."""
    cluster = _local_cluster(settings)
    stopped = cluster.stop() if cluster is not None else False
    stopped = _local_broker(settings).stop() or stopped
    click.echo("broker stopped" if stopped else "broker was not running")


@broker.command("status")
@json_option
@click.pass_obj
@friendly_errors
def broker_status(settings: Settings, as_json: bool) -> None:
    """Say whether the broker (or each cluster node) runs, where, and where its logs are; exit 1
    if one does not."""
    cluster = _local_cluster(settings)
    statuses = cluster.status() if cluster is not None else [_local_broker(settings).status()]
    running = all(status.running for status in statuses)
    if as_json:
        nodes = [
            {
                "running": status.running,
                "pid": status.pid,
                "bootstrap": status.bootstrap,
                "data_dir": str(status.data_dir),
                "log_file": str(status.log_file),
                "problem": status.problem,
            }
            for status in statuses
        ]
        echo_json(nodes[0] if cluster is None else {"running": running, "nodes": nodes})
    else:
        for status in statuses:
            state = f"running (pid {status.pid})" if status.running else "not running"
            click.echo(
                f"broker {state} at {status.bootstrap}\n"
                f"  data: {status.data_dir}\n  logs: {status.log_file}"
            )
            if status.problem:
                click.echo(f"  problem: {status.problem}")
    if not running:
        sys.exit(1)


# -- demo --------------------------------------------------------------------------------------


@main.command("demo")
@click.option("--clients", default=24, show_default=True, help="How many debtors to import.")
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Then serve the API and the operator console until Ctrl-C.",
)
@click.pass_context
@friendly_errors
def demo(ctx: click.Context, clients: int, serve: bool) -> None:
    """Run the main job on the local stack: import, worker, ClickHouse views; then the console."""
    from streams.ops.api_cli import serve_command
    from streams.ops.demo import DEMO_EMAIL, DEMO_PASSWORD, console_url, run_demo

    run_demo(ctx.obj, count=clients)
    url = console_url()
    if not serve:
        click.echo(f"\nConsole: `cobranca api serve`, then {url} ({DEMO_EMAIL} / {DEMO_PASSWORD})")
        return
    click.echo(f"\nConsole: {url}  login {DEMO_EMAIL} / {DEMO_PASSWORD}  (Ctrl-C stops it)")
    ctx.invoke(serve_command)


# -- worker ------------------------------------------------------------------------------------


@main.command("worker")
@click.option(
    "--loglevel", default=None, help="DEBUG, INFO, WARNING... (default COBRANCA_LOG_LEVEL or INFO)."
)
@click.pass_obj
def worker(settings: Settings, loglevel: str | None) -> None:
    """Run the Faust worker with every agent (exactly-once), until SIGTERM or Ctrl-C."""
    import gc

    import faust

    from streams.agents.worker import create_worker
    from streams.base import logs
    from streams.runtime.metrics import install_metrics

    handler = logs.configure(level=loglevel)
    built = create_worker(settings)
    app = built.app
    click.echo(
        f"agents: {', '.join(sorted(a.name for a in app.agents.values()))} (streams.agents)",
        err=True,
    )
    # Faust would install its own colour handler; ours renders JSON or pretty, and masks.
    app.conf.loghandlers = [handler]
    built.classifier.load_now()  # before joining the group: see load_now
    # What is loaded by now (Faust, torch, the model: ~570k objects) lives as long as the worker;
    # frozen, a full collection no longer walks it (two of them took 0.8 s of a 20,000-request
    # ledger bench run, issue 3 §3).
    gc.freeze()
    install_metrics(app, settings.metrics_port, settings.metrics_host)
    faust.Worker(
        app,
        loglevel=logging.getLogger().level,
        logging_config={"version": 1, "disable_existing_loggers": False, "root": {"handlers": []}},
    ).execute_from_commandline()


# -- tokens ------------------------------------------------------------------------------------


@main.group()
def tokens() -> None:
    """Prepaid tokens: credit a tenant, read its balance."""


@tokens.command("credit")
@click.argument("tenant")
@click.argument("amount", type=click.IntRange(min=1))
@click.option("--reference", help="Payment id, order number or a note for the auditors.")
@click.option("--credit-id", help="Idempotency key; repeat it to retry safely (default: new).")
@click.pass_obj
@friendly_errors
def tokens_credit(
    settings: Settings, tenant: str, amount: int, reference: str | None, credit_id: str | None
) -> None:
    """Ask the ledger to credit AMOUNT tokens to TENANT."""
    import uuid

    from schemas.events import CreditRequested, new_header
    from streams.runtime.producer import EventProducer

    credit_id = credit_id or str(uuid.uuid4())
    command = CreditRequested(
        header=new_header(
            "CreditRequested",
            tenant_id=tenant,
            correlation_id=credit_id,
            causation_id=None,
            source="streams.cli",
        ),
        credit_id=credit_id,
        amount=amount,
        reference=reference,
    )

    async def send() -> None:
        async with EventProducer(settings.kafka_bootstrap) as producer:
            await producer.send(command, key=tenant)

    asyncio.run(send())
    click.echo(f"credit {credit_id} of {amount} tokens for {tenant} stored; the worker applies it")


@tokens.command("balance")
@click.argument("tenant")
@json_option
@click.pass_obj
@friendly_errors
def tokens_balance(settings: Settings, tenant: str, as_json: bool) -> None:
    """TENANT's balance: the replay of its committed ledger events."""
    from streams.base.topics import LEDGER
    from streams.domain.audit import audit_ledger
    from streams.runtime.log_reader import read_events

    with progress("records") as task:
        ledger = asyncio.run(
            read_events(
                settings.kafka_bootstrap, LEDGER.name, on_progress=task(f"reading {LEDGER.name}")
            )
        )
    balance = audit_ledger(ledger, tenant=tenant).balances.get(tenant, 0)
    if as_json:
        echo_json({"tenant": tenant, "balance": balance})
        return
    click.echo(f"{tenant}: {balance} tokens")


# -- audit -------------------------------------------------------------------------------------


@main.group()
def audit() -> None:
    """Replay the log and check it."""


@audit.command("ledger")
@click.option("--tenant", help="Only this tenant (default: every tenant).")
@click.option(
    "--ledger-topic",
    help="Audit this copy of the ledger topic instead (a restored backup, an export).",
)
@click.pass_obj
@friendly_errors
def audit_ledger_command(settings: Settings, tenant: str | None, ledger_topic: str | None) -> None:
    """Replay the ledger from offset 0: hash chain, debits vs approvals, refunds, balances.
    Prints a JSON report; exits 1 on any violation."""
    from streams.base.topics import DISPATCHES, LEDGER, SEND_DECISIONS
    from streams.domain.audit import audit_ledger
    from streams.runtime.log_reader import read_events

    names = (ledger_topic or LEDGER.name, SEND_DECISIONS.name, DISPATCHES.name)
    with progress("records") as task:

        async def read() -> list[Any]:
            return await asyncio.gather(
                *(
                    read_events(settings.kafka_bootstrap, name, on_progress=task(f"reading {name}"))
                    for name in names
                )
            )

        ledger, decisions, dispatches = asyncio.run(read())
    report = audit_ledger(ledger, decisions, dispatches, tenant=tenant)
    click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    if report.violations:
        sys.exit(1)


# -- schemas -----------------------------------------------------------------------------------


@main.group()
def schemas() -> None:
    """Event schemas (schemas/avro) and their pinned ids (schemas/registry.json)."""


@schemas.command("register")
@friendly_errors
def schemas_register() -> None:
    """Pin a new version for each changed schema, after the BACKWARD_TRANSITIVE check."""
    from schemas.registry import register_changes

    added = register_changes()
    for subject, version, schema_id in added:
        click.echo(f"{subject} v{version} -> schema id {schema_id}")
    click.echo(
        f"{len(added)} schema versions pinned" if added else "every schema is pinned already"
    )


@schemas.command("list")
@json_option
@friendly_errors
def schemas_list(as_json: bool) -> None:
    """Show each subject's versions and ids."""
    from schemas.registry import load_registry

    registry = load_registry()
    if as_json:
        echo_json(
            [
                {
                    "subject": subject,
                    "versions": [
                        {"version": e.version, "schema_id": e.schema_id}
                        for e in registry.versions(subject)
                    ],
                }
                for subject in registry.subjects()
            ]
        )
        return
    for subject in registry.subjects():
        pins = ", ".join(f"v{e.version}=id {e.schema_id}" for e in registry.versions(subject))
        click.echo(f"{subject}: {pins}")


@schemas.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8081, show_default=True, help="Port.")
@friendly_errors
def schemas_serve(host: str, port: int) -> None:
    """Serve the pinned schemas as Confluent's schema registry API (read-only), at the root,
    until SIGTERM or Ctrl-C. `cobranca api serve` serves the same under /registry."""
    from aiohttp import web

    from connectors.schema_registry.app import create_app

    click.echo(f"schema registry API (read-only) on http://{host}:{port}", err=True)
    web.run_app(create_app(), host=host, port=port, print=None, access_log=None)


@schemas.command("push")
@click.option(
    "--registry-url",
    required=True,
    metavar="URL",
    help="A Confluent schema registry (credentials in the URL if it needs them).",
)
@json_option
@friendly_errors
def schemas_push(registry_url: str, as_json: bool) -> None:
    """Register every pinned version in a Confluent registry with its pinned id (IMPORT mode);
    versions already there with the same id are left alone."""
    from connectors.schema_registry.push import push_schemas
    from schemas.registry import default_registry
    from schemas.registry_api import import_requests

    pushed = asyncio.run(push_schemas(registry_url, import_requests(default_registry())))
    imported = [p for p in pushed if p.imported]
    if as_json:
        echo_json(
            [
                {
                    "subject": p.subject,
                    "version": p.version,
                    "schema_id": p.schema_id,
                    "imported": p.imported,
                }
                for p in pushed
            ]
        )
        return
    for p in imported:
        click.echo(f"{p.subject} v{p.version} -> schema id {p.schema_id}")
    click.echo(f"{len(imported)} versions imported, {len(pushed) - len(imported)} were there")


# -- topics ------------------------------------------------------------------------------------


@main.group()
def topics() -> None:
    """The topic catalogue (streams/base/topics.py) on the configured broker."""


@topics.command("create")
@click.pass_obj
@friendly_errors
def topics_create(settings: Settings) -> None:
    """Create every catalogue topic that does not exist yet (safe to run again)."""
    from streams.runtime.topic_admin import create_topics

    created = asyncio.run(create_topics(settings.kafka_bootstrap, settings.topic_partitions))
    for name in created:
        click.echo(f"created {name}")
    click.echo(f"{len(created)} topics created, the others existed already")


@topics.command("list")
@json_option
@click.pass_obj
@friendly_errors
def topics_list(settings: Settings, as_json: bool) -> None:
    """Show the catalogue with partitions, retention and end offsets."""
    from rich.console import Console
    from rich.table import Table

    from streams.runtime.topic_admin import describe_topics

    states = asyncio.run(describe_topics(settings.kafka_bootstrap))
    if as_json:
        echo_json(
            [
                {
                    "topic": state.spec.name,
                    "kind": state.spec.kind.value,
                    "key": state.spec.key,
                    "exists": state.exists,
                    "partitions": state.partitions if state.exists else None,
                    "end_offsets": state.end_offsets,
                    "events": list(state.spec.events),
                }
                for state in states
            ]
        )
        return
    table = Table("topic", "kind", "key", "partitions", "end offsets", "events")
    for state in states:
        table.add_row(
            state.spec.name,
            state.spec.kind.value,
            state.spec.key,
            str(state.partitions) if state.exists else "missing",
            str(state.end_offsets),
            ", ".join(state.spec.events),
        )
    Console(width=200).print(table)


@topics.command("tail")
@click.argument("topic")
@click.option("--from-beginning", is_flag=True, help="Start at each partition's first offset.")
@click.option("--max", "max_records", type=click.IntRange(min=1), help="Stop after N records.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line (position, key, event type, event) instead of text.",
)
@click.option("--unmasked", is_flag=True, help="Show phones, CPFs and CNPJs unmasked.")
@click.pass_obj
@friendly_errors
def topics_tail(
    settings: Settings,
    topic: str,
    from_beginning: bool,
    max_records: int | None,
    as_json: bool,
    unmasked: bool,
) -> None:
    """Print TOPIC's committed records decoded, one a line, like kcat: new ones from the end
    until Ctrl-C, or from the beginning; phones and documents masked unless --unmasked."""
    from streams.ops.topics_tail import tail

    def write(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    # Ctrl-C is how a follow ends: quietly, like kcat.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            tail(
                settings.kafka_bootstrap,
                topic,
                write,
                from_beginning=from_beginning,
                as_json=as_json,
                unmasked=unmasked,
                max_records=max_records,
            )
        )


# -- tenants -----------------------------------------------------------------------------------


@main.group()
def tenants() -> None:
    """Tenant configuration: WAHA sessions, prices, the régua, contact windows."""


@tenants.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only validate the file; nothing is written.")
@click.pass_obj
@friendly_errors
def tenants_apply(settings: Settings, file: Path, dry_run: bool) -> None:
    """Validate a tenant file (YAML or TOML) and make it the tenant's configuration in force."""
    from streams.ops.tenant_files import load_tenant_file

    config = load_tenant_file(file)
    steps = ", ".join(step.label for step in config.steps)
    summary = (
        f"tenant {config.tenant_id} ({config.display_name}): configuration {config.digest}, "
        f"{len(config.sessions)} WAHA session(s), régua {steps}"
    )
    if dry_run:
        click.echo(f"{summary}: valid, not applied (--dry-run)")
        return
    from streams.runtime.tenants import apply_config

    event = asyncio.run(apply_config(settings.kafka_bootstrap, config))
    click.echo(f"{summary}: applied as event {event.header.event_id}")


@tenants.command("list")
@json_option
@click.pass_obj
@friendly_errors
def tenants_list(settings: Settings, as_json: bool) -> None:
    """Show every tenant's configuration in force."""
    from rich.console import Console
    from rich.table import Table

    from streams.runtime.tenants import read_configs

    configs = sorted(asyncio.run(read_configs(settings.kafka_bootstrap)).items())
    if as_json:
        echo_json(
            [
                {
                    "tenant": tenant,
                    "display_name": config.display_name,
                    "configuration": config.digest,
                    "sessions": [s.name for s in config.sessions],
                    "steps": [s.label for s in config.steps],
                    "prices": {
                        "text": config.prices.text,
                        "file": config.prices.file,
                        "per_extra_recipient": config.prices.per_extra_recipient,
                    },
                    "allow_landlines": config.allow_landlines,
                    "require_document": config.require_document,
                }
                for tenant, config in configs
            ]
        )
        return
    table = Table(
        "tenant", "name", "configuration", "sessions", "régua", "prices", "landlines", "CPF/CNPJ"
    )
    for tenant, config in configs:
        table.add_row(
            tenant,
            config.display_name,
            config.digest,
            ", ".join(s.name for s in config.sessions),
            ", ".join(s.label for s in config.steps),
            f"text {config.prices.text}, file {config.prices.file}, "
            f"+{config.prices.per_extra_recipient}/recipient",
            "yes" if config.allow_landlines else "no",
            "required" if config.require_document else "optional",
        )
    Console(width=200).print(table)


# Each command group lives in its own module of this package; the CLI only mounts them.
main.add_command(import_command)
main.add_command(waha)
main.add_command(waha_sim)
main.add_command(db)
main.add_command(sink_command)
main.add_command(replay_command)
main.add_command(trace_command)
# The intent model, and the corrections operators make of it (streams/ops/handoff_cli.py).
model.add_command(export_corrections_command)
main.add_command(model)
main.add_command(classify_command)
main.add_command(handoffs)
main.add_command(api_group)
main.add_command(users_group)
main.add_command(webhooks_group)

if __name__ == "__main__":
    main()
