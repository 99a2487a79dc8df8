"""`cobranca db query`: one SQL statement against the configured ClickHouse, rows back."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError as DriverError

from connectors.clickhouse.errors import QueryFailed

__all__ = ["QueryResult", "returns_rows", "run_query"]

_ROW_STATEMENTS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "EXISTS"})
_FIRST_WORD = re.compile(r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*\(?\s*([A-Za-z]+)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class QueryResult:
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def returns_rows(sql: str) -> bool:
    """Whether the statement answers with rows (SELECT...) rather than a summary (DDL, INSERT)."""
    match = _FIRST_WORD.match(sql)
    return match is not None and match.group(1).upper() in _ROW_STATEMENTS


def run_query(client: Client, sql: str, database: str) -> QueryResult:
    """Run `sql`; unqualified table names resolve in `database` when it exists."""
    settings: dict[str, Any] = {}
    try:
        if str(client.command(f"EXISTS DATABASE {database}")).strip() == "1":
            settings["database"] = database
        if returns_rows(sql):
            result = client.query(sql, settings=settings)
            return QueryResult(
                tuple(result.column_names), [tuple(row) for row in result.result_rows]
            )
        summary = client.command(sql, settings=settings)
    except DriverError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
        raise QueryFailed(f"ClickHouse rejected the query: {first}") from exc
    return QueryResult(("result",), [(str(summary),)])
