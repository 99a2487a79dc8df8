"""Workbooks (.xlsx, .ods) read from real files written at run time: the same header mapping,
validator, rejection reasons and summary as the CSV of the same rows; typed cells converted
without losing what was typed."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.imports.errors import UnreadableSource
from connectors.imports.formats import (
    Format,
    LineBlock,
    RowSource,
    SourceRow,
    format_of_name,
    workbook_format,
)
from connectors.imports.importer import dry_run, import_rows
from connectors.imports.spreadsheets import (
    MAX_SHEET_CELLS,
    MAX_WORKBOOK_BYTES,
    _check_xlsx_area,
    cell_text,
)
from connectors.imports.uploads import format_of
from connectors.imports.validation import Rejection
from schemas.events import ClientImported
from tests.unit.imports.sample import EXPECTED_SUMMARY, MIXED
from tests.unit.imports.workbooks import XLSX_PARTS, Cell, ods_bytes, xlsx_bytes

WRITERS: dict[str, Callable[[Sequence[Sequence[Cell]]], bytes]] = {
    "xlsx": xlsx_bytes,
    "ods": ods_bytes,
}
HEADER: list[Cell] = ["Código", "Nome", "Celular", "CPF", "Valor", "Vencimento"]
CPF = "529.982.247-25"


def _import(data: bytes, name: str = "clientes.xlsx") -> tuple[dict[str, object], list[Rejection]]:
    rejections: list[Rejection] = []
    run = import_rows(io.BytesIO(data), tenant_id="acme", import_id="i1", name=name)
    summary = dry_run(run, on_rejection=rejections.append)
    return summary.as_dict(), rejections


def _accepted(data: bytes) -> list[tuple[object, ...]]:
    run = import_rows(io.BytesIO(data), tenant_id="acme", import_id="i1")
    return [
        (e.client_id, e.phone_e164, e.document, e.amount_centavos, e.due_date)
        for e in run
        if isinstance(e, ClientImported)
    ]


@pytest.mark.parametrize("kind", WRITERS)
def test_a_sheet_of_the_sample_rows_gives_what_their_csv_gives(kind: str) -> None:
    """Every reason of the sample but malformed_row (its last line ends inside quotes, which a
    cell cannot), with the same rows, fields and messages."""
    lines = MIXED.split("\n")[:-1]
    csv_summary, csv_rejections = _import("\n".join(lines).encode(), name="clientes.csv")
    sheet = [[cell or None for cell in line.split(";")] for line in lines]
    summary, rejections = _import(WRITERS[kind](sheet))
    assert summary == csv_summary
    assert summary["accepted"] == EXPECTED_SUMMARY["accepted"]
    assert len(summary["by_reason"]) == 7  # type: ignore[arg-type]
    assert rejections == csv_rejections


@pytest.mark.parametrize("kind", WRITERS)
def test_typed_numbers_and_dates_become_what_was_typed(kind: str) -> None:
    rows: list[list[Cell]] = [
        HEADER,
        # a phone and a CPF typed as numbers; an amount; a date cell
        ["c1", "Ana", 11987654321.0, 52998224725, 1234.5, date(2026, 12, 5)],
        # a CNPJ of 14 digits as a number; a float with binary noise; the date as text
        ["c2", "Bia", 5521998765432, 11222333000181, 110.00000000000001, "20/12/2026"],
        # a computed amount rounded half-even to centavos; a date and time at midnight
        ["c3", "Caio", "(11) 98765-4321", CPF, 102.3456, datetime(2026, 12, 7)],
        # 0.1 + 0.2 is 0.3 to Excel's 15 digits, not 0.30000000000000004
        ["c4", "Duda", 11987654321, CPF, 0.1 + 0.2, "2026-12-08"],
        # a CPF that lost its leading zero (049.944.350-06 typed as a number): padded, and the
        # check digits decide, as for a CSV cell of 10 digits
        ["c5", "Eva", 11987654321, 4994435006, 10, date(2026, 12, 9)],
        # a code typed as a number
        [123, "Fábio", 11987654321, CPF, 7, date(2026, 12, 9)],
    ]
    accepted = _accepted(WRITERS[kind](rows))
    assert accepted == [
        ("c1", "+5511987654321", "52998224725", 123450, date(2026, 12, 5)),
        ("c2", "+5521998765432", "11222333000181", 11000, date(2026, 12, 20)),
        ("c3", "+5511987654321", "52998224725", 10235, date(2026, 12, 7)),
        ("c4", "+5511987654321", "52998224725", 30, date(2026, 12, 8)),
        ("c5", "+5511987654321", "04994435006", 1000, date(2026, 12, 9)),
        ("123", "+5511987654321", "52998224725", 700, date(2026, 12, 9)),
    ]


def test_cell_conversions() -> None:
    assert cell_text(11987654321.0) == "11987654321"
    assert cell_text(1.5) == "1.5"
    assert cell_text(0.1 + 0.2) == "0.3"
    assert cell_text(True) == "VERDADEIRO" and cell_text(False) == "FALSO"
    assert cell_text(date(2026, 1, 2)) == "2026-01-02"
    assert cell_text(datetime(2026, 1, 2)) == "2026-01-02"
    assert cell_text(datetime(2026, 1, 2, 10, 30)) == "2026-01-02 10:30:00"
    assert cell_text(" texto ") == " texto "


@pytest.mark.parametrize("kind", WRITERS)
def test_values_that_cannot_be_read_without_guessing_are_rejected(kind: str) -> None:
    rows: list[list[Cell]] = [
        HEADER,
        # 16 digits: Excel kept 15 and the code is not the one typed
        [1234567890123456, "Ana", 11987654321, CPF, 10, date(2026, 12, 5)],
        # a due date with a time of day
        ["c2", "Bia", 11987654321, CPF, 10, datetime(2026, 12, 5, 10, 30)],
        # a due date typed as a plain number (no date format): not a date
        ["c3", "Caio", 11987654321, CPF, 10, 46000],
        # a CPF that lost too many zeros to be one (7 digits): the CSV rule refuses it
        ["c4", "Duda", 11987654321, 1234567, 10, date(2026, 12, 5)],
        # a negative amount and a true/false amount
        ["c5", "Eva", 11987654321, CPF, -5.5, date(2026, 12, 5)],
        ["c6", "Fábio", 11987654321, CPF, True, date(2026, 12, 5)],
        # a note right of the header's last column is ignored, like an unknown column
        ["c7", "Gil", 11987654321, CPF, 10, date(2026, 12, 5), None, "anotação"],
    ]
    summary, rejections = _import(WRITERS[kind](rows))
    assert [(r.row, r.reason.value) for r in rejections] == [
        (1, "malformed_row"),
        (2, "invalid_due_date"),
        (3, "invalid_due_date"),
        (4, "invalid_document"),
        (5, "invalid_amount"),
        (6, "invalid_amount"),
    ]
    assert "mais de 15 dígitos" in rejections[0].message and rejections[0].field == "client_id"
    assert "linha 2 da planilha" in rejections[0].message
    assert "'2026-12-05 10:30:00'" in rejections[1].message
    assert "negativo" in rejections[4].message
    assert summary["accepted"] == 1


@pytest.mark.parametrize("kind", WRITERS)
def test_blank_rows_are_skipped_keeping_the_numbers_and_aliases_map_the_header(kind: str) -> None:
    """The header is the first row that is not blank (here sheet row 3, from column B)."""
    rows: list[list[Cell]] = [
        [],
        [None, "  "],
        ["  codigo ", "NOME", "WhatsApp", "Documento", "valor", "vencimento", "Linha Digitável"],
        ["c1", "Ana", 11987654321, CPF, 10, date(2026, 12, 5), "1234"],
        [],
        [None, "   ", None],
        ["c2", "Bia", 11987654321, CPF, 0, date(2026, 12, 5)],
    ]
    rows = [[None, *row] for row in rows]
    summary, rejections = _import(WRITERS[kind](rows))
    assert summary["rows"] == 2 and summary["accepted"] == 1
    assert [(r.row, r.reason.value) for r in rejections] == [(4, "invalid_amount")]
    source = RowSource(io.BytesIO(WRITERS[kind](rows)))
    assert source.header_line == 3 and source.columns[0] == "codigo"


def test_rows_with_plain_cells_come_as_blocks_and_others_one_by_one() -> None:
    rows: list[list[Cell]] = [
        HEADER,
        ["c1", "Ana", 11987654321, CPF, 10, date(2026, 12, 5)],
        ["c2", 'Bia "a boa"', 11987654321, CPF, 10, date(2026, 12, 5)],
        ["c3", "Caio; Jr", 11987654321, CPF, 10, date(2026, 12, 5)],
        ["c4", "Duda", 11987654321, CPF, 10, date(2026, 12, 5)],
    ]
    source = RowSource(io.BytesIO(xlsx_bytes(rows)), name="x.xlsx")
    pieces = list(source.pieces())
    assert [type(p) for p in pieces] == [LineBlock, SourceRow, SourceRow, LineBlock]
    assert [r.row for r in source_rows(pieces)] == [1, 2, 3, 4]
    assert _accepted(xlsx_bytes(rows))[2][0] == "c3"


def source_rows(pieces: list[object]) -> list[object]:
    rows: list[object] = []
    for piece in pieces:
        rows.extend(piece.rows() if isinstance(piece, LineBlock) else [piece])
    return rows


def test_detection_by_signature_name_and_content_type() -> None:
    xlsx, ods = xlsx_bytes([HEADER]), ods_bytes([HEADER])
    assert workbook_format(xlsx[:65536]) is Format.XLSX
    assert workbook_format(ods[:65536]) is Format.ODS
    assert workbook_format(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100)) is Format.XLS
    assert workbook_format(b"codigo;nome\n") is None
    assert RowSource(io.BytesIO(xlsx)).format is Format.XLSX
    assert RowSource(io.BytesIO(ods)).format is Format.ODS
    assert format_of_name("Clientes.XLSX") is Format.XLSX
    assert format_of_name("a.xlsm") is Format.XLSX
    assert format_of_name("a.xls") is Format.XLS
    assert format_of_name("a.ods") is Format.ODS
    assert format_of_name("a.csv") is None and format_of_name("xlsx") is None
    sheet = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert format_of(sheet, None) is Format.XLSX
    assert format_of("application/vnd.oasis.opendocument.spreadsheet", None) is Format.ODS
    assert format_of("application/vnd.ms-excel", None) is None  # .xls or a Windows .csv
    assert format_of(None, "xlsx") is Format.XLSX and format_of(None, "XLS") is Format.XLS


@pytest.mark.parametrize(
    ("data", "fmt", "says"),
    [
        (b"PK\x03\x04[Content_Types].xml" + bytes(200), None, "cannot be read: it is corrupt"),
        (xlsx_bytes([HEADER])[:-200], None, "cannot be read: it is corrupt"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), None, "cannot be read"),
        (xlsx_bytes([]), None, "the first sheet ('Clientes') is empty"),
        (
            # the directory of an OLE2 file holding an encrypted (password-protected) .xlsx
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
            + bytes(500)
            + "EncryptedPackage".encode("utf-16-le")
            + bytes(100),
            None,
            "protected by a password",
        ),
        (b"<html><table><tr><td>codigo</td></tr></table></html>", Format.XLS, "not a workbook"),
        (xlsx_bytes([HEADER]), Format.CSV, "--format csv was given but this is a workbook"),
        (xlsx_bytes([["nome", "valor"]]), None, "the header cannot be imported"),
        (xlsx_bytes([[f"c{n}" for n in range(501)]]), None, "the header has 501 columns"),
    ],
)
def test_unreadable_workbooks_say_what_where_and_why(
    data: bytes, fmt: Format | None, says: str
) -> None:
    with pytest.raises(UnreadableSource) as raised:
        import_rows(io.BytesIO(data), tenant_id="acme", fmt=fmt, name="clientes.xlsx")
    assert says in str(raised.value)
    assert str(raised.value).startswith("clientes.xlsx")


def _xlsx_with_sheet(cells_xml: str) -> bytes:
    """An .xlsx whose sheet XML is written here, cell by cell."""
    sheet = (
        '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
        f'spreadsheetml/2006/main"><sheetData>{cells_xml}</sheetData></worksheet>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("cells", "says"),
    [
        # calamine would ask for 512 GiB (one rectangle from A1 to XFD1048576) and abort
        (
            '<row r="1"><c r="A1" t="inlineStr"><is><t>codigo</t></is></c></row>'
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
            "spans 17,179,869,184 cells",
        ),
        (  # the same with the namespace prefix .NET writes
            '<row r="1"><c r="A1" t="inlineStr"><is><t>codigo</t></is></c></row>'
            '<x:row r="9"><x:c r="ZZ900000"><x:v>1</x:v></x:c></x:row>',
            "spans 631,800,000 cells",
        ),
        (
            '<row r="1"><c r="A1" t="inlineStr"><is><t>codigo</t></is></c><c><v>1</v></c></row>',
            "1 cells of the first sheet do not start with their position",
        ),
        (  # a line break is XML's space too: not a position the scan reads, so refused
            '<row r="1"><c r="A1" t="inlineStr"><is><t>codigo</t></is></c>'
            '<c\nr="XFD1048576"><v>1</v></c></row>',
            "1 cells of the first sheet do not start with their position",
        ),
    ],
)
def test_a_sheet_whose_cells_could_not_be_held_is_refused_before_calamine(
    cells: str, says: str
) -> None:
    with pytest.raises(UnreadableSource) as raised:
        RowSource(io.BytesIO(_xlsx_with_sheet(cells)), name="bomba.xlsx")
    assert says in str(raised.value)


def test_a_workbook_over_the_size_limit_is_refused_before_it_is_parsed() -> None:
    head = xlsx_bytes([HEADER])
    big = io.BytesIO(head + bytes(MAX_WORKBOOK_BYTES))
    with pytest.raises(UnreadableSource, match="larger than"):
        RowSource(big, name="big.xlsx")
    assert big.tell() < MAX_WORKBOOK_BYTES + 2 * 1024 * 1024


def test_the_command_imports_an_xlsx_named_by_its_extension(tmp_path: Path) -> None:
    rows: list[list[Cell]] = [
        HEADER,
        ["c1", "Ana", 11987654321, CPF, 1234.56, date(2026, 12, 5)],
        ["c2", "Bia", 20987654321, CPF, 10, date(2026, 12, 5)],
    ]
    book = tmp_path / "clientes.xlsx"
    book.write_bytes(xlsx_bytes(rows))
    rejects = tmp_path / "rejects.ndjson"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.ops.cli",
            "import",
            str(book),
            "--tenant",
            "acme",
            "--dry-run",
            "--rejects-out",
            str(rejects),
        ],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "as xlsx" in done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary == {
        "rows": 2,
        "accepted": 1,
        "rejected": 1,
        "by_reason": {"invalid_phone": 1},
    }
    assert json.loads(rejects.read_text())["row"] == 2


def test_the_command_refuses_a_corrupt_workbook_with_exit_1(tmp_path: Path) -> None:
    book = tmp_path / "clientes.xlsx"
    book.write_bytes(xlsx_bytes([HEADER])[:-300])
    done = subprocess.run(
        [sys.executable, "-m", "streams.ops.cli", "import", str(book), "--tenant", "acme"],
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
    )
    assert done.returncode == 1
    assert f"{book}: the workbook cannot be read" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("kind", WRITERS)
def test_a_sheet_without_documents_is_accepted_unless_the_tenant_requires_them(kind: str) -> None:
    """Issue 15: no CPF column, or an empty CPF cell, is a client without a document."""
    no_column = WRITERS[kind](
        [
            ["Código", "Nome", "Celular", "Valor", "Vencimento"],
            ["c1", "Ana", 11987654321, 10, date(2026, 12, 5)],
        ]
    )
    empty_cells = WRITERS[kind](
        [
            HEADER,
            ["c1", "Ana", 11987654321, None, 10, date(2026, 12, 5)],
            ["c2", "Bia", "11987654322", 0, 10, date(2026, 12, 5)],
        ]
    )

    assert _accepted(no_column) == [("c1", "+5511987654321", None, 1000, date(2026, 12, 5))]
    summary, rejections = _import(empty_cells)
    assert summary["accepted"] == 1
    assert [(r.row, r.reason.value, r.field) for r in rejections] == [
        (2, "invalid_document", "document")  # a 0 typed in the cell is no "none"
    ]
    with pytest.raises(UnreadableSource, match="no column for required field 'document'"):
        import_rows(io.BytesIO(no_column), tenant_id="acme", import_id="i1", require_document=True)
    required = import_rows(
        io.BytesIO(empty_cells), tenant_id="acme", import_id="i1", require_document=True
    )
    assert dry_run(required).by_reason == {"missing_field": 1, "invalid_document": 1}


_CELL = re.compile(rb"<c[ \t\r\n>/]")
_POSITION = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')


def _area_by_regex(xml: bytes) -> str | None:
    """What the area check should say of a sheet, worked out the slow, obvious way."""
    positions = _POSITION.findall(xml)
    if len(_CELL.findall(xml)) > len(positions):
        return "do not start with their position"
    if not positions:
        return None
    columns = [
        sum((letter - 64) * 26**power for power, letter in enumerate(reversed(letters)))
        for letters, _ in positions
    ]
    rows = [int(digits) for _, digits in positions]
    area = (max(rows) - min(rows) + 1) * (max(columns) - min(columns) + 1)
    return f"spans {area:,} cells" if area > MAX_SHEET_CELLS else None


_tags = st.one_of(
    st.tuples(
        st.text(alphabet="ABCXYZ", min_size=1, max_size=4),
        st.text(alphabet="0123456789", min_size=1, max_size=8),
    ).map(lambda p: f'<c r="{p[0]}{p[1]}"><v>1</v></c>'),
    st.sampled_from(
        [
            '<c r="a1"><v>1</v></c>',
            "<c><v>1</v></c>",
            '<c\nr="B2"/>',
            '<c r="B2 "/>',
            "<c/>",
            '<cols r="A1"/>',
            '<c r="XFD1048576"/>',
            '<c r="A1048576"/>',
            '<c r=""/>',
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_tags, min_size=1, max_size=30), st.integers(0, 3000))
def test_the_area_check_reads_positions_as_the_regex_does(tags: list[str], filler: int) -> None:
    # Filler before the cells moves them across the scan's 1 MiB chunks.
    xml = f'<row r="1">{" " * filler * 400}{"".join(tags)}</row>'
    expected = _area_by_regex(xml.encode())
    data = _xlsx_with_sheet(xml)
    if expected is None:
        _check_xlsx_area(data, "t.xlsx")
        return
    with pytest.raises(UnreadableSource, match=expected):
        _check_xlsx_area(data, "t.xlsx")
