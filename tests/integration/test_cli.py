"""The `cobranca` command from a shell, as the README promises it."""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.base.settings import Settings
from tests.cli import cobranca

pytestmark = pytest.mark.integration


def test_topics_create_is_idempotent_and_list_shows_end_offsets(kafka_bootstrap: str) -> None:
    env = {"COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap}
    first = cobranca("topics", "create", env=env)
    assert first.returncode == 0, first.stderr
    again = cobranca("topics", "create", env=env)
    assert again.returncode == 0, again.stderr
    assert "0 topics created" in again.stdout
    listing = cobranca("topics", "list", env=env)
    assert listing.returncode == 0, listing.stderr
    for name in ("cobranca.clients", "cobranca.ledger", "cobranca.dead-letters"):
        assert name in listing.stdout
    assert "missing" not in listing.stdout

    as_json = cobranca("topics", "list", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert {t["topic"] for t in document} >= {"cobranca.clients", "cobranca.ledger"}
    for topic in document:
        assert topic["exists"] is True and isinstance(topic["partitions"], int)
        assert isinstance(topic["end_offsets"], int) and topic["topic"] in listing.stdout


def test_topics_without_a_broker_say_what_to_do() -> None:
    done = cobranca("topics", "list", env={"COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    assert done.returncode == 1
    assert "cobranca broker start" in done.stderr
    assert "Traceback" not in done.stderr


def _clickhouse_env(settings: Settings, **extra: str) -> dict[str, str]:
    return {
        "CLICKHOUSE_URL": settings.clickhouse_url,
        "CLICKHOUSE_DATABASE": f"cli_{uuid.uuid4().hex[:10]}",
        **extra,
    }


def test_db_migrate_is_idempotent(clickhouse_settings: Settings) -> None:
    env = _clickhouse_env(clickhouse_settings)
    first = cobranca("db", "migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "applied 0003_raw_tables" in first.stdout
    again = cobranca("db", "migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert "up to date" in again.stdout
    status = cobranca("db", "status", env=env)
    assert "0006_delivery_funnel: applied" in status.stdout

    as_json = cobranca(
        "--clickhouse-url", env.pop("CLICKHOUSE_URL"), "db", "status", "--json", env=env
    )
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    funnel = next(row for row in rows if row["version"] == 6)
    assert funnel["state"] == "applied" and f"{funnel['name']}: applied" in status.stdout
    applied = datetime.fromisoformat(funnel["applied_at"])
    assert applied.utcoffset() == timedelta(0)
    assert f"at {applied:%Y-%m-%d %H:%M:%S}" in status.stdout
    assert len(rows) == len(status.stdout.splitlines())


def test_db_query_prints_a_table_or_json(clickhouse_settings: Settings) -> None:
    env = _clickhouse_env(clickhouse_settings)
    assert cobranca("db", "migrate", env=env).returncode == 0
    as_json = cobranca(
        "db", "query", "SELECT 1 AS one, 'São Paulo' AS city, toDate('2026-11-20') AS day",
        "--format", "json", env=env,
    )  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == [{"one": 1, "city": "São Paulo", "day": "2026-11-20"}]
    # Unqualified names resolve in CLICKHOUSE_DATABASE.
    table = cobranca("db", "query", "SELECT count() AS rows FROM raw_ledger", env=env)
    assert table.returncode == 0, table.stderr
    assert "rows" in table.stdout and "0" in table.stdout
    wrong = cobranca("db", "query", "SELEC 1", env=env)
    assert wrong.returncode == 1
    assert "ClickHouse rejected the query" in wrong.stderr and "SYNTAX_ERROR" in wrong.stderr
    assert "Traceback" not in wrong.stderr


def test_db_commands_without_a_server_say_how_to_start_one() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = cobranca("db", "query", "SELECT 1", env={"CLICKHOUSE_URL": f"http://127.0.0.1:{port}"})
    assert done.returncode == 1
    assert "cobranca db start" in done.stderr
    assert "Traceback" not in done.stderr


def test_sink_trace_and_replay_from_the_command_line(
    kafka_bootstrap: str, clickhouse_settings: Settings
) -> None:
    from streams.runtime.producer import EventProducer
    from tests import factories as f

    tenant = f"cli{uuid.uuid4().hex[:6]}"
    phone = "+5521998877665"
    at = datetime(2026, 11, 20, 13, tzinfo=UTC)
    events = [
        f.client_imported(tenant, 1, phone=phone, at=at),
        *f.send_story(tenant, f"{tenant}-r1", at=at, phone=phone, client_id="c000001"),
        f.payment_promised(tenant, "c000001", at=at + timedelta(minutes=20)),
    ]

    async def produce() -> None:
        async with EventProducer(kafka_bootstrap) as producer:
            await producer.send_many((e, f"{tenant}:{e.header.correlation_id}") for e in events)

    asyncio.run(produce())
    env = _clickhouse_env(
        clickhouse_settings,
        COBRANCA_KAFKA_BOOTSTRAP=kafka_bootstrap,
        COBRANCA_APP_ID=f"cli-{uuid.uuid4().hex[:6]}",
    )
    assert cobranca("db", "migrate", env=env).returncode == 0
    sunk = cobranca("sink", "--drain", "--max-wait", "0.2", env=env)
    assert sunk.returncode == 0, sunk.stderr[-3000:]
    assert json.loads(sunk.stdout.strip().splitlines()[-1])["rows"] >= len(events)

    request = cobranca("trace", f"{tenant}-r1", "--tenant", tenant, env=env)
    assert request.returncode == 0, request.stderr
    assert request.stdout.startswith(f"trace of request {tenant}-r1: 7 events")
    for event_type in ("SendRequested", "TokensDebited", "SendApproved", "MessageDispatched",
                       "DeliveryStatusChanged", "InboundMessage"):  # fmt: skip
        assert event_type in request.stdout
    assert "cobranca.sends.requested[" in request.stdout

    person = cobranca("trace", "(21) 99887-7665", "--json", env=env)
    assert person.returncode == 0, person.stderr
    timeline = [json.loads(line) for line in person.stdout.splitlines()]
    types = [event["event_type"] for event in timeline]
    times = [event["occurred_at"] for event in timeline]
    assert times == sorted(times)
    assert types[0] == "ClientImported" and "PaymentPromised" in types
    assert "InboundMessage" in types and len(types) == len(events)
    assert "998877665" not in person.stdout  # pseudonyms only

    replay_db = f"{env['CLICKHOUSE_DATABASE']}_replay"
    replayed = cobranca("replay", "--into", replay_db, "--compare", env=env)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr[-2000:]
    assert replayed.stdout.strip().endswith("equal")
    assert "raw_sends_requested" in replayed.stdout


def test_broker_status_exits_nonzero_when_stopped(tmp_path: Path) -> None:
    env = {"COBRANCA_DATA_DIR": str(tmp_path), "COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    done = cobranca("broker", "status", env=env)
    assert done.returncode == 1
    assert "not running" in done.stdout
    assert str(tmp_path / "kafka" / "logs" / "server.log") in done.stdout
