from __future__ import annotations

import shutil
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from clickhouse_connect.driver.client import Client

from connectors.clickhouse import (
    InvalidDatabaseName,
    MigrationChecksumMismatch,
    MigrationFailed,
    MigrationHistoryConflict,
    MigrationState,
    apply_migrations,
    load_migrations,
    migration_status,
    pending_migrations,
)
from connectors.clickhouse.migrations import default_migrations_dir

pytestmark = pytest.mark.integration

PROJECT_NAMES = [m.name for m in load_migrations()]


def tables(client: Client, database: str) -> set[str]:
    rows = client.query(
        "SELECT name FROM system.tables WHERE database = {db:String}", parameters={"db": database}
    ).result_rows
    return {name for (name,) in rows}


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A private copy of the project's first two migrations that a test may edit and extend."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name in ("0001_raw_events.sql", "0002_events_per_tenant_day.sql"):
        shutil.copy(str(default_migrations_dir().joinpath(name)), folder / name)
    return folder


def test_migrates_a_fresh_database_once(client: Client, database: str) -> None:
    assert apply_migrations(client, database) == PROJECT_NAMES
    assert apply_migrations(client, database) == []
    assert pending_migrations(client, database) == []
    assert {
        "schema_migrations",
        "raw_ledger",
        "events_per_tenant_day",
        "events_per_tenant_day_from_ledger",
        "billing_daily",
        "delivery_funnel",
    } <= tables(client, database)
    assert "events_per_tenant_day_mv" not in tables(client, database)
    engine = client.query(
        "SELECT engine FROM system.tables WHERE database = {db:String} AND name = 'raw_events'",
        parameters={"db": database},
    ).result_rows
    assert engine == [("View",)]  # 0004 dropped the table, 0010 made it a view of every raw table


def test_history_records_each_file_once(client: Client, database: str) -> None:
    apply_migrations(client, database)
    apply_migrations(client, database)
    rows = client.query(
        f"SELECT version, name, checksum, applied_at FROM {database}.schema_migrations "
        "ORDER BY version"
    ).result_rows
    expected = [(m.version, m.name, m.checksum) for m in load_migrations()]
    assert [row[:3] for row in rows] == expected
    applied_at = rows[0][3]
    assert applied_at.tzinfo is not None
    assert applied_at.utcoffset() == timedelta(0)
    assert applied_at.astimezone(UTC) == applied_at


def test_status_is_read_only_and_all_pending_before_the_first_run(
    client: Client, database: str
) -> None:
    statuses = migration_status(client, database)
    assert [(s.name, s.state) for s in statuses] == [
        (name, MigrationState.PENDING) for name in PROJECT_NAMES
    ]
    assert tables(client, database) == set()
    assert client.command(f"EXISTS DATABASE {database}") == 0

    apply_migrations(client, database)
    assert {s.state for s in migration_status(client, database)} == {MigrationState.APPLIED}


def test_a_changed_file_is_refused_and_nothing_runs(
    client: Client, database: str, migrations_dir: Path
) -> None:
    apply_migrations(client, database, migrations_dir)
    edited = migrations_dir / "0001_raw_events.sql"
    edited.write_text(edited.read_text() + "\n-- an innocent-looking edit\n")
    (migrations_dir / "0099_next.sql").write_text(
        "CREATE TABLE IF NOT EXISTS {database}.next (x UInt8) ENGINE = Memory;"
    )

    with pytest.raises(MigrationChecksumMismatch) as caught:
        apply_migrations(client, database, migrations_dir)

    assert caught.value.source == str(edited)
    assert caught.value.version == 1
    assert str(caught.value).startswith(f"{edited} changed after it was applied")
    assert "new migration" in str(caught.value)
    assert "next" not in tables(client, database)
    states = {s.name: s.state for s in migration_status(client, database, migrations_dir)}
    assert states["0001_raw_events"] is MigrationState.CHANGED
    assert states["0099_next"] is MigrationState.PENDING


def test_a_recorded_version_without_a_file_is_refused(
    client: Client, database: str, migrations_dir: Path
) -> None:
    apply_migrations(client, database, migrations_dir)
    (migrations_dir / "0002_events_per_tenant_day.sql").unlink()
    with pytest.raises(MigrationHistoryConflict, match="database is newer than this code"):
        apply_migrations(client, database, migrations_dir)
    states = {s.name: s.state for s in migration_status(client, database, migrations_dir)}
    assert states["0002_events_per_tenant_day"] is MigrationState.UNKNOWN


def test_a_renamed_file_is_refused(client: Client, database: str, migrations_dir: Path) -> None:
    apply_migrations(client, database, migrations_dir)
    (migrations_dir / "0002_events_per_tenant_day.sql").rename(migrations_dir / "0002_renamed.sql")
    with pytest.raises(MigrationHistoryConflict, match="was applied as 0002_events_per_tenant_day"):
        apply_migrations(client, database, migrations_dir)


def test_a_file_added_below_an_applied_version_is_refused(
    client: Client, database: str, migrations_dir: Path
) -> None:
    (migrations_dir / "0002_events_per_tenant_day.sql").rename(
        migrations_dir / "0003_events_per_tenant_day.sql"
    )
    apply_migrations(client, database, migrations_dir)
    late = migrations_dir / "0002_late.sql"
    late.write_text("CREATE TABLE IF NOT EXISTS {database}.late (x UInt8) ENGINE = Memory;")
    with pytest.raises(MigrationHistoryConflict, match="must be added in order") as caught:
        apply_migrations(client, database, migrations_dir)
    assert str(caught.value).startswith(str(late))


def test_a_rejected_statement_names_file_and_line_and_is_not_recorded(
    client: Client, database: str, migrations_dir: Path
) -> None:
    broken = migrations_dir / "0003_broken.sql"
    broken.write_text(
        "-- two statements, the second one wrong\n"
        "CREATE TABLE IF NOT EXISTS {database}.first (x UInt8) ENGINE = Memory;\n"
        "\n"
        "CREATE TABLE IF NOT EXISTS {database}.second (x NoSuchType) ENGINE = Memory;\n"
    )
    with pytest.raises(MigrationFailed) as caught:
        apply_migrations(client, database, migrations_dir)
    assert (caught.value.source, caught.value.line) == (str(broken), 4)
    assert str(caught.value).startswith(f"{broken}: line 4: ClickHouse rejected the statement")
    assert "NoSuchType" in str(caught.value)
    states = {s.name: s.state for s in migration_status(client, database, migrations_dir)}
    assert states == {
        "0001_raw_events": MigrationState.APPLIED,
        "0002_events_per_tenant_day": MigrationState.APPLIED,
        "0003_broken": MigrationState.PENDING,
    }

    broken.write_text(broken.read_text().replace("NoSuchType", "UInt8"))
    assert apply_migrations(client, database, migrations_dir) == ["0003_broken"]
    assert {"first", "second"} <= tables(client, database)


def test_an_invalid_database_name_is_refused_before_any_query(client: Client) -> None:
    with pytest.raises(InvalidDatabaseName):
        apply_migrations(client, "cobranca; DROP DATABASE x")
    with pytest.raises(InvalidDatabaseName):
        migration_status(client, "system")
