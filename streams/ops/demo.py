"""`cobranca demo`: the product's main job on the local default stack, start to finish.

Starts the local broker and ClickHouse, creates the topics, migrates ClickHouse, applies the demo
tenant's configuration (infra/tenants/acme-cobrancas.yaml, with contact windows open all day so
the loop can be seen at any hour; Sundays and holidays stay closed), starts the webhook receiver
and the WAHA simulator (whose debtors answer in Portuguese), credits the tenant's tokens, imports
its debtors, and runs the worker until the régua has scheduled every debtor, every approved send
went through WAHA, and every reply was classified and acted on. Then it sinks the audit log into
ClickHouse and shows the views. Each run is a new import, so the views grow run after run.

It ends with the operator console: a demo login (a tenant admin of the demo tenant, made once)
and the console's URL; `cobranca demo` then serves the API and the console until Ctrl-C
(`--no-serve` ends there instead; docs/adr/0027-operator-console.md says why).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table

from schemas.events import ClientImported, CreditRequested, DocumentKind, Event, new_header
from streams.base.logs import mask
from streams.base.ports import free_port
from streams.base.settings import Settings, cache_home
from streams.base.topics import (
    ACTIONS,
    CONVERSATIONS,
    DISPATCHES,
    INTENTS,
    REGUA_SCHEDULES,
    SEND_DECISIONS,
    SEND_REQUESTS,
)
from streams.domain.brazil.calendar import holiday_calendar
from streams.domain.contact_windows import (
    ContactRules,
    WeeklyWindows,
    Window,
    next_open_slot,
)

TENANT = "acme-cobrancas"
TENANT_FILE = Path(__file__).resolve().parents[2] / "infra" / "tenants" / f"{TENANT}.yaml"
SOURCE = "streams.demo"
SESSION = "acme-principal"
HMAC_VARIABLE = "ACME_WAHA_HMAC_KEY"
"""Where the tenant file says its session's webhook key is (`webhook_hmac_key: env:...`)."""
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
ALL_DAY = Window(0, 24 * 60)
DEMO_CONTACT = ContactRules(WeeklyWindows(ALL_DAY, ALL_DAY), by_uf={})
"""Open all day, Monday to Saturday, so the loop can be seen at any hour; Sundays and national
holidays stay closed (contact_windows.py does not let anyone open them), so on those days the
régua runs on a simulated clock (`demo_clock_start`)."""
DEMO_EMAIL = "demo@acme-cobrancas.example"
DEMO_PASSWORD = "demo cobranca 2026"
"""The demo login, printed by every run: a tenant admin of the demo tenant, on the local stack
only (the password is in this file, so it is never a real account's)."""
TOKENS_PER_DEBTOR = 10
"""Enough for the reminders due now and the replies the conversation sends."""
QUIET_S = 5.0
"""How long nothing new must happen before the run counts as settled (replies come late)."""
# Real-looking debtors: names, DDDs from several states, valid CPF check digits.
#: Name, DDD, UF, CPF; two have no CPF (issue 15: a gym or a school often keeps none).
DEBTORS: tuple[tuple[str, str, str, str | None], ...] = (
    ("Maria Aparecida Souza", "11", "SP", "52998224725"),
    ("João Pedro Oliveira", "21", "RJ", "11144477735"),
    ("Ana Beatriz Lima", "31", "MG", None),
    ("Carlos Eduardo Santos", "71", "BA", "98765432100"),
    ("Francisca Ferreira", "85", "CE", "39053344705"),
    ("Luiz Henrique Costa", "41", "PR", "52998224725"),
    ("Patrícia Gomes", "51", "RS", None),
    ("Antônio Carlos Ribeiro", "61", "DF", "12345678909"),
)


def demo_clients(import_id: str, count: int, today: date) -> list[ClientImported]:
    """`count` debtors, new ones on every run: client ids and phones of their own, so the
    régua sends their reminders and no earlier run's opt-out stops them."""
    rng = random.Random(import_id)
    run = rng.randrange(16**4)
    first_phone = rng.randrange(10_000_000, 90_000_000 - count)
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
                client_id=f"cli-{run:04x}-{n + 1:03d}",
                name=name,
                phone_e164=f"+55{ddd}9{first_phone + n:08d}",
                document=cpf,
                document_kind=DocumentKind.CPF if cpf else None,
                amount_centavos=15_000 + 7_919 * n,
                due_date=today + timedelta(days=3 - n % 10),
                invoice_id=f"NF-{2026_0000 + n}",
                uf=uf,
                pix_code=f"00020126580014br.gov.bcb.pix0136{uuid.uuid4()}",
            )
        )
    return clients


def demo_clock_start(now: datetime) -> datetime | None:
    """Where the régua's clock starts when the demo's windows are closed at `now` (a Sunday, a
    national holiday): noon in São Paulo of the next day they open, so every debtor's state is
    open too. None when they are open now: the real clock."""
    opens = next_open_slot(now, "SP", DEMO_CONTACT, holiday_calendar("SP", False))
    if opens <= now:
        return None
    return opens.astimezone(SAO_PAULO).replace(hour=12, minute=0, second=0, microsecond=0)


def run_demo(settings: Settings, *, count: int = 24, console: Console | None = None) -> None:
    from connectors.clickhouse import apply_migrations, connect
    from infra.kafka.broker import LocalBroker
    from streams.ops.clickhouse_cli import DB_SERVE
    from streams.runtime.topic_admin import create_topics

    console = console or Console()
    since = datetime.now(UTC).replace(microsecond=0)
    import_id = f"demo-{since:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"

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
            served = local.start(DB_SERVE)
        console.print(f"[green]✓[/] ClickHouse {served.url} (chDB at {served.data_path})")
    client = connect(settings)
    try:
        applied = apply_migrations(client, settings.clickhouse_database)
        console.print(
            f"[green]✓[/] ClickHouse {settings.clickhouse_database} migrated ({len(applied)} new)"
        )

        from streams.ops.tenant_files import load_tenant_file
        from streams.runtime.tenants import apply_config

        config = dataclasses.replace(load_tenant_file(TENANT_FILE), contact=DEMO_CONTACT)
        asyncio.run(apply_config(settings.kafka_bootstrap, config))
        console.print(
            f"[green]✓[/] tenant {TENANT} configured from {TENANT_FILE.name} "
            f"(régua {', '.join(step.label for step in config.steps)}; for the demo, contact "
            "windows open all day Monday to Saturday)"
        )

        clock_start = demo_clock_start(datetime.now(UTC))
        if clock_start is not None:
            console.print(
                f"[yellow]![/] contact windows are closed today (a Sunday or a holiday): the "
                f"régua runs on a simulated clock from {clock_start:%d/%m/%Y %H:%M} (São Paulo), "
                "COBRANCA_CLOCK_START"
            )
        today = (clock_start or datetime.now(UTC)).astimezone(SAO_PAULO).date()
        clients = demo_clients(import_id, count, today)
        asyncio.run(_produce(settings, [(_credit(import_id, TOKENS_PER_DEBTOR * count), TENANT)]))
        asyncio.run(_produce(settings, [(c, f"{TENANT}:{c.client_id}") for c in clients]))
        console.print(
            f"[green]✓[/] credited {TOKENS_PER_DEBTOR * count} tokens and imported {count} "
            f"debtors of {TENANT} (import {import_id})"
        )

        with _Services(settings, console, clock_start) as services:
            _run_worker_until(settings, services, import_id, count, since, console)
        requests = asyncio.run(_for_import(settings, SEND_REQUESTS.name, import_id))
        sent = [r for r in requests if r["header"]["event_type"] == "SendRequested"]
        console.print(
            f"[green]✓[/] the régua scheduled {count} debtors: {len(sent)} reminders requested "
            f"now, {len(requests) - len(sent)} deferred to the next contact window, the other "
            "steps wait for their day"
        )
        _show_requests(console, requests)
        _show_conversations(console, settings, since)

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
    made = asyncio.run(ensure_demo_login(settings))
    console.print(
        f"[green]✓[/] demo login {DEMO_EMAIL} / {DEMO_PASSWORD!r} "
        f"({'made now' if made else 'made by an earlier run'}; a tenant admin of {TENANT})"
    )


def console_url() -> str:
    """Where `cobranca api serve` serves the console (COBRANCA_API_HOST/PORT)."""
    from connectors.api.settings import ApiSettings

    api = ApiSettings.from_env()
    return f"http://{api.host}:{api.port}/"


async def ensure_demo_login(settings: Settings) -> bool:
    """The demo tenant's admin, active with DEMO_PASSWORD, as an invite and its acceptance on
    the identity topic (what the console's invite flow writes); False when it exists already."""
    from connectors.api.credentials import Passwords
    from streams.domain.identity import Role, accounts, record_key
    from streams.ops.api_server import KafkaApiLog

    log = KafkaApiLog(settings.kafka_bootstrap)
    await log.start(settings.topic_partitions)
    try:
        if log.identity.account_by_email(DEMO_EMAIL) is not None:
            return False
        now = datetime.now(UTC)
        invited = accounts.invite(
            DEMO_EMAIL,
            TENANT,
            [Role.TENANT_ADMIN],
            invite_hash=uuid.uuid4().hex,  # never presented: accepted right here
            expires_at=now + timedelta(minutes=5),
            actor=SOURCE,
            now=now,
            existing=None,
        )
        await log.append([(invited, record_key(invited))])
        account = log.identity.account_by_email(DEMO_EMAIL)
        assert account is not None  # appended above: the directory holds it
        hashed = await asyncio.to_thread(Passwords().hash, DEMO_PASSWORD)
        accepted = accounts.accept_invite(account, hashed, now=now)
        await log.append([(accepted, record_key(accepted))])
        return True
    finally:
        await log.stop()


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
    from connectors.clickhouse.privacy import pseudonym_key
    from connectors.clickhouse.raw_tables import RawTableWriter
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
    from streams.ops.clickhouse_cli import sink_group

    sink = ClickHouseSink(
        SinkConfig(
            bootstrap=settings.kafka_bootstrap,
            database=settings.clickhouse_database,
            group_id=sink_group(settings),
        ),
        client,
        RawTableWriter(pseudonym_key()),
    )
    stats = await sink.run(drain=True)
    return stats.rows


async def _produce(settings: Settings, events: list[tuple[Event, str]]) -> None:
    from streams.runtime.producer import EventProducer

    async with EventProducer(settings.kafka_bootstrap) as producer:
        await producer.send_many(events)


class _Services:
    """The webhook receiver and the WAHA simulator, as child processes stopped by PID: the
    simulator's webhooks (acks, debtors' replies) reach the receiver, signed with the key the
    tenant's session names."""

    def __init__(self, settings: Settings, console: Console, clock_start: datetime | None) -> None:
        self.settings = settings
        self.clock_start = clock_start
        self.console = console
        self.logs = settings.data_dir / "logs"
        self.hmac_key = os.environ.get(HMAC_VARIABLE) or "demo-webhook-key"
        self.receiver: subprocess.Popen[bytes] | None = None
        self.simulator: Any = None

    def __enter__(self) -> _Services:
        from connectors.waha.simulator.runner import start_simulator_process

        self.logs.mkdir(parents=True, exist_ok=True)
        port = free_port()
        env = {**os.environ, HMAC_VARIABLE: self.hmac_key, "COBRANCA_WEBHOOK_PORT": str(port)}
        with (self.logs / "receiver.log").open("ab") as out:
            self.receiver = subprocess.Popen(
                [sys.executable, "-m", "streams.ops.cli", "waha", "receive"],
                env={**env, "COBRANCA_LOG_FORMAT": "json"},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        receiver_url = f"http://127.0.0.1:{port}"
        _wait_for(f"{receiver_url}/healthz", self.receiver, self.logs / "receiver.log")
        self.console.print(f"[green]✓[/] webhook receiver {receiver_url}/webhooks/waha")
        self.simulator = start_simulator_process(
            webhook_url=f"{receiver_url}/webhooks/waha",
            hmac_key=self.hmac_key,
            sessions=(SESSION,),
            extra_args=[
                "--reply-rate",
                "0.9",
                "--reply-delay",
                "1",
                "--ack-delays",
                "0.05,0.3,0.8",
            ],
            log_path=self.logs / "waha-sim.log",
        )
        self.console.print(
            f"[green]✓[/] WAHA simulator {self.simulator.url} (session {SESSION}; its debtors "
            "read most messages and answer in Portuguese)"
        )
        return self

    def worker_env(self) -> dict[str, str]:
        return {
            "WAHA_URL": self.simulator.url,
            "WAHA_API_KEY": self.simulator.api_key or "",
            "COBRANCA_DISPATCH_RATE": "10",
            "COBRANCA_CLOCK_INTERVAL_S": "5",
            HMAC_VARIABLE: self.hmac_key,
            **({"COBRANCA_CLOCK_START": self.clock_start.isoformat()} if self.clock_start else {}),
        }

    def __exit__(self, *exc: object) -> None:
        if self.simulator is not None:
            self.simulator.stop()
        if self.receiver is not None:
            _stop(self.receiver)


def _wait_for(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url} exited with {proc.returncode} before answering; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered {url} within {timeout:.0f} s; see {log}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _run_worker_until(
    settings: Settings,
    services: _Services,
    import_id: str,
    count: int,
    since: datetime,
    console: Console,
) -> None:
    """Run the worker until the run is quiet: every debtor scheduled, every approval sent
    through WAHA, every reply classified, and nothing new for a few seconds."""
    log_file = settings.data_dir / "logs" / "worker.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **services.worker_env(), "COBRANCA_LOG_FORMAT": "json"}
    with log_file.open("ab") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "streams.ops.cli", "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        last, quiet_since = None, time.monotonic()
        with console.status(f"worker running (logs: {log_file})") as status:
            while time.monotonic() < deadline:
                if worker.poll() is not None:
                    raise RuntimeError(
                        f"the worker exited with {worker.returncode}; see {log_file}"
                    )
                progress = asyncio.run(_progress(settings, import_id, since))
                status.update(f"worker running: {progress.line(count)}")
                if progress != last:
                    last, quiet_since = progress, time.monotonic()
                elif progress.settled(count) and time.monotonic() - quiet_since > QUIET_S:
                    console.print(f"[green]✓[/] {progress.line(count)}")
                    return
                time.sleep(1)
        raise RuntimeError(f"the run did not settle in 300 s ({last}); see {log_file}")
    finally:
        _stop(worker)


@dataclasses.dataclass(frozen=True)
class _Progress:
    scheduled: int
    approved: int
    dispatched: int
    failed: int
    replies: int
    classified: int

    def settled(self, count: int) -> bool:
        return (
            self.scheduled >= count
            and self.dispatched + self.failed >= self.approved
            and self.classified >= self.replies
        )

    def line(self, count: int) -> str:
        return (
            f"{self.scheduled}/{count} debtors scheduled, {self.approved} sends approved, "
            f"{self.dispatched} sent through WAHA ({self.failed} failed), {self.replies} replies, "
            f"{self.classified} classified"
        )


async def _progress(settings: Settings, import_id: str, since: datetime) -> _Progress:
    schedules = await _for_import(settings, REGUA_SCHEDULES.name, import_id)
    decided = await _since(settings, SEND_DECISIONS.name, since)
    dispatches = await _since(settings, DISPATCHES.name, since)
    inbound = await _since(settings, CONVERSATIONS.name, since)
    intents = await _since(settings, INTENTS.name, since)
    types = Counter(e["header"]["event_type"] for e in decided + dispatches)
    return _Progress(
        scheduled=len({event["client_id"] for event in schedules}),
        approved=types["SendApproved"],
        dispatched=types["MessageDispatched"],
        failed=types["DispatchFailed"],
        replies=sum(_is_reply(e) for e in inbound),
        classified=len(intents),
    )


def _is_reply(event: dict[str, Any]) -> bool:
    return bool(
        event["header"]["event_type"] == "InboundMessage"
        and not event.get("from_me")
        and not event.get("is_group")
    )


async def _since(settings: Settings, topic: str, since: datetime) -> list[dict[str, Any]]:
    """Every committed event of the demo tenant on `topic` that happened since `since`."""
    return [
        event
        for event in await _read(settings, topic)
        if event["header"]["tenant_id"] == TENANT and event["header"]["occurred_at"] >= since
    ]


async def _for_import(settings: Settings, topic: str, import_id: str) -> list[dict[str, Any]]:
    """Every committed event on `topic` that belongs to the import."""
    return [e for e in await _read(settings, topic) if e["header"]["correlation_id"] == import_id]


async def _read(settings: Settings, topic: str) -> list[dict[str, Any]]:
    """Every committed event on `topic`, decoded."""
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
    found: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=300):
            for messages in batch.values():
                found.extend(decode(m.value) for m in messages)
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
            until = event["until"].astimezone(SAO_PAULO)
            table.add_row(
                event["request_id"][:8],
                "SendDeferred",
                "",
                "",
                f"{until:%d/%m/%Y %H:%M} (São Paulo)",
            )
    console.print(table)


def _show_conversations(console: Console, settings: Settings, since: datetime) -> None:
    replies = [e for e in asyncio.run(_since(settings, CONVERSATIONS.name, since)) if _is_reply(e)]
    intents = {e["waha_message_id"]: e for e in asyncio.run(_since(settings, INTENTS.name, since))}
    actions = Counter(
        e["header"]["event_type"] for e in asyncio.run(_since(settings, ACTIONS.name, since))
    )
    table = Table("from", "reply (pt-BR)", "intent", "confidence", title="debtors' replies")
    for reply in replies[:12]:
        intent = intents.get(reply["waha_message_id"])
        table.add_row(
            mask(reply["chat_id"]),
            (reply.get("body") or "")[:70],
            intent["label"] if intent else "…",
            f"{intent['confidence']:.2f}" if intent else "",
        )
    console.print(table)
    if actions:
        done = ", ".join(f"{n} {kind}" for kind, n in sorted(actions.items()))
        console.print(f"[green]✓[/] what the replies led to: {done}")


def _show_views(console: Console, client: Any, database: str) -> None:
    """Three of the views analysts use (README: "The views"), for the demo tenant."""
    views = (
        (
            "delivery_funnel_live: what happened to the sends, by step and day",
            "SELECT day, step, requested, approved, deferred, dispatched, delivered, read, replied "
            "FROM {db}.delivery_funnel_live WHERE tenant_id = {{tenant:String}} "
            "ORDER BY day DESC, step LIMIT 8",
        ),
        (
            "intents_daily: what the debtors asked for",
            "SELECT day, label, sum(classified) AS messages, "
            "round(sum(confidence_micros) / sum(classified) / 1e6, 2) AS mean_confidence "
            "FROM {db}.intents_daily WHERE tenant_id = {{tenant:String}} "
            "GROUP BY day, label ORDER BY day DESC, messages DESC LIMIT 9",
        ),
        (
            "billing_daily and tenant_balances: tokens",
            "SELECT b.day, sum(b.credited) AS credited, sum(b.debited) AS debited, "
            "sum(b.refunded) AS refunded, any(t.balance) AS balance_now "
            "FROM {db}.billing_daily AS b LEFT JOIN {db}.tenant_balances AS t USING tenant_id "
            "WHERE b.tenant_id = {{tenant:String}} GROUP BY b.day ORDER BY b.day DESC LIMIT 5",
        ),
    )
    for title, sql in views:
        result = client.query(sql.format(db=database), parameters={"tenant": TENANT})
        table = Table(*result.column_names, title=f"{title} — {TENANT}")
        for row in result.result_rows:
            table.add_row(*(str(value) for value in row))
        console.print(table)
