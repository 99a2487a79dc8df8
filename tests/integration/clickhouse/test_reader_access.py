"""The read-only login on the real engine (`cobranca db serve`): it reads the views and is refused
every write, schema change and other database (ADR 0020, migration 0012).

A server of its own, started with CLICKHOUSE_READER_USER/PASSWORD, since the session's server
(tests/integration/conftest.py) has no reader.
"""

from __future__ import annotations

from collections.abc import Iterator

import clickhouse_connect
import pytest
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import DatabaseError

from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.server import LocalClickHouse
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.clickhouse_cli import DB_SERVE
from tests.integration.clickhouse.events import FakeLog, sink
from tests.integration.clickhouse.test_views import every_event_type
from tests.integration.conftest import server_settings

pytestmark = pytest.mark.integration

DATABASE = "reader_analytics"  # its own: the shared test writer registers schemas per name
READER = {
    "CLICKHOUSE_READER_USER": "grafana",
    "CLICKHOUSE_READER_PASSWORD": "a-reader-pw-for-tests",
}


@pytest.fixture(scope="module")
def reader_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    settings = server_settings(
        tmp_path_factory.mktemp("clickhouse-reader"), free_port(), CLICKHOUSE_DATABASE=DATABASE
    )
    server = LocalClickHouse.from_settings(settings, READER)
    server.start(DB_SERVE, timeout=90)
    try:
        yield settings
    finally:
        server.stop()


@pytest.fixture(scope="module")
def admin(reader_server: Settings) -> Iterator[Client]:
    with connect(reader_server) as client:
        applied = apply_migrations(client, DATABASE)
        assert "0012_read_only_access" in applied  # its access statements skipped here
        sink(client, DATABASE, FakeLog().batches(every_event_type()))
        client.command("CREATE DATABASE IF NOT EXISTS elsewhere")
        client.command("CREATE TABLE elsewhere.t (a UInt8) ENGINE = MergeTree ORDER BY a")
        yield client


def reader_client(
    settings: Settings, password: str = READER["CLICKHOUSE_READER_PASSWORD"]
) -> Client:
    port = int(settings.clickhouse_url.rsplit(":", 1)[1])
    return clickhouse_connect.get_client(
        host="127.0.0.1", port=port, username="grafana", password=password
    )


@pytest.fixture(scope="module")
def reader(reader_server: Settings, admin: Client) -> Iterator[Client]:
    client = reader_client(reader_server)
    try:
        yield client
    finally:
        client.close()


def test_the_reader_reads_the_views_and_tables_of_its_database(reader: Client) -> None:
    billing = reader.query(
        "SELECT tenant_id, sum(credited), sum(debited) FROM billing_daily GROUP BY tenant_id"
    ).result_rows
    assert billing == [("acme", 100, 1)]
    assert reader.query(f"SELECT count() FROM {DATABASE}.raw_events").result_rows[0][0] > 0
    # raw_clients but its name piece hashes (0015).
    assert reader.query(f"SELECT count(client_id) FROM {DATABASE}.raw_clients").result_rows[0][0]


@pytest.mark.parametrize(
    "sql",
    [
        f"INSERT INTO {DATABASE}.raw_dead_letters (topic) VALUES ('x')",
        f"DROP TABLE {DATABASE}.raw_ledger",
        f"CREATE TABLE {DATABASE}.mine (a UInt8) ENGINE = MergeTree ORDER BY a",
        f"ALTER TABLE {DATABASE}.raw_ledger ADD COLUMN extra UInt8",
        f"ALTER TABLE {DATABASE}.raw_ledger DELETE WHERE 1",
        f"TRUNCATE TABLE {DATABASE}.raw_ledger",
        "CREATE DATABASE mine",
        "SELECT count() FROM elsewhere.t",
        "SELECT name FROM system.users",
        "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        "SET readonly = 0",
        # the debtor search's name piece hashes (0015)
        f"SELECT name_grams FROM {DATABASE}.raw_clients",
        f"SELECT * FROM {DATABASE}.raw_clients",
        f"SELECT count() FROM {DATABASE}.debtor_search",
    ],
)
def test_the_reader_is_refused_everything_else(reader: Client, sql: str) -> None:
    with pytest.raises(DatabaseError) as refused:
        reader.command(sql)
    text = str(refused.value)
    assert "ACCESS_DENIED" in text or "READONLY" in text, text


def test_a_wrong_password_is_refused(reader_server: Settings, admin: Client) -> None:
    with pytest.raises(DatabaseError, match="AUTHENTICATION_FAILED"):
        reader_client(reader_server, password="not-the-password")


def test_the_migrations_access_statements_parse_on_the_real_engine(admin: Client) -> None:
    """clickhouse-local cannot run them (no writable access storage), but its parser is
    clickhouse-server's: each statement as the runner renders it is valid SQL."""
    from connectors.clickhouse.access import ACCESS_STATEMENT, ReaderAccount
    from connectors.clickhouse.migrations import load_migrations

    names = ("0012_read_only_access", "0015_debtor_search")
    placeholders = ReaderAccount("grafana", READER["CLICKHOUSE_READER_PASSWORD"]).placeholders()
    statements = []
    for migration in [m for m in load_migrations() if m.name in names]:
        for statement in migration.render("cobranca"):
            sql = statement.sql
            for placeholder, value in placeholders.items():
                sql = sql.replace(placeholder, value)
            if migration.name == names[0] or sql.startswith("REVOKE"):
                assert ACCESS_STATEMENT.match(sql), sql
                statements.append(sql)
    assert len(statements) == 6
    for sql in statements:
        formatted = admin.query("SELECT formatQuery({q:String})", parameters={"q": sql})
        assert formatted.result_rows[0][0].split()[:2] == sql.split()[:2]
