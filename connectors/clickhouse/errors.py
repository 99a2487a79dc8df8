"""Errors of the ClickHouse connector.

Driver errors (`clickhouse_connect.driver.exceptions`, chDB's `RuntimeError`) never leave this
package: `client.py` and `migrations.py` catch them at the boundary and raise one of these with
`from exc`, so the original stays on `__cause__`. Every message says what was wrong, which target
(server URL, chDB path, migration file and line) and what to do next.
"""

from __future__ import annotations

from streams.base.errors import CobrancaError


class ClickHouseError(CobrancaError):
    """Base of every error the ClickHouse connector raises."""


class ClickHouseUnavailable(ClickHouseError):
    """The ClickHouse server or the embedded chDB data path could not be opened."""

    def __init__(self, message: str, *, target: str) -> None:
        super().__init__(message)
        self.target = target
        """The server URL (password masked) or the chDB data path that failed."""


class LocalServerError(ClickHouseError):
    """The local ClickHouse server (`cobranca db serve`) could not start, serve or stop."""


class InvalidClickHouseUrl(ClickHouseError):
    """CLICKHOUSE_URL is not an http(s) URL the connector can use."""


class InvalidReaderAccount(ClickHouseError):
    """CLICKHOUSE_READER_USER or CLICKHOUSE_READER_PASSWORD is not usable."""


class InvalidDatabaseName(ClickHouseError):
    """A database name is not a plain ClickHouse identifier, or names a system database."""


class MigrationError(ClickHouseError):
    """Base of the errors raised while reading or applying schema migrations."""


class InvalidMigrationFile(MigrationError):
    """A migration file is misnamed, duplicated, or its SQL cannot be split into statements."""

    def __init__(self, message: str, *, source: str, line: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        """The migration file's path."""
        self.line = line
        """The 1-based line the problem starts on, when it is inside the file."""


class MigrationChecksumMismatch(MigrationError):
    """A migration file changed after it was applied; it is never re-run silently."""

    def __init__(
        self, message: str, *, source: str, version: int, recorded: str, actual: str
    ) -> None:
        super().__init__(message)
        self.source = source
        self.version = version
        self.recorded = recorded
        """Checksum stored in schema_migrations when the file was applied."""
        self.actual = actual
        """Checksum of the file as it is now."""


class MigrationHistoryConflict(MigrationError):
    """The database's migration history does not fit the files: unknown, renamed or out of order."""


class MigrationFailed(MigrationError):
    """ClickHouse rejected a statement of a migration file."""

    def __init__(self, message: str, *, source: str, line: int) -> None:
        super().__init__(message)
        self.source = source
        self.line = line
        """The 1-based line where the failing statement starts."""


class SinkError(ClickHouseError):
    """The sink could not read Kafka or write ClickHouse; its uncommitted ranges are retried."""


class SinkInsertFailed(SinkError):
    """ClickHouse refused a batch of rows; nothing of it was committed to Kafka."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        """Nothing answered (connection refused, reset, no response): ClickHouse is down or
        restarting, not refusing these rows. The sink waits for it
        (`SinkConfig.clickhouse_wait_s`)."""


class ReplayError(ClickHouseError):
    """`cobranca replay` could not rebuild the database, or its comparison could not run."""


class TraceError(ClickHouseError):
    """`cobranca trace` was given something that is neither a request id nor a phone."""


class QueryFailed(ClickHouseError):
    """ClickHouse rejected a query given to `cobranca db query`."""
