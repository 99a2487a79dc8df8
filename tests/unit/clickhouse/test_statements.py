from __future__ import annotations

import pytest

from connectors.clickhouse import InvalidMigrationFile, Statement, split_statements


def sqls(text: str) -> list[str]:
    return [s.sql for s in split_statements(text)]


def test_splits_on_semicolons_and_drops_empty_statements() -> None:
    assert sqls("SELECT 1;\nSELECT 2;\n;;\n") == ["SELECT 1", "SELECT 2"]


def test_last_statement_needs_no_semicolon() -> None:
    assert sqls("SELECT 1;\nSELECT 2\n") == ["SELECT 1", "SELECT 2"]


def test_semicolon_mid_line_ends_a_statement_too() -> None:
    assert sqls("SELECT 1; SELECT 2;") == ["SELECT 1", "SELECT 2"]


@pytest.mark.parametrize(
    "literal",
    [
        "'a;b'",
        '"a;b"',
        "`a;b`",
        r"'it\'s; fine'",
        "'it''s; fine'",
        r"'ends with backslash\\'",
        "'multi\nline; literal'",
    ],
)
def test_semicolons_inside_quotes_do_not_split(literal: str) -> None:
    assert sqls(f"SELECT {literal};\nSELECT 2;") == [f"SELECT {literal}", "SELECT 2"]


@pytest.mark.parametrize(
    "comment",
    [
        "-- a; b\n",
        "# a; b\n",
        "#! a; b\n",
        "/* a; b */",
        "/* outer /* inner; */ still; outer */",
        "/* multi\nline; */",
    ],
)
def test_semicolons_inside_comments_do_not_split(comment: str) -> None:
    assert sqls(f"SELECT 1 {comment} + 1;\nSELECT 2;") == [f"SELECT 1 {comment} + 1", "SELECT 2"]


def test_comments_before_a_statement_are_dropped_and_lines_counted() -> None:
    text = (
        "-- header; with a semicolon\n\n/* block\n comment */\n"
        "CREATE TABLE t\n(x UInt8);\n\nSELECT 1;"
    )
    assert split_statements(text) == [
        Statement(line=5, sql="CREATE TABLE t\n(x UInt8)"),
        Statement(line=8, sql="SELECT 1"),
    ]


def test_a_file_of_comments_has_no_statements() -> None:
    assert split_statements("-- nothing here;\n/* nor; here */\n") == []


def test_hash_without_space_is_not_a_comment() -> None:
    assert sqls("SELECT a#b; SELECT 2") == ["SELECT a#b", "SELECT 2"]


def test_lines_are_counted_inside_literals_and_comments() -> None:
    text = "SELECT 'a\nb';\n/* x\ny */ SELECT `c\nd`;\nSELECT 3"
    assert [s.line for s in split_statements(text)] == [1, 4, 6]


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("SELECT 1;\nSELECT 'open;\n", 2, "'"),
        ('SELECT "x', 1, '"'),
        ("SELECT 1;\n\nSELECT `x", 3, "`"),
        ("SELECT 1 /* a /* b */\n;", 1, "/*"),
        (r"SELECT 'escaped quote at the end\'", 1, "'"),
    ],
)
def test_unterminated_quote_or_comment_names_source_and_line(
    text: str, line: int, what: str
) -> None:
    with pytest.raises(InvalidMigrationFile) as caught:
        split_statements(text, "0009_broken.sql")
    assert caught.value.source == "0009_broken.sql"
    assert caught.value.line == line
    assert str(caught.value).startswith(f"0009_broken.sql: line {line}: the {what}")
