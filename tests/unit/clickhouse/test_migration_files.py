from __future__ import annotations

from pathlib import Path

import pytest

from connectors.clickhouse import (
    InvalidDatabaseName,
    InvalidMigrationFile,
    load_migrations,
    validate_database_name,
)
from connectors.clickhouse.migrations import checksum_of, default_migrations_dir, parse_migration

TABLE = "CREATE TABLE IF NOT EXISTS {database}.t (x UInt8) ENGINE = Memory;\n"


@pytest.mark.parametrize("name", ["cobranca", "cobranca_audit_2024", "_x", "Analytics"])
def test_plain_identifiers_are_valid_database_names(name: str) -> None:
    assert validate_database_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "1abc", "a-b", "a.b", "a b", "a;DROP", "`a`", "naïve", "x" * 129, "a\n"],
)
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidDatabaseName, match="CLICKHOUSE_DATABASE"):
        validate_database_name(name)


@pytest.mark.parametrize("name", ["system", "SYSTEM", "information_schema", "INFORMATION_SCHEMA"])
def test_system_databases_are_refused(name: str) -> None:
    with pytest.raises(InvalidDatabaseName, match="system database"):
        validate_database_name(name)


def test_parse_reads_version_name_and_statements() -> None:
    migration = parse_migration("0042_delivery_funnel.sql", "-- about\n" + TABLE + TABLE)
    assert migration.version == 42
    assert migration.name == "0042_delivery_funnel"
    assert [s.line for s in migration.statements] == [2, 3]


@pytest.mark.parametrize(
    "file_name",
    ["42_x.sql", "00042_x.sql", "0042-x.sql", "0042_X.sql", "0042_.sql", "0042.sql", "x_0042.sql"],
)
def test_misnamed_files_are_refused(file_name: str) -> None:
    with pytest.raises(InvalidMigrationFile, match=r"NNNN_name\.sql"):
        parse_migration(file_name, TABLE)


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(InvalidMigrationFile, match="no SQL statement"):
        parse_migration("0001_empty.sql", "-- TODO\n")


def test_a_statement_without_the_database_placeholder_is_refused() -> None:
    with pytest.raises(InvalidMigrationFile) as caught:
        parse_migration("0001_x.sql", TABLE + "\nCREATE TABLE t2 (x UInt8) ENGINE = Memory;")
    assert caught.value.line == 3
    assert "{database}" in str(caught.value)


def test_render_substitutes_a_validated_database_name() -> None:
    migration = parse_migration("0001_x.sql", TABLE)
    assert migration.render("analytics")[0].sql.startswith("CREATE TABLE IF NOT EXISTS analytics.t")
    with pytest.raises(InvalidDatabaseName):
        migration.render("analytics; DROP DATABASE x")


def test_checksum_ignores_line_ending_style_but_not_content() -> None:
    assert checksum_of("a\nb\n") == checksum_of("a\r\nb\r\n") == checksum_of("a\rb\r")
    assert checksum_of("a\nb\n") != checksum_of("a\nb \n")


def test_load_sorts_by_version_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "0010_later.sql").write_text(TABLE)
    (tmp_path / "0002_earlier.sql").write_text(TABLE)
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "0003_dir.sql").mkdir()
    assert [m.name for m in load_migrations(tmp_path)] == ["0002_earlier", "0010_later"]


def test_load_refuses_two_files_with_one_version(tmp_path: Path) -> None:
    (tmp_path / "0002_a.sql").write_text(TABLE)
    (tmp_path / "0002_b.sql").write_text(TABLE)
    with pytest.raises(InvalidMigrationFile, match="version 0002 is also used by"):
        load_migrations(tmp_path)


def test_load_refuses_a_misnamed_sql_file(tmp_path: Path) -> None:
    (tmp_path / "0001_ok.sql").write_text(TABLE)
    (tmp_path / "2_oops.sql").write_text(TABLE)
    with pytest.raises(InvalidMigrationFile) as caught:
        load_migrations(tmp_path)
    assert caught.value.source == str(tmp_path / "2_oops.sql")


def test_the_project_migrations_load() -> None:
    migrations = load_migrations()
    assert [m.name for m in migrations][:2] == ["0001_raw_events", "0002_events_per_tenant_day"]
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert all(m.source.startswith(str(default_migrations_dir())) for m in migrations)
