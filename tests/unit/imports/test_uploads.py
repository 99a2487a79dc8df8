"""What an upload's headers say: the format (Content-Type or ?format=) and the declared size."""

from __future__ import annotations

import pytest

from connectors.imports.errors import UnsupportedFormat
from connectors.imports.formats import Format
from connectors.imports.uploads import declared_size, format_of


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/csv", Format.CSV),
        ("text/csv; charset=windows-1252", Format.CSV),
        ("TEXT/CSV;charset=UTF-8", Format.CSV),
        ("application/vnd.ms-excel", None),  # .xls or a Windows .csv: the body tells
        ("application/x-ndjson", Format.NDJSON),
        ("application/jsonl", Format.NDJSON),
        ("application/json", Format.JSON),
        ("application/json; charset=utf-8", Format.JSON),
        (None, None),
        ("", None),
        ("application/octet-stream", None),
        ("text/plain; charset=latin-1", None),
    ],
)
def test_content_types(content_type: str | None, expected: Format | None) -> None:
    assert format_of(content_type, None) is expected


@pytest.mark.parametrize("content_type", ["application/xml", "image/png", "text/html"])
def test_unknown_content_types_are_refused(content_type: str) -> None:
    with pytest.raises(UnsupportedFormat, match="text/csv, application/x-ndjson"):
        format_of(content_type, None)


def test_a_form_upload_gets_a_hint() -> None:
    with pytest.raises(UnsupportedFormat, match="--data-binary"):
        format_of("multipart/form-data; boundary=xyz", None)


def test_the_query_parameter_wins() -> None:
    assert format_of("application/json", "csv") is Format.CSV
    assert format_of("application/xml", " NDJSON ") is Format.NDJSON
    assert format_of("text/csv", "xlsx") is Format.XLSX
    with pytest.raises(UnsupportedFormat, match="format='pdf'"):
        format_of("text/csv", "pdf")


@pytest.mark.parametrize(
    ("header", "size"),
    [(None, None), ("0", 0), ("1234", 1234), (" 7 ", 7), ("-1", None), ("x", None)],
)
def test_declared_size(header: str | None, size: int | None) -> None:
    assert declared_size(header) == size
