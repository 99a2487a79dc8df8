"""ClickHouse: the client (a server over HTTP, or chDB embedded), schema migrations, errors."""

from __future__ import annotations

from connectors.clickhouse.client import (
    HttpTarget,
    connect,
    deduplicated_insert_settings,
    parse_clickhouse_url,
)
from connectors.clickhouse.errors import (
    ClickHouseError,
    ClickHouseUnavailable,
    InvalidClickHouseUrl,
    InvalidDatabaseName,
    InvalidMigrationFile,
    MigrationChecksumMismatch,
    MigrationError,
    MigrationFailed,
    MigrationHistoryConflict,
)
from connectors.clickhouse.migrations import (
    Migration,
    MigrationState,
    MigrationStatus,
    Statement,
    apply_migrations,
    load_migrations,
    migration_status,
    pending_migrations,
    split_statements,
    validate_database_name,
)

__all__ = [
    "ClickHouseError",
    "ClickHouseUnavailable",
    "HttpTarget",
    "InvalidClickHouseUrl",
    "InvalidDatabaseName",
    "InvalidMigrationFile",
    "Migration",
    "MigrationChecksumMismatch",
    "MigrationError",
    "MigrationFailed",
    "MigrationHistoryConflict",
    "MigrationState",
    "MigrationStatus",
    "Statement",
    "apply_migrations",
    "connect",
    "deduplicated_insert_settings",
    "load_migrations",
    "migration_status",
    "parse_clickhouse_url",
    "pending_migrations",
    "split_statements",
    "validate_database_name",
]
