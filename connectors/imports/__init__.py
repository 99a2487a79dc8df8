"""Imports: debtors from files (and, later, HTTP bodies) into `cobranca.clients`.

Layers, each in its own module:

- `validation`: the rows' rules (header names, required fields, duplicates; phone, CPF/CNPJ,
  amount and due date through `streams.domain.brazil`);
- `formats`: streaming readers for JSON arrays, NDJSON and spreadsheet CSV, and where every
  format is detected;
- `spreadsheets`: workbooks (.xlsx, .xls, .ods) read whole with python-calamine, their first
  sheet's cells turned into the text a CSV holds;
- `records`: a validated row → its Kafka record (key and Avro bytes), written from per-import
  constants;
- `importer`: rows → `ClientImported` / `ImportRejected` → `ImportCompleted`, dry or into Kafka;
- `server`: the import jobs of the API's HTTP imports (``cobranca api serve``), storing through an
  `EventStore` port.

The command (``cobranca import``) and the wiring to Kafka are the ops layer's:
`streams/ops/imports_cli.py`, `streams/ops/imports_server.py`, `streams/ops/api_server.py`.

This package re-exports the pure and streaming layers. `importer` and `records` load the event
schemas (and Faust), so they are imported explicitly
(``from connectors.imports.importer import import_rows``) by the code that produces events, and
importing this package stays cheap for the command line.
"""

from __future__ import annotations

from connectors.imports.errors import (
    BadKeysFile,
    BodyTooLarge,
    GzipBroken,
    ImportsError,
    InvalidImportParameter,
    RequestRefused,
    SourceInterrupted,
    TooManyClients,
    UnreadableSource,
    UnsupportedFormat,
    UploadCut,
)
from connectors.imports.formats import Format, RowSource, SourceRow, detect_format
from connectors.imports.validation import (
    FIELD_ALIASES,
    ClientFields,
    Reason,
    Rejection,
    RowValidator,
    canonical_field,
    check_columns,
)

__all__ = [
    "FIELD_ALIASES",
    "BadKeysFile",
    "BodyTooLarge",
    "ClientFields",
    "Format",
    "GzipBroken",
    "ImportsError",
    "InvalidImportParameter",
    "Reason",
    "Rejection",
    "RequestRefused",
    "RowSource",
    "RowValidator",
    "SourceInterrupted",
    "SourceRow",
    "TooManyClients",
    "UnreadableSource",
    "UnsupportedFormat",
    "UploadCut",
    "canonical_field",
    "check_columns",
    "detect_format",
]
