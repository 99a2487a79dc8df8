"""What an HTTP upload's headers say about its body: the format and whether it may be too large.

Pure functions over header values, so the HTTP handler stays thin and the rules are tested
directly. The format comes from ``?format=`` when given (it wins: some clients cannot set a
Content-Type), else from the Content-Type:

=====================================================================  =======================
Content-Type (parameters such as ``charset`` are ignored: every record   format
is decoded as UTF-8, else Windows-1252, see `formats`)
=====================================================================  =======================
``text/csv``, ``application/csv``, ``text/comma-separated-values``     CSV
``application/x-ndjson``, ``application/ndjson``, ``application/jsonl``,  NDJSON
``application/x-jsonlines``, ``application/jsonlines``
``application/json``                                                   JSON array
``application/vnd.openxmlformats-officedocument.spreadsheetml.sheet``  XLSX (a workbook)
``application/vnd.oasis.opendocument.spreadsheet``                     ODS (a workbook)
none, ``application/octet-stream``, ``text/plain``,                    detected from the body
``application/vnd.ms-excel`` (what browsers send for ``.xls`` files
*and* for ``.csv`` ones on Windows: the body's signature tells them
apart)
anything else (``multipart/form-data`` included)                       415
=====================================================================  =======================

``?format=`` takes ``csv``, ``ndjson``, ``json``, ``xlsx``, ``xls`` and ``ods``. A workbook is
received whole before its first row is read (its ZIP directory is at its end), still within
``COBRANCA_IMPORTS_MAX_BYTES`` and at most `spreadsheets.MAX_WORKBOOK_BYTES` (ADR 0019).
"""

from __future__ import annotations

from typing import Final

from connectors.imports.errors import UnsupportedFormat
from connectors.imports.formats import Format

__all__ = [
    "CONTENT_TYPES",
    "DETECTED_TYPES",
    "UnsupportedFormat",
    "declared_size",
    "format_of",
]

CONTENT_TYPES: Final[dict[str, Format]] = {
    "text/csv": Format.CSV,
    "application/csv": Format.CSV,
    "text/comma-separated-values": Format.CSV,
    "application/x-ndjson": Format.NDJSON,
    "application/ndjson": Format.NDJSON,
    "application/jsonl": Format.NDJSON,
    "application/x-jsonlines": Format.NDJSON,
    "application/jsonlines": Format.NDJSON,
    "application/json": Format.JSON,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": Format.XLSX,
    "application/vnd.oasis.opendocument.spreadsheet": Format.ODS,
}
#: Content types that say nothing about the rows: the format is detected from the first bytes.
DETECTED_TYPES: Final = frozenset(
    {"", "application/octet-stream", "text/plain", "application/vnd.ms-excel"}
)


def format_of(content_type: str | None, query_format: str | None) -> Format | None:
    """The upload's format, or None to detect it from the body; `UnsupportedFormat` if unknown."""
    if query_format is not None:
        try:
            return Format(query_format.strip().lower())
        except ValueError:
            raise UnsupportedFormat(
                f"format={query_format!r} is not a format the importer reads; use "
                "format=csv, ndjson, json, xlsx, xls or ods, or leave it out to detect it"
            ) from None
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime in DETECTED_TYPES:
        return None
    if mime in CONTENT_TYPES:
        return CONTENT_TYPES[mime]
    hint = (
        "; send the file itself as the body (curl --data-binary @clientes.csv), not a form"
        if mime.startswith("multipart/")
        else ""
    )
    raise UnsupportedFormat(
        f"Content-Type {mime!r} is not a format the importer reads; use text/csv, "
        "application/x-ndjson, application/json or a spreadsheet's type (or "
        "?format=csv|ndjson|json|xlsx|xls|ods)" + hint
    )


def declared_size(content_length: str | None) -> int | None:
    """The Content-Length as an int, None when absent (chunked upload) or not a number."""
    if content_length is None:
        return None
    text = content_length.strip()
    return int(text) if text.isdigit() else None
