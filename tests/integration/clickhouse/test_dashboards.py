"""Every ClickHouse query of the provisioned Grafana dashboards, run as Grafana runs it: Grafana's
macros and the tenant variable substituted, as the read-only login (migration 0012), against
the real engine loaded with a demo-like month of two tenants. Each panel must answer with the
columns it shows, with rows where the data has some, and the tenant filter must hold.

Grafana cannot run here; what it adds to a query is its macros (the ClickHouse plugin's
`$__timeFilter`, `$__dateFilter`) and the variables (`${tenant:sqlstring}`), rendered below the
way the plugin renders them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.replay import refresh_views
from connectors.clickhouse.server import LocalClickHouse
from schemas.events import Event
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.clickhouse_cli import DB_SERVE
from tests import factories as f
from tests.integration.clickhouse.events import FakeLog, sink
from tests.integration.conftest import server_settings

pytestmark = pytest.mark.integration

DASHBOARDS = Path(__file__).resolve().parents[3] / "infra" / "grafana" / "dashboards"
DATABASE = "dashboards"  # its own: the shared test writer registers schemas per name
READER = {"CLICKHOUSE_READER_USER": "grafana", "CLICKHOUSE_READER_PASSWORD": "dashboards-reader-pw"}
DAY0 = datetime(2026, 11, 18, 13, 0, tzinfo=UTC)  # 10:00 in São Paulo
FROM, TO = datetime(2026, 11, 17, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC)
TENANTS = ("acme", "globex")

#: The columns each ClickHouse panel answers with, by dashboard and title.
EXPECTED: dict[tuple[str, str], list[str]] = {
    ("cobranca-overview", "Events in range"): ["events"],
    ("cobranca-overview", "Seconds since last ingest"): ["seconds_behind"],
    ("cobranca-overview", "Events per minute by topic"): ["time", "topic", "events"],
    ("cobranca-overview", "Events per topic per minute"): [
        "minute",
        "topic",
        "events",
        "tenants",
        "event_types",
    ],
    ("cobranca-business", "Tokens debited per day, by tenant"): ["time", "tenant_id", "debited"],
    ("cobranca-business", "Billing per tenant and day"): [
        "tenant_id",
        "day",
        "credited",
        "debited",
        "refunded",
        "net",
    ],
    ("cobranca-business", "Approved sends and their tokens by kind"): [
        "tenant_id",
        "kind",
        "sends",
        "tokens",
    ],
    ("cobranca-business", "Token balances now"): [
        "tenant_id",
        "balance",
        "as_of",
        "ledger_movements",
    ],
    (
        "cobranca-business",
        "Funnel: requested → approved → dispatched → delivered → read → replied",
    ): ["requested", "approved", "dispatched", "delivered", "read", "replied"],
    ("cobranca-business", "Funnel per tenant and régua step"): [
        "tenant_id",
        "step",
        "requested",
        "approved",
        "rejected",
        "deferred",
        "dispatched",
        "delivered",
        "read",
        "replied",
        "read_rate",
        "reply_rate",
    ],
    ("cobranca-business", "Intents per day"): ["time", "label", "replies"],
    ("cobranca-business", "Intents and mean confidence"): ["label", "replies", "mean_confidence"],
    ("cobranca-business", "Promises to pay per day"): [
        "day",
        "tenant_id",
        "promises",
        "promised_brl",
        "followed_by_a_claim",
        "claim_rate",
    ],
    ("cobranca-business", "Hand-offs to a person, by reason"): ["tenant_id", "reason", "handoffs"],
    ("cobranca-business", "Response times per tenant and day (seconds: p50 / p90 / p99)"): [
        "tenant_id",
        "day",
        "dispatched",
        "read",
        "replied",
        "dispatch_to_read_p50_s",
        "dispatch_to_read_p90_s",
        "read_to_reply_p50_s",
        "read_to_reply_p90_s",
        "dispatch_to_reply_p50_s",
        "dispatch_to_reply_p99_s",
    ],
}


def demo_month() -> list[Event]:
    """Two tenants, three days: credits, sends reaching every stage, replies classified,
    promises (one claimed), hand-offs, a rejection for lack of tokens."""
    events: list[Event] = []
    for t, tenant in enumerate(TENANTS):
        events.append(f.tokens_credited(tenant, 500, balance_after=500, at=DAY0))
        for day in range(3):
            at = DAY0 + timedelta(days=day, hours=t)
            stages = ("replied", "read", "delivered", "dispatched", "replied")
            for n, reached in enumerate(stages):
                request = f"{tenant}-{day}-{n}"
                phone = f"+55119876{t}{day}{n:03d}"
                events += f.send_story(
                    tenant,
                    request,
                    at=at + timedelta(minutes=n),
                    step="D0" if n % 2 else "D-3",
                    phone=phone,
                    client_id=f"c{day}{n}",
                    reached=reached,
                    balance_after=499 - 5 * day - n,
                )
            events.append(f.send_story(tenant, f"{tenant}-{day}-x", at=at, reached="requested")[0])
            events += [
                f.intent_classified(tenant, at=at + timedelta(minutes=11)),
                f.intent_classified(
                    tenant, label="dispute", confidence=0.5, at=at + timedelta(minutes=12)
                ),
                f.payment_promised(tenant, f"c{day}0", at=at + timedelta(minutes=11)),
                f.handoff_requested(tenant, at=at + timedelta(minutes=12)),
            ]
        events.append(f.payment_claimed(tenant, "c00", at=DAY0 + timedelta(days=1)))
    return events


@pytest.fixture(scope="module")
def reader_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = server_settings(
        tmp_path_factory.mktemp("clickhouse-dashboards"),
        free_port(),
        CLICKHOUSE_DATABASE=DATABASE,
    )
    server = LocalClickHouse.from_settings(settings, READER)
    server.start(DB_SERVE, timeout=90)
    try:
        yield settings
    finally:
        server.stop()


@pytest.fixture(scope="module")
def grafana(reader_server: Settings) -> Iterator[Client]:
    """The read-only login, as Grafana's datasource uses it, over a loaded database."""
    with connect(reader_server) as admin:
        apply_migrations(admin, DATABASE)
        sink(admin, DATABASE, FakeLog().batches(demo_month()))
        refresh_views(admin, DATABASE)
    port = int(reader_server.clickhouse_url.rsplit(":", 1)[1])
    client = clickhouse_connect.get_client(
        host="127.0.0.1",
        port=port,
        username=READER["CLICKHOUSE_READER_USER"],
        password=READER["CLICKHOUSE_READER_PASSWORD"],
    )
    try:
        yield client
    finally:
        client.close()


# -- Grafana's side ------------------------------------------------------------------------------


def render(sql: str, tenants: tuple[str, ...] | None) -> str:
    """`sql` as the ClickHouse plugin sends it for FROM..TO and the tenant variable (None: All)."""
    values = ("__all",) if tenants is None else tenants
    sql = re.sub(r"\$\{tenant(?::sqlstring)?\}", ",".join(f"'{v}'" for v in values), sql)
    start, end = int(FROM.timestamp()), int(TO.timestamp())
    sql = re.sub(
        r"\$__timeFilter\((\w+)\)",
        rf"\1 >= toDateTime({start}) AND \1 <= toDateTime({end})",
        sql,
    )
    sql = re.sub(
        r"\$__dateFilter\((\w+)\)",
        rf"\1 >= toDate(toDateTime({start})) AND \1 <= toDate(toDateTime({end}))",
        sql,
    )
    sql = sql.replace("$__fromTime", f"toDateTime({start})").replace(
        "$__toTime", f"toDateTime({end})"
    )
    assert "$" not in sql, f"a macro or variable the test does not render: {sql}"
    return sql


def dashboards() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(DASHBOARDS.glob("*.json")):
        dashboard = json.loads(path.read_text(encoding="utf-8"))
        out[dashboard["uid"]] = dashboard
    return out


def clickhouse_panels() -> list[tuple[str, str, str]]:
    """(dashboard uid, panel title, SQL) of every ClickHouse query."""
    found = []
    for uid, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                if target["datasource"]["type"] == "grafana-clickhouse-datasource":
                    found.append((uid, panel["title"], target["rawSql"]))
    return found


PANELS = clickhouse_panels()


def test_every_clickhouse_panel_has_its_expected_columns_listed() -> None:
    assert {(uid, title) for uid, title, _ in PANELS} == set(EXPECTED)
    business = dashboards()["cobranca-business"]
    assert business["templating"]["list"][0]["datasource"]["type"] == (
        "grafana-clickhouse-datasource"
    )


@pytest.mark.parametrize(("uid", "title", "sql"), PANELS, ids=[f"{u}:{t}" for u, t, _ in PANELS])
def test_each_panel_answers_with_its_columns_and_rows(
    grafana: Client, uid: str, title: str, sql: str
) -> None:
    result = grafana.query(render(sql, None))
    assert list(result.column_names) == EXPECTED[(uid, title)]
    assert result.result_rows, f"{title}: no rows over a month of data"
    if "tenant_id" in result.column_names:
        column = result.column_names.index("tenant_id")
        assert {row[column] for row in result.result_rows} == set(TENANTS)
        # One tenant chosen: only its rows.
        only = grafana.query(render(sql, ("globex",)))
        assert only.result_rows
        assert {row[column] for row in only.result_rows} == {"globex"}


def test_the_panels_show_the_numbers_of_the_data(grafana: Client) -> None:
    by_title = {title: sql for _, title, sql in PANELS}
    funnel = grafana.query(
        render(
            by_title["Funnel: requested → approved → dispatched → delivered → read → replied"], None
        )
    ).result_rows
    # Per tenant and day: 6 requested, 5 approved and dispatched, 4 delivered, 3 read, 2 replied.
    assert funnel == [(36, 30, 30, 24, 18, 12)]
    balances = grafana.query(render(by_title["Token balances now"], ("acme",))).result_rows
    assert [(tenant, balance) for tenant, balance, *_ in balances] == [("acme", 485)]
    promises = grafana.query(render(by_title["Promises to pay per day"], ("acme",))).result_rows
    assert sum(row[2] for row in promises) == 3 and sum(row[4] for row in promises) == 1


def test_the_tenant_variable_lists_every_tenant(grafana: Client) -> None:
    for uid, dashboard in dashboards().items():
        for variable in dashboard["templating"]["list"]:
            rows = grafana.query(render(variable["query"], None)).result_rows
            assert [row[0] for row in rows] == list(TENANTS), uid
