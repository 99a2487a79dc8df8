"""Versioned, idempotent ClickHouse schema migrations.

Files live in `infra/clickhouse/migrations/` and are named `NNNN_name.sql` (four digits, then
lowercase letters, digits and `_`). They run in version order, once per database: the runner
records each applied file in `<database>.schema_migrations` with the SHA-256 of its text, and
skips it on every later run. A file that changed after it was applied is refused with
`MigrationChecksumMismatch`; it is never re-run. To change the schema, add a new file.

Writing a migration:

- Qualify every object with the `{database}` placeholder (`CREATE TABLE {database}.raw_events`);
  the runner substitutes the configured database name, validated as a plain identifier. A
  statement that never mentions `{database}` is refused, because it would land in whatever
  database the connection defaults to.
- Separate statements with `;`. The splitter ignores `;` inside '...', "..." and `...` literals
  (backslash escapes and doubled quotes both understood), `--` and `# ` line comments, and
  `/* */` block comments (nested, as ClickHouse allows). Heredoc literals (`$$...$$`) are not
  understood: do not put a `;` inside one.
- ClickHouse DDL is not transactional, so a file that fails half-way stays half-applied and is
  not recorded. Write statements with `IF NOT EXISTS` so that re-running the file after fixing
  the cause is safe.

The checksum is taken over the file's text with line endings normalised to `\\n`, so a checkout
with CRLF line endings does not count as a change.

Access statements (CREATE ROLE/USER, GRANT, REVOKE) run only on a server that can store users
and roles made by SQL (clickhouse-server); the local server (clickhouse-local) cannot, so they
are skipped there and the migration is recorded as applied (the local server declares the same
read-only user in its users.xml: `access.py`). Such a statement may name the read-only login
with `{reader_user}` and `{reader_password_sha256}`, filled in from CLICKHOUSE_READER_USER and
CLICKHOUSE_READER_PASSWORD (the password's SHA-256 only: nothing secret in the files).

Run migrations from one place at a time (the `cobranca` CLI or one deploy step): the history table
is not a lock.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.access import ACCESS_STATEMENT, ReaderAccount, manages_access
from connectors.clickhouse.errors import (
    InvalidDatabaseName,
    InvalidMigrationFile,
    MigrationChecksumMismatch,
    MigrationFailed,
    MigrationHistoryConflict,
)

__all__ = [
    "DATABASE_PLACEHOLDER",
    "HISTORY_TABLE",
    "Migration",
    "MigrationState",
    "MigrationStatus",
    "Statement",
    "apply_migrations",
    "default_migrations_dir",
    "load_migrations",
    "migration_status",
    "pending_migrations",
    "split_statements",
    "validate_database_name",
]

logger = logging.getLogger(__name__)

DATABASE_PLACEHOLDER = "{database}"
HISTORY_TABLE = "schema_migrations"

_FILE_NAME_RE = re.compile(r"^(?P<version>\d{4})_(?P<label>[a-z0-9][a-z0-9_]*)\.sql$")
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_IDENTIFIER_LENGTH = 128
_SYSTEM_DATABASES = frozenset({"system", "information_schema"})
_QUOTES = frozenset("'\"`")


# ---- pure parts: names, files, statements ----------------------------------------------------


def validate_database_name(name: str) -> str:
    """Return `name` if it is a plain identifier that is not a system database; raise otherwise."""
    if not _IDENTIFIER_RE.fullmatch(name) or len(name) > _MAX_IDENTIFIER_LENGTH:
        raise InvalidDatabaseName(
            f"database name {name!r} is not a plain identifier (letters, digits and _, not "
            f"starting with a digit, at most {_MAX_IDENTIFIER_LENGTH} characters); "
            "fix CLICKHOUSE_DATABASE"
        )
    if name.lower() in _SYSTEM_DATABASES:
        raise InvalidDatabaseName(
            f"database name {name!r} is a ClickHouse system database; "
            "set CLICKHOUSE_DATABASE to a database of the project's own"
        )
    return name


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement of a migration file and the line it starts on."""

    line: int
    """1-based line of the statement's first character that is not whitespace or comment."""
    sql: str


def split_statements(sql: str, source: str = "<sql>") -> list[Statement]:
    """Split SQL text on `;` that lies outside quotes and comments.

    Comments before a statement are dropped, comments inside it are kept; empty statements (`;;`,
    a trailing comment) are skipped. An unterminated quote or block comment raises
    `InvalidMigrationFile` naming `source` and the line it opened on.
    """
    statements: list[Statement] = []
    n = len(sql)
    i = 0
    line = 1
    start: int | None = None  # index of the current statement's first code character
    start_line = 0
    while i < n:
        ch = sql[i]
        if ch == "\n":
            line += 1
            i += 1
        elif ch.isspace():
            i += 1
        elif sql.startswith("--", i) or (ch == "#" and sql[i + 1 : i + 2] in (" ", "!")):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif sql.startswith("/*", i):
            i, line = _skip_block_comment(sql, i, line, source)
        elif ch == ";":
            if start is not None:
                statements.append(Statement(start_line, sql[start:i].strip()))
                start = None
            i += 1
        else:
            if start is None:
                start, start_line = i, line
            if ch in _QUOTES:
                i, line = _skip_quoted(sql, i, line, source)
            else:
                i += 1
    if start is not None:
        statements.append(Statement(start_line, sql[start:].strip()))
    return statements


def _skip_quoted(sql: str, i: int, line: int, source: str) -> tuple[int, int]:
    """From the opening quote at `i`, return the index after the closing one and the line there."""
    quote = sql[i]
    opened_at = line
    j = i + 1
    n = len(sql)
    while j < n:
        ch = sql[j]
        if ch == "\\":
            if sql[j + 1 : j + 2] == "\n":
                line += 1
            j += 2
        elif ch == quote:
            if sql[j + 1 : j + 2] == quote:  # a doubled quote stays inside the literal
                j += 2
            else:
                return j + 1, line
        else:
            if ch == "\n":
                line += 1
            j += 1
    raise InvalidMigrationFile(
        f"{source}: line {opened_at}: the {quote} opened here is never closed",
        source=source,
        line=opened_at,
    )


def _skip_block_comment(sql: str, i: int, line: int, source: str) -> tuple[int, int]:
    """From the `/*` at `i`, return the index after the matching `*/` (nesting counted)."""
    opened_at = line
    depth = 0
    j = i
    n = len(sql)
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j, line
        else:
            if sql[j] == "\n":
                line += 1
            j += 1
    raise InvalidMigrationFile(
        f"{source}: line {opened_at}: the /* comment opened here is never closed",
        source=source,
        line=opened_at,
    )


def checksum_of(text: str) -> str:
    """SHA-256 (hex) of migration text, with CRLF and CR line endings normalised to LF."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file, read and split, not yet bound to a database."""

    version: int
    name: str
    """The file name without `.sql` (`0001_raw_events`); recorded in schema_migrations."""
    source: str
    """Where the file was read from, for messages."""
    checksum: str
    statements: tuple[Statement, ...]

    def render(self, database: str) -> list[Statement]:
        """The statements with `{database}` replaced by the (validated) database name."""
        name = validate_database_name(database)
        return [
            Statement(s.line, s.sql.replace(DATABASE_PLACEHOLDER, name)) for s in self.statements
        ]


def parse_migration(file_name: str, text: str, source: str | None = None) -> Migration:
    """Build a `Migration` from a file's name and text; raise `InvalidMigrationFile` if unusable."""
    where = source or file_name
    match = _FILE_NAME_RE.fullmatch(file_name)
    if match is None:
        raise InvalidMigrationFile(
            f"{where}: migration files are named NNNN_name.sql (four digits, then lowercase "
            "letters, digits and _), e.g. 0003_delivery_funnel.sql; rename the file",
            source=where,
        )
    statements = split_statements(text, where)
    if not statements:
        raise InvalidMigrationFile(f"{where}: the file holds no SQL statement", source=where)
    for statement in statements:
        if DATABASE_PLACEHOLDER not in statement.sql:
            raise InvalidMigrationFile(
                f"{where}: line {statement.line}: the statement never mentions "
                f"{DATABASE_PLACEHOLDER}; qualify every table and view as "
                f"{DATABASE_PLACEHOLDER}.name so it lands in the configured database",
                source=where,
                line=statement.line,
            )
    return Migration(
        version=int(match["version"]),
        name=file_name.removesuffix(".sql"),
        source=where,
        checksum=checksum_of(text),
        statements=tuple(statements),
    )


def default_migrations_dir() -> Traversable:
    """`infra/clickhouse/migrations`, wherever the `infra` package is installed."""
    return resources.files("infra").joinpath("clickhouse", "migrations")


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """Read every `*.sql` file of `directory` (default: the project's), sorted by version.

    Files that do not end in `.sql` are ignored; a `.sql` file with a bad name and two files with
    one version are errors, so a migration is never skipped by accident.
    """
    folder = default_migrations_dir() if directory is None else directory
    by_version: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.is_file() or not entry.name.endswith(".sql"):
            continue
        migration = parse_migration(entry.name, entry.read_text(encoding="utf-8"), str(entry))
        clash = by_version.get(migration.version)
        if clash is not None:
            raise InvalidMigrationFile(
                f"{migration.source}: version {migration.version:04d} is also used by "
                f"{clash.source}; give each migration its own number",
                source=migration.source,
            )
        by_version[migration.version] = migration
    return [by_version[v] for v in sorted(by_version)]


# ---- against a database ------------------------------------------------------------------------


class MigrationState(StrEnum):
    """Where one migration stands in one database."""

    APPLIED = "applied"
    PENDING = "pending"
    CHANGED = "changed"
    """Applied, but the file's checksum or name differs from what was recorded."""
    UNKNOWN = "unknown"
    """Recorded as applied, but no file has that version."""


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """One row of `cobranca clickhouse status`: a migration file, a history row, or both."""

    version: int
    name: str
    state: MigrationState
    source: str | None
    """The file, or None for an UNKNOWN version."""
    applied_at: datetime | None
    recorded_name: str | None
    recorded_checksum: str | None
    file_checksum: str | None


@dataclass(frozen=True, slots=True)
class _Applied:
    version: int
    name: str
    checksum: str
    applied_at: datetime


def migration_status(
    client: Client, database: str, directory: Traversable | None = None
) -> list[MigrationStatus]:
    """Compare the migration files with `<database>.schema_migrations`, without changing anything.

    A database (or history table) that does not exist yet has every migration PENDING.
    """
    validate_database_name(database)
    migrations = load_migrations(directory)
    applied = {row.version: row for row in _read_history(client, database)}
    rows: list[MigrationStatus] = []
    for migration in migrations:
        record = applied.pop(migration.version, None)
        if record is None:
            state = MigrationState.PENDING
        elif record.checksum != migration.checksum or record.name != migration.name:
            state = MigrationState.CHANGED
        else:
            state = MigrationState.APPLIED
        rows.append(
            MigrationStatus(
                version=migration.version,
                name=migration.name,
                state=state,
                source=migration.source,
                applied_at=record.applied_at if record else None,
                recorded_name=record.name if record else None,
                recorded_checksum=record.checksum if record else None,
                file_checksum=migration.checksum,
            )
        )
    for record in applied.values():
        rows.append(
            MigrationStatus(
                version=record.version,
                name=record.name,
                state=MigrationState.UNKNOWN,
                source=None,
                applied_at=record.applied_at,
                recorded_name=record.name,
                recorded_checksum=record.checksum,
                file_checksum=None,
            )
        )
    return sorted(rows, key=lambda row: row.version)


def pending_migrations(
    client: Client, database: str, directory: Traversable | None = None
) -> list[Migration]:
    """The migrations `apply_migrations` would run now, in order.

    Raises `MigrationChecksumMismatch` for a file changed after it was applied, and
    `MigrationHistoryConflict` for a recorded version with no file, a renamed file, or a pending
    version lower than an applied one.
    """
    statuses = migration_status(client, database, directory)
    _check_history(statuses, directory)
    by_version = {m.version: m for m in load_migrations(directory)}
    return [by_version[s.version] for s in statuses if s.state is MigrationState.PENDING]


def apply_migrations(
    client: Client,
    database: str,
    directory: Traversable | None = None,
    *,
    reader: ReaderAccount | None = None,
) -> list[str]:
    """Create `database` if needed and apply the pending migrations in order.

    Returns the names applied by this call (empty when the database was up to date). Nothing runs
    if the history has a conflict (see `pending_migrations`). A statement ClickHouse rejects
    raises `MigrationFailed` naming the file and line; the migrations before it stay recorded.
    `reader` is the read-only login access statements create (default: from the environment,
    `ReaderAccount.from_env`); a server that stores no users skips those statements.
    """
    validate_database_name(database)
    pending = pending_migrations(client, database, directory)
    if not pending:
        return []
    _create_history_table(client, database)
    reader = ReaderAccount.from_env() if reader is None else reader
    can_manage_access: bool | None = None
    applied: list[str] = []
    for migration in pending:
        skipped = 0
        for statement in migration.render(database):
            sql = statement.sql
            if ACCESS_STATEMENT.match(sql):
                if can_manage_access is None:
                    can_manage_access = manages_access(client)
                if not can_manage_access:
                    skipped += 1
                    continue
            if "{reader_" in sql:
                if reader is None:
                    raise MigrationFailed(
                        f"{migration.source}: line {statement.line}: the statement creates the "
                        "read-only login, which needs its password: set CLICKHOUSE_READER_PASSWORD "
                        "(and CLICKHOUSE_READER_USER, default grafana) and apply again",
                        source=migration.source,
                        line=statement.line,
                    )
                for placeholder, value in reader.placeholders().items():
                    sql = sql.replace(placeholder, value)
            try:
                client.command(sql)
            except DriverError as exc:
                raise MigrationFailed(
                    f"{migration.source}: line {statement.line}: ClickHouse rejected the "
                    f"statement: {_first_line(exc)}. Fix the file (it was not recorded as "
                    "applied; statements before this one did run) and apply again.",
                    source=migration.source,
                    line=statement.line,
                ) from exc
        if skipped:
            logger.warning(
                "%s: skipped %d access statements: this ClickHouse stores no users or roles "
                "made by SQL (the local server declares its read-only user in its users.xml)",
                migration.name,
                skipped,
            )
        _record(client, database, migration)
        logger.info("applied ClickHouse migration %s to %s", migration.name, database)
        applied.append(migration.name)
    return applied


def _check_history(statuses: Sequence[MigrationStatus], directory: Traversable | None) -> None:
    folder = str(default_migrations_dir() if directory is None else directory)
    for status in statuses:
        if status.state is MigrationState.UNKNOWN:
            raise MigrationHistoryConflict(
                f"the database records migration {status.name} (version {status.version:04d}, "
                f"applied {status.applied_at}) but {folder} has no file with that version: the "
                "database is newer than this code. Deploy the code that has the file, or restore "
                "it; never delete an applied migration."
            )
        if status.state is MigrationState.CHANGED and status.recorded_name != status.name:
            raise MigrationHistoryConflict(
                f"{status.source}: version {status.version:04d} was applied as "
                f"{status.recorded_name} but the file is now {status.name}; restore the old "
                "name (applied migrations are never renamed or edited)."
            )
        if status.state is MigrationState.CHANGED:
            raise MigrationChecksumMismatch(
                f"{status.source} changed after it was applied (at {status.applied_at}): "
                f"recorded checksum {status.recorded_checksum}, file now {status.file_checksum}. "
                "Applied migrations are never re-run: restore the file and put the change in a "
                "new migration.",
                source=status.source or "",
                version=status.version,
                recorded=status.recorded_checksum or "",
                actual=status.file_checksum or "",
            )
    highest_applied = max(
        (s.version for s in statuses if s.state is MigrationState.APPLIED), default=0
    )
    for status in statuses:
        if status.state is MigrationState.PENDING and status.version < highest_applied:
            raise MigrationHistoryConflict(
                f"{status.source} is pending but a later version ({highest_applied:04d}) is "
                "already applied: migrations must be added in order. Renumber the new file "
                f"above {highest_applied:04d}."
            )


def _read_history(client: Client, database: str) -> list[_Applied]:
    exists = client.command(f"EXISTS TABLE {database}.{HISTORY_TABLE}")
    if str(exists).strip() != "1":
        return []
    result = client.query(
        f"SELECT version, argMin(name, applied_at), argMin(checksum, applied_at), min(applied_at) "
        f"FROM {database}.{HISTORY_TABLE} GROUP BY version ORDER BY version"
    )
    return [
        _Applied(version=int(v), name=str(n), checksum=str(c), applied_at=a)
        for v, n, c, a in result.result_rows
    ]


def _create_history_table(client: Client, database: str) -> None:
    client.command(f"CREATE DATABASE IF NOT EXISTS {database}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {database}.{HISTORY_TABLE} ("
        "version UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')"
        ") ENGINE = MergeTree ORDER BY version "
        # Lets the history insert carry a deduplication token, so a retried record is one row.
        "SETTINGS non_replicated_deduplication_window = 100"
    )


def _record(client: Client, database: str, migration: Migration) -> None:
    client.insert(
        HISTORY_TABLE,
        [[migration.version, migration.name, migration.checksum, datetime.now(UTC)]],
        column_names=["version", "name", "checksum", "applied_at"],
        database=database,
        settings={"insert_deduplication_token": f"{migration.name}:{migration.checksum}"},
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
