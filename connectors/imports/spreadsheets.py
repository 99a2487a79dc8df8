"""Workbooks (.xlsx, .xlsm, .xls, .ods) as import rows, read with python-calamine.

Collection teams keep their debtors in Excel; saving as CSV first loses nothing they would
notice but costs them a step and, often, the encoding. A workbook is read like a CSV: its
**first sheet**, its first row that is not blank as the header, through the
same header check (`check_columns`) and the same row validator, so a row gets the same
rejection reason either way. `RowSource` recognises a workbook (`formats.workbook_format`) and
hands its rows here.

**Memory.** A workbook is a ZIP (or, for .xls, an OLE2 compound file) whose parts can only be
found through a directory at its end, so the whole file is read into memory before the first
row (an HTTP body is received whole, at most `MAX_WORKBOOK_BYTES`), and calamine builds the
first sheet's cells in its own memory. Rows are then converted to Python one at a time
(`CalamineSheet.iter_rows`), never a list of every row.

**Row numbers** count from the header row, as a CSV's do from its header line: row 1 is the
sheet row after the header. Rows whose cells are all blank are skipped, keeping their numbers.
Cells right of the header's last name are ignored, like a column the import does not read.

**Cells** become the text a CSV export of the sheet would hold, so the validator sees one kind
of row (`cell_text`). The conversions, each decided once (ADR 0019):

- text: as it is; an empty cell: blank.
- a whole number (calamine gives every number as a float): its digits, ``11987654321.0`` →
  ``11987654321``. Excel keeps 15 significant digits, so a whole number of 16 or more digits
  in a column the import reads lost its last digits when it was typed: the row is refused
  rather than imported with a client code or invoice number that is not the one typed.
- a CPF/CNPJ typed as a number lost its leading zeros; its digits go to the same rule as a CSV
  cell (`normalize_document`: 9-10 digits are padded to a CPF, 12-13 to a CNPJ, and the check
  digits decide), nothing more is guessed.
- the amount: a fraction is read through its 15 significant digits (what Excel shows and
  computes with, so ``110.00000000000001`` is ``110``) and rounded half-even to centavos in
  `Decimal`, never in binary floating point: a computed ``102.3456`` is ``102.35``.
- other fractions: their 15 significant digits.
- a date: ``YYYY-MM-DD``; a date and time at midnight is its date; with a time of day it is
  ``YYYY-MM-DD HH:MM:SS``, which the due date refuses (a due date has no time: not guessed).
- true/false: ``VERDADEIRO``/``FALSO``, as a Brazilian Excel exports them.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import IO, Final, NamedTuple, cast

import numpy as np
import numpy.typing as npt
from python_calamine import CalamineError, CalamineWorkbook, PasswordError

from connectors.imports.errors import UnreadableSource
from connectors.imports.validation import Reason, canonical_field

__all__ = ["MAX_SHEET_CELLS", "MAX_WORKBOOK_BYTES", "Refused", "Sheet", "cell_text", "first_sheet"]

#: Largest workbook read: it is held whole in memory, then its first sheet's cells (ADR 0019).
#: 200,000 rows of 9 columns are 12 MB of .xlsx and 130 MB of memory once read (ADR 0019).
MAX_WORKBOOK_BYTES: Final = 32 * 1024 * 1024

_CENT: Final = Decimal("0.01")
#: Whole numbers from here on have more digits than the 15 Excel keeps.
_EXACT_LIMIT: Final = 10**15
_READ_CHUNK: Final = 1024 * 1024
_OLE2: Final = b"\xd0\xcf\x11\xe0"
#: The stream an encrypted (password-protected) .xlsx keeps inside its OLE2 file, by name.
_ENCRYPTED: Final = "EncryptedPackage".encode("utf-16-le")
#: Most cells in the rectangle of a sheet's used cells: calamine holds every one (ADR 0019).
MAX_SHEET_CELLS: Final = 20_000_000
#: The bytes read for a cell position: 3 letters and 7 digits at most (XFD1048576), its quote.
_POSITION_BYTES: Final = 11
_AFTER_CELL_NAME: Final = np.frombuffer(b" \t\r\n>/", np.uint8)
_PREFIXED_CELL: Final = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s>/]")
_PREFIXED_REF: Final = re.compile(rb'<[A-Za-z_][\w.-]*:c r="([A-Z]{1,3}[0-9]{1,7})"')
_FIRST_SHEET: Final = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\br:id=\"([^\"]+)\"")
_RELATION: Final = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_TARGET: Final = re.compile(rb'\bTarget="([^"]+)"')

#: What calamine gives for a cell (an empty one is ``""``).
Cell = str | float | int | bool | date | datetime | time | timedelta
_Convert = Callable[[Cell], str]


class Refused(NamedTuple):
    """A row the sheet gives as rejected: why, in the words of a rejection, and its text."""

    reason: Reason
    message: str
    field: str | None
    raw: str


class _CellRefused(Exception):
    """A cell whose value cannot be read without guessing: the row is rejected with `reason`."""

    def __init__(self, reason: Reason, message: str, field: str) -> None:
        super().__init__(message)
        self.reason, self.message, self.field = reason, message, field


def _number_text(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    return f"{value:.15g}"


def cell_text(value: Cell) -> str:
    """A cell as the text a CSV export of it would hold (the module docstring's rules)."""
    kind = type(value)  # exact types, the common ones first: a cell per column per row
    if kind is str:
        return cast(str, value)
    if kind is float:
        return _number_text(cast(float, value))
    if kind is date:
        return cast(date, value).isoformat()
    if kind is bool:
        return "VERDADEIRO" if value else "FALSO"
    if kind is datetime:
        moment = cast(datetime, value)
        if moment.time() == time():
            return moment.date().isoformat()
        return moment.isoformat(sep=" ")
    if kind is time:
        return cast(time, value).isoformat()
    return str(value)  # an int, a duration


def _field_text(field: str) -> _Convert:
    """`cell_text` for a column the import reads, refusing whole numbers Excel cut."""

    def convert(value: Cell) -> str:
        kind = type(value)
        if kind is float or kind is int:
            number = cast(float, value)
            if -_EXACT_LIMIT < number < _EXACT_LIMIT:
                return _number_text(number) if kind is float else str(number)
            if not float(number).is_integer():
                return _number_text(number)
            raise _CellRefused(
                _REASONS.get(field, Reason.MALFORMED_ROW),
                f"o número {_number_text(float(number))} ({field}) tem mais de 15 dígitos, e o "
                "Excel guarda só 15 (os últimos viraram zero); formate a coluna como Texto e "
                "digite o valor de novo",
                field,
            )
        if kind is date:
            return cast(date, value).isoformat()
        return cell_text(value)

    return convert


_REASONS: Final = {
    "phone": Reason.INVALID_PHONE,
    "document": Reason.INVALID_DOCUMENT,
    "amount": Reason.INVALID_AMOUNT,
    "due_date": Reason.INVALID_DUE_DATE,
}
_whole_amount_text: Final = _field_text("amount")


def _amount_text(value: Cell) -> str:
    """An amount cell: a fraction rounded half-even to centavos, in decimal (see above)."""
    if type(value) is float and not value.is_integer():
        amount = Decimal(f"{value:.15g}")
        if amount.adjusted() < 15:  # larger ones stay as they are, refused as too large
            amount = amount.quantize(_CENT, rounding=ROUND_HALF_EVEN)
        return f"{amount:f}"
    return _whole_amount_text(value)


def open_workbook(stream: IO[bytes], head: bytes, name: str) -> CalamineWorkbook:
    """The workbook in `head` and the rest of `stream`, read whole (at most
    `MAX_WORKBOOK_BYTES`); `UnreadableSource` if it is too large or calamine cannot read it."""
    parts = [head]
    size = len(head)
    while size <= MAX_WORKBOOK_BYTES and (data := stream.read(_READ_CHUNK)):
        parts.append(data)
        size += len(data)
    if size > MAX_WORKBOOK_BYTES:
        raise UnreadableSource(
            f"the workbook is larger than {MAX_WORKBOOK_BYTES:,} bytes, the most read (a "
            "workbook is held in memory whole); save its first sheet as CSV, which is read as "
            "it streams, or split it",
            source=name,
        )
    data = b"".join(parts)
    del parts
    password = (
        "the workbook is protected by a password; save a copy without a password and import that"
    )
    if data.startswith(_OLE2) and _ENCRYPTED in data:  # an .xlsx with a password is OLE2
        raise UnreadableSource(password, source=name)
    try:
        if data.startswith(b"PK"):
            _check_xlsx_area(data, name)
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError as exc:
        raise UnreadableSource(f"{password} ({exc})", source=name) from exc
    except (CalamineError, ValueError, OSError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        raise UnreadableSource(
            f"the workbook cannot be read: it is corrupt, cut off or not really a spreadsheet "
            f"({exc}); open it in Excel or LibreOffice and save it again as .xlsx",
            source=name,
        ) from exc


def _check_xlsx_area(data: bytes, name: str) -> None:
    """Refuse an .xlsx whose first sheet spans more than `MAX_SHEET_CELLS`.

    calamine lays a sheet's cells out as one rectangle from its first used cell to its last
    and aborts the whole process (not an exception) when that cannot be allocated: a
    500-byte file with cells at A1 and XFD1048576 asks for 512 GiB. So the positions are
    read first from the sheet's XML, decompressed as it streams (Excel, LibreOffice and the
    usual libraries write each cell as ``<c r="B7" ...``, .NET's as ``<x:c r="B7" ...``). A
    cell written any other way (its position not first, or missing) cannot be placed here, and
    is refused.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        part = _first_sheet_part(archive)
        if part is None:  # an .ods: calamine bounds its sheets itself
            return
        spans: list[tuple[int, int, int, int]] = []
        cells = refs = 0
        with archive.open(part) as sheet:
            rest = b""
            while chunk := sheet.read(_READ_CHUNK):
                text = rest + chunk
                cut = text.rfind(b">") + 1  # whole tags only; the rest goes with the next
                rest = text[cut:]
                opened, windows = _cells_in(text, cut)
                cells += opened
                if b":c" in text:  # x:c, as .NET writes
                    cells += len(_PREFIXED_CELL.findall(text, 0, cut))
                    if found := _PREFIXED_REF.findall(text, 0, cut):
                        windows = np.concatenate((windows, _padded(found)))
                placed, span = _span(windows)
                refs += placed
                if span is not None:
                    spans.append(span)
    if cells > refs:
        raise UnreadableSource(
            f"{cells - refs:,} cells of the first sheet do not start with their position "
            '(r="A1"); open the workbook in Excel or LibreOffice and save it again',
            source=name,
        )
    if not refs:
        return
    first_row, last_row, first_column, last_column = (
        min(span[0] for span in spans),
        max(span[1] for span in spans),
        min(span[2] for span in spans),
        max(span[3] for span in spans),
    )
    area = (last_row - first_row + 1) * (last_column - first_column + 1)
    if area > MAX_SHEET_CELLS:
        raise UnreadableSource(
            f"the first sheet spans {area:,} cells from its first used cell to its last, more "
            f"than the {MAX_SHEET_CELLS:,} read (every cell of that rectangle is held in "
            "memory); delete the stray cells far below or to the right of the data, or save "
            "the sheet as CSV",
            source=name,
        )


def _cells_in(text: bytes, end: int) -> tuple[int, npt.NDArray[np.uint8]]:
    """How many ``<c`` elements `text[:end]` opens (``<c``, then a space, tab, line end, ``>``
    or ``/``), and the bytes after `` r="`` of those that go on so: a row of
    `_POSITION_BYTES` each, for `_span`. Found column-wise: a sheet has millions."""
    data = np.frombuffer(text, np.uint8, count=end)
    opens = np.flatnonzero(data[:-2] == 60)  # <
    opens = opens[data[opens + 1] == 99]  # c
    opens = opens[np.isin(data[opens + 2], _AFTER_CELL_NAME)]
    # The window may read past `end`, into zeros: never a position.
    padded = np.concatenate((data, np.zeros(_POSITION_BYTES + 4, np.uint8)))
    placed = np.ones(len(opens), bool)
    for offset, byte in enumerate(b' r="', start=2):
        placed &= padded[opens + offset] == byte
    starts = opens[placed] + 6
    return len(opens), padded[starts[:, None] + np.arange(_POSITION_BYTES)]


def _padded(refs: list[bytes]) -> npt.NDArray[np.uint8]:
    """Positions a regex found, closed by their quote, as `_span` reads them."""
    quoted = [ref + b'"' for ref in refs]
    width = f"S{_POSITION_BYTES}"
    return np.array(quoted, dtype=width).view(np.uint8).reshape(len(refs), _POSITION_BYTES)


def _span(window: npt.NDArray[np.uint8]) -> tuple[int, tuple[int, int, int, int] | None]:
    """How many rows of `window` start with a cell position (``B7``: 1-3 capitals, 1-7
    digits, then the closing quote), and the first and last row and column numbers of those
    (None if none do), computed column-wise."""
    every = np.arange(len(window))
    letters = np.argmin((window[:, :4] >= 65) & (window[:, :4] <= 90), axis=1)  # 4 gives 0
    after = letters[:, None] + np.arange(8)
    rest = window[every[:, None], after]
    digits = np.argmin((rest >= 48) & (rest <= 57), axis=1)  # 8 gives 0
    valid = (letters > 0) & (digits > 0) & (rest[every, digits] == 34)
    if not valid.any():
        return 0, None
    letters, digits, rest, head = (
        letters[valid],
        digits[valid],
        rest[valid].astype(np.int64) - 48,
        window[valid, :3].astype(np.int64) - 64,
    )
    column = np.where(
        letters == 1,
        head[:, 0],
        np.where(letters == 2, head[:, 0] * 26 + head[:, 1], head @ np.array([676, 26, 1])),
    )
    row = np.zeros(len(rest), np.int64)
    for at in range(7):
        row = np.where(at < digits, row * 10 + rest[:, at], row)
    return len(row), (int(row.min()), int(row.max()), int(column.min()), int(column.max()))


def _first_sheet_part(archive: zipfile.ZipFile) -> str | None:
    """The ZIP part of the workbook's first sheet (what calamine reads), None if not .xlsx."""
    try:
        workbook = archive.read("xl/workbook.xml")
        relations = archive.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return None
    sheet = _FIRST_SHEET.search(workbook)
    if sheet is None:
        return None
    for relation in _RELATION.finditer(relations):
        attributes = relation.group(0)
        if b'Id="' + sheet.group(1) + b'"' in attributes:
            target = _TARGET.search(attributes)
            if target is None:
                return None
            path = target.group(1).decode()
            return path.lstrip("/") if path.startswith("/") else f"xl/{path}"
    return None


class Sheet:
    """The first sheet of a workbook: its header when opened, then its rows once."""

    def __init__(self, workbook: CalamineWorkbook, name: str) -> None:
        if not workbook.sheet_names:
            raise UnreadableSource("the workbook has no sheets", source=name)
        self.header_line = 0
        """The header's row number in the sheet: its first row that is not blank."""
        header: list[str] = []
        try:
            sheet = workbook.get_sheet_by_index(0)
            # calamine gives the rows from the sheet's first (blank ones above the used range
            # too), the columns from the first used one.
            self._rows: Iterator[list[Cell]] = iter(sheet.iter_rows())
            for row in self._rows:
                self.header_line += 1
                header = [cell_text(cell).strip() for cell in row]
                if any(header):
                    break
        except (CalamineError, ValueError) as exc:
            raise UnreadableSource(
                f"the first sheet cannot be read ({exc}); open the workbook in Excel or "
                "LibreOffice and save it again",
                source=name,
            ) from exc
        if not any(header):
            raise UnreadableSource(
                f"the first sheet ({workbook.sheet_names[0]!r}) is empty: no header and no "
                "rows; the import reads the first sheet only",
                source=name,
            )
        while not header[-1]:
            header.pop()
        self.columns = tuple(header)
        self._convert: list[_Convert] = []
        for column in self.columns:
            field = canonical_field(column)
            if field == "amount":
                self._convert.append(_amount_text)
            elif field is not None:
                self._convert.append(_field_text(field))
            else:
                self._convert.append(cell_text)

    def rows(self) -> Iterator[tuple[int, list[str] | Refused]]:
        """(row number, the row's cells converted, as many as the header's columns) for every
        row after the header that is not all blank; or, for a row that cannot be read without
        guessing, why (`Refused`). Cells right of the header's last name are a column with no
        name, ignored like any unknown column: in a sheet they are notes, not the shifted cells
        of a CSV line with a separator too many."""
        convert, header_line = self._convert, self.header_line
        for number, cells in enumerate(self._rows, 1):
            try:
                row = [
                    cell if type(cell) is str else conv(cell)
                    for conv, cell in zip(convert, cells, strict=False)
                ]
            except _CellRefused as refused:
                raw = ";".join(map(cell_text, cells)).rstrip(";")
                message = f"linha {number + header_line} da planilha: {refused.message}"
                yield number, Refused(refused.reason, message, refused.field, raw)
                continue
            if "".join(row).strip():
                yield number, row


def first_sheet(stream: IO[bytes], head: bytes, name: str) -> Sheet:
    """The first sheet of the workbook `stream` holds (its first bytes already read: `head`)."""
    return Sheet(open_workbook(stream, head, name), name)
