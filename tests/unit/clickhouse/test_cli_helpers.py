"""Small pure decisions behind `db query` and `trace`."""

from __future__ import annotations

import pytest

from connectors.clickhouse.queries import returns_rows
from connectors.clickhouse.trace import phone_e164


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "  select * from raw_ledger",
        "WITH 1 AS x SELECT x",
        "(SELECT 1) UNION ALL (SELECT 2)",
        "-- billing\nSELECT 1",
        "/* why */ SHOW TABLES",
        "DESCRIBE TABLE raw_ledger",
        "EXPLAIN SELECT 1",
        "EXISTS TABLE raw_ledger",
    ],
)
def test_statements_that_answer_with_rows(sql: str) -> None:
    assert returns_rows(sql)


@pytest.mark.parametrize(
    "sql", ["CREATE TABLE t (x UInt8) ENGINE = Memory", "INSERT INTO t VALUES (1)", "DROP TABLE t"]
)
def test_statements_that_answer_with_a_summary(sql: str) -> None:
    assert not returns_rows(sql)


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("+5511987654321", "+5511987654321"),
        ("+55 (11) 98765-4321", "+5511987654321"),
        ("5511987654321", "+5511987654321"),
        ("(11) 98765-4321", "+5511987654321"),
        ("1133334444", "+551133334444"),
        ("+14155550100", "+14155550100"),
    ],
)
def test_phones_in_the_shapes_people_type_them(text: str, phone: str) -> None:
    assert phone_e164(text) == phone


@pytest.mark.parametrize(
    "text", ["r-123", "0b1f4c2e-9d7a-4c1e-8f3a-2b6d5e4c3a21", "12345", "5511987654321@c.us"]
)
def test_request_ids_are_not_phones(text: str) -> None:
    assert phone_e164(text) is None
