"""Streaming readers for import sources: a JSON array, NDJSON, CSV as spreadsheets export it,
or a workbook (.xlsx, .xls, .ods: `spreadsheets`).

`RowSource` reads a binary stream once, front to back, holding one record at a time (a CSV: one
chunk of lines, `CSV_CHUNK_BYTES`; plus a 64 KiB read buffer): memory does not grow with the
file, but for a workbook, which is read whole (`spreadsheets`, ADR 0019). Everything that
concerns the source as a whole is checked when it is opened, before any row comes out, and
raises `UnreadableSource`: an empty or binary file (a PDF passed by mistake), a corrupt
workbook, a CSV header that cannot be parsed.
After that nothing raises: a record that cannot be read becomes a `SourceRow` carrying a
`Rejection` (``malformed_row`` or ``field_too_long``) and reading goes on where it can.

Decisions, each stated once:

**Format.** Given explicitly (``--format``, a file's extension: `format_of_name`, an upload's
Content-Type or ``?format=``), or detected from the first bytes: a workbook by its signature
(`workbook_format`: a ZIP with ``xl/`` parts is .xlsx, one whose ``mimetype`` is an
OpenDocument spreadsheet is .ods, an OLE2 compound file is .xls); else from the first non-blank
character after any BOM: ``[`` is a JSON array, ``{`` is NDJSON, anything else is CSV. A
workbook's content decides between .xlsx, .xls and .ods; one given as a workbook that is not
one (an old system's HTML or text "xls") is refused by name, never read as something else.

**Row numbers.** `SourceRow.row` is what rejections report, 1-based, and always points at the
place in the file:

- CSV: the record's first physical line counted from the header line, so the first line after
  the header is row 1 (in a spreadsheet, that is sheet row 2). Blank lines, and rows whose cells
  are all blank (``;;;;`` as spreadsheets write them), are skipped and not counted as rows read,
  but they keep their line numbers: the row after a blank line 3 is row 4.
- NDJSON: the physical line number (1 is the first line); blank lines skipped the same way.
- JSON array: the element's index + 1.

**Encoding.** Decided per record, not per file: each CSV or NDJSON line (each JSON array element)
is decoded as UTF-8, strictly; if that fails, it is decoded as Windows-1252 (what Excel writes
as "CSV" on a Brazilian Windows; a superset of Latin-1's printable characters), and if even
that fails (five bytes cp1252 leaves undefined), as Latin-1, which never fails. This needs no
look-ahead, handles files of any size whose first non-ASCII byte is on row 900,000, and handles
files that mix both (concatenated exports), without ever renumbering rows. The risk is a cp1252
line that happens to be valid UTF-8 too, which takes sequences like ``Ã©`` that real names and
addresses do not contain. A UTF-8 BOM is dropped; a UTF-16 BOM (Excel's "Unicode text") switches
the whole file to UTF-16. `RowSource.fallback_records` counts the records decoded as cp1252.

**CSV.** The separator is ``;``, ``,`` or tab, whichever the header line has most of outside
quotes (``;`` wins ties: it is what Brazilian Excel writes); Excel's ``sep=;`` first line is
honoured. Quotes are parsed strictly: an unterminated quote at the end of the file (a truncated
last line) or text after a closing quote is a ``malformed_row``, never a crash. A row with more
non-blank cells than the header (``1.234,56`` unquoted in a ``,`` file) is a ``malformed_row``;
one with fewer leaves the missing columns absent (the validator says which required field is
missing). `csv.field_size_limit` is raised (process-wide, it is the csv module's only knob) to
`MAX_FIELD_CHARS`, 16 Mi characters: a 10 MB cell is read, a runaway quote that swallows the
rest of the file stops there. Lines longer than `MAX_RECORD_BYTES` are skipped unread, as one
``field_too_long`` row.

**JSON array.** Parsed element by element with `json.JSONDecoder.raw_decode` over a sliding
buffer (the standard library's C scanner; no streaming JSON library is installed). A failed
parse that may only be incomplete (the error is at the buffer's end, or is an unterminated
string) reads more, doubling what it asks for, so a 10 MB element costs linear time. Numbers
with a fraction become `Decimal`, never `float`. A syntax error inside the array ends the
reading there, as one ``malformed_row`` that says so: JSON has no way to resynchronize.
"""

from __future__ import annotations

import codecs
import csv
import enum
import gzip
import io
import itertools
import json
import re
import zlib
from collections import deque
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import IO, Final, cast

from connectors.imports.errors import GzipBroken, UnreadableSource
from connectors.imports.spreadsheets import Refused, Sheet, first_sheet
from connectors.imports.validation import Reason, Rejection
from streams.domain.brazil.money import thousands

__all__ = [
    "MAX_FIELD_CHARS",
    "MAX_HEADER_BYTES",
    "MAX_HEADER_COLUMNS",
    "MAX_RECORD_BYTES",
    "RAW_ROW_CHARS",
    "WORKBOOKS",
    "Format",
    "LineBlock",
    "RowSource",
    "SourceRow",
    "detect_format",
    "format_of_name",
    "workbook_format",
]

HEAD_BYTES: Final = 64 * 1024
CHUNK_BYTES: Final = 64 * 1024
#: CSV bytes split into lines and decoded at once (`RowSource._csv_chunks`).
CSV_CHUNK_BYTES: Final = 256 * 1024
#: Longest CSV/NDJSON line or JSON array element read as a record.
MAX_RECORD_BYTES: Final = 32 * 1024 * 1024
#: Longest CSV cell, in characters (`csv.field_size_limit`).
MAX_FIELD_CHARS: Final = 16 * 1024 * 1024
#: Longest CSV header line, in bytes, and most columns in it: a header is read whole before any
#: row, and every row is checked against it, so a hostile one must stop here (issue 18).
MAX_HEADER_BYTES: Final = 64 * 1024
MAX_HEADER_COLUMNS: Final = 500
#: How much of a record's source text a rejection keeps (`ImportRejected.raw_row`).
RAW_ROW_CHARS: Final = 4096

_UTF8_BOM: Final = codecs.BOM_UTF8
_GZIP: Final = b"\x1f\x8b"
_UTF16_BOMS: Final = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_ZIP: Final = b"PK\x03\x04"
_OLE2: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: An OpenDocument file's first entry: ``mimetype``, stored, at offset 30 of the ZIP.
_ODS_HEAD: Final = b"mimetypeapplication/vnd.oasis.opendocument.spreadsheet"
_SIGNATURES: Final = (
    (_ZIP, "a ZIP archive that is not a workbook (no xl/ part, no OpenDocument mimetype)"),
    (b"%PDF", "a PDF document"),
)
_EXTENSIONS: Final = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".ods": "ods"}
#: What keeps a sheet's row out of a `LineBlock` (besides a ``;`` in a cell).
_NOT_PLAIN: Final = re.compile('["\r\n\x00]')
_SEP_LINE = re.compile(r'^\s*"?sep=(.)"?\s*$', re.IGNORECASE)
_SURROGATES = re.compile("[\udc80-\udcff]")


class Format(enum.StrEnum):
    """How a source encodes its rows."""

    JSON = "json"
    NDJSON = "ndjson"
    CSV = "csv"
    XLSX = "xlsx"
    """Excel 2007+ (.xlsx, and .xlsm: the macros are never run)."""
    XLS = "xls"
    ODS = "ods"


#: The formats read as workbooks, whole, by `spreadsheets`.
WORKBOOKS: Final = frozenset({Format.XLSX, Format.XLS, Format.ODS})


class SourceRow:
    """One record of the source: its values by column name, or why it could not be read.

    A CSV row keeps its cells as the reader gave them (`cells`, under `RowSource.columns`) and
    builds the mapping only when asked: the importer validates the cells by position.
    """

    __slots__ = ("_columns", "_values", "cells", "raw", "rejection", "row")

    def __init__(
        self,
        row: int,
        values: Mapping[str, object] | None,
        raw: str,
        rejection: Rejection | None = None,
        *,
        cells: list[str] | None = None,
        columns: tuple[str, ...] = (),
    ) -> None:
        self.row = row
        """1-based row number, as the module docstring defines it per format."""
        self.raw = raw
        """The record's source text, cut to `RAW_ROW_CHARS`."""
        self.rejection = rejection
        self.cells = cells
        """A CSV row's cells, no more than the header's columns (fewer: the rest absent)."""
        self._columns = columns
        self._values = values

    @property
    def values(self) -> Mapping[str, object] | None:
        """Column or key -> raw value (str for CSV; JSON types, Decimal for fractions); None
        when the record could not be read, and then `rejection` says why."""
        if self.cells is not None:
            return dict(zip(self._columns, self.cells, strict=False))
        return self._values

    def __repr__(self) -> str:
        return f"SourceRow(row={self.row}, values={self.values!r}, rejection={self.rejection!r})"


def detect_format(head: bytes) -> Format:
    """Guess the format from the first bytes: ``[`` JSON array, ``{`` NDJSON, else CSV."""
    for bom in (_UTF8_BOM, *_UTF16_BOMS):
        if head.startswith(bom):
            encoding = "utf-8" if bom == _UTF8_BOM else "utf-16"
            head = head[len(bom) :].decode(encoding, errors="ignore").encode("utf-8")
            break
    stripped = head.lstrip()
    if stripped.startswith(b"["):
        return Format.JSON
    if stripped.startswith(b"{"):
        return Format.NDJSON
    return Format.CSV


def workbook_format(head: bytes) -> Format | None:
    """The workbook format the first bytes show, or None for anything else."""
    if head.startswith(_OLE2):
        return Format.XLS
    if head.startswith(_ZIP):
        if head[30 : 30 + len(_ODS_HEAD)] == _ODS_HEAD:
            return Format.ODS
        # The parts' names are plain text in the ZIP's local headers; [Content_Types].xml
        # comes first in what Excel writes, and the xl/ parts follow.
        if b"xl/" in head or b"[Content_Types].xml" in head:
            return Format.XLSX
    return None


def format_of_name(name: str) -> Format | None:
    """A workbook's format from a file name's extension (.xlsx, .xlsm, .xls, .ods); None for
    any other name, whose format the content decides."""
    dot = name.rfind(".")
    extension = _EXTENSIONS.get(name[dot:].lower()) if dot >= 0 else None
    return Format(extension) if extension else None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


class _Chained(io.RawIOBase):
    """The head already read, then the rest of the stream, as one raw stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        target = memoryview(buffer)  # type: ignore[arg-type]
        if self._head:
            n = min(len(target), len(self._head))
            target[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(target))
        if not data:
            return 0
        target[: len(data)] = data
        return len(data)


class _Gunzipped(io.RawIOBase):
    """A gzip stream, decompressed; its errors are a `GzipBroken` naming the file."""

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._file = gzip.GzipFile(fileobj=raw, mode="rb")
        self._name = name

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        try:
            return self._file.readinto(buffer)  # type: ignore[arg-type]
        except (OSError, EOFError, zlib.error) as exc:
            raise GzipBroken(
                f"{self._name}: the gzip data is cut off or corrupt ({exc}); the rows before "
                "it were read. Compress the file again, or import it uncompressed"
            ) from exc


class _Overlong:
    """A line longer than MAX_RECORD_BYTES, drained and not kept."""

    def __init__(self, size: int) -> None:
        self.size = size


class _Window:
    """The CSV lines csv.reader consumes, chunk by chunk, and the recent ones by line number.

    The reader takes the lines through `itertools.chain` (no Python call per line); the chunks
    still holding the current record stay here for its raw text (`raw`), older ones are
    dropped (`forget_before`), so memory holds about one chunk whatever the file size. An
    `_Overlong` in a chunk makes csv.reader raise ("iterator should return strings") without
    counting a line; `overlong` keeps their sizes in order for the caller.
    """

    def __init__(self, chunks: Iterator[list[str | _Overlong]], first_line: int) -> None:
        self._chunks = chunks
        self._next_line = first_line
        self._kept: deque[tuple[int, list[str | _Overlong]]] = deque()
        self.overlong: deque[int] = deque()

    def lines(self) -> Iterator[str | _Overlong]:
        return itertools.chain.from_iterable(self._track())

    def _track(self) -> Iterator[list[str | _Overlong]]:
        for chunk in self._chunks:
            self._kept.append((self._next_line, chunk))
            self._next_line += len(chunk)
            self.overlong.extend(line.size for line in chunk if type(line) is _Overlong)
            yield chunk

    def forget_before(self, line: int) -> None:
        kept = self._kept
        while len(kept) > 1 and kept[1][0] <= line:
            kept.popleft()

    def raw(self, start: int, end: int) -> str:
        """The text of physical lines `start`..`end`, cut to `RAW_ROW_CHARS`."""
        if start == end:  # most records: one line, in the latest chunk that starts before it
            for first, chunk in reversed(self._kept):
                if first <= start:
                    line = chunk[start - first]
                    return line[:RAW_ROW_CHARS] if type(line) is str else ""
        taken: list[str] = []
        size = 0
        for first, chunk in self._kept:
            for line in chunk[max(start - first, 0) : end - first + 1]:
                if type(line) is str and size < RAW_ROW_CHARS:
                    taken.append(line)
                    size += len(line)
        return "".join(taken)[:RAW_ROW_CHARS]


class _ReaderRun:
    """The chunks one csv.reader reads: the first, then the next ones while a record is open.

    csv.reader asks for a line past a chunk either inside a record (the next chunk belongs to
    the run) or to start a new record (the run ends there, and the next chunk is free to be a
    `LineBlock`): `ended` (the last line of the records read, kept by the caller) tells which.
    """

    def __init__(
        self,
        first: list[str | _Overlong],
        more: Iterator[list[str | _Overlong]],
        first_line: int,
    ) -> None:
        self._first, self._more = first, more
        self.fed = first_line - 1
        """The last physical line handed to the reader."""
        self.ended = first_line - 1
        """The last physical line of the records read so far."""

    def chunks(self) -> Iterator[list[str | _Overlong]]:
        chunk: list[str | _Overlong] | None = self._first
        while chunk is not None:
            self.fed += len(chunk)
            yield chunk
            if self.ended == self.fed:
                return
            chunk = next(self._more, None)


class LineBlock:
    """A chunk of whole CSV lines with nothing csv.reader treats specially: no quote, no CR
    but in CRLF, no NUL; as UTF-8 (lines that were not are decoded as usual, then encoded).
    Each line is its cells split on the delimiter, so a caller can take the block as a whole;
    `rows` gives what csv.reader would, row by row."""

    __slots__ = ("columns", "data", "delimiter", "first_row", "header_line")

    def __init__(
        self,
        data: bytes,
        first_line: int,
        header_line: int,
        delimiter: str,
        columns: tuple[str, ...],
    ) -> None:
        self.data = data
        self.header_line = header_line
        self.first_row = first_line - header_line
        """The row number of the block's first line (every line has one, blank or not)."""
        self.delimiter = delimiter
        self.columns = columns

    def rows(self) -> Iterator[SourceRow]:
        lines = self.data.decode().split("\n")
        last = lines.pop()  # "" when the block ends with a line end
        for number, line in enumerate(lines, self.first_row):
            if row := self.row(number, line + "\n"):
                yield row
        if last and (row := self.row(self.first_row + len(lines), last)):
            yield row

    def row(self, number: int, line: str) -> SourceRow | None:
        """Line `number` (its text, with or without its line end) as a row; None if skipped."""
        text = line.rstrip("\r\n")
        if not text:
            return None
        columns = self.columns
        start = number + self.header_line
        raw = line[:RAW_ROW_CHARS]
        # At most one cell past the header's: a line of millions of empty cells is not made
        # into a list of them (at ~8 bytes a cell, more memory than the line).
        cells = text.split(self.delimiter, len(columns))
        if len(cells) > len(columns):
            rest = cells.pop()
            if rest.replace(self.delimiter, "").strip():
                count = len(columns) + 1 + rest.count(self.delimiter)
                message = _too_many_cells(start, count, len(columns), self.delimiter)
                return _unreadable(number, Reason.MALFORMED_ROW, message, raw)
        problem = _csv_cells_problem(cells, start, self.delimiter, columns)
        if problem is not None:
            if not problem:
                return None
            return _unreadable(number, Reason.MALFORMED_ROW, problem, raw)
        return SourceRow(number, None, raw, cells=cells, columns=columns)


class RowSource:
    """A readable import source: checked when opened, then iterated once for its rows."""

    def __init__(
        self,
        stream: IO[bytes],
        fmt: Format | None = None,
        *,
        name: str = "<stream>",
        gunzip: bool = False,
    ):
        self.name = name
        head = _read_head(stream)
        if head.startswith(_GZIP):
            if not gunzip:
                raise UnreadableSource(
                    "this is a gzip-compressed file (.gz), not CSV or JSON text; decompress it "
                    "(gunzip FILE) and import the result",
                    source=self.name,
                )
            # Only for a file the operator names: an HTTP body's size limit counts compressed
            # bytes, and a small body could then expand without bound.
            stream = cast(IO[bytes], _Gunzipped(cast(IO[bytes], _Chained(head, stream)), name))
            head = _read_head(stream)
        self.fallback_records = 0
        """Records decoded as Windows-1252/Latin-1 because they were not valid UTF-8."""
        self._used = False
        self._sheet: Sheet | None = None
        workbook = workbook_format(head)
        if workbook is not None or fmt in WORKBOOKS:
            self._open_workbook(stream, head, fmt, workbook)
            return
        self._check_head(head)
        self.format: Format = fmt or detect_format(head)
        if fmt is not None and fmt is not Format.CSV and detect_format(head) is not fmt:
            opening = "[" if fmt is Format.JSON else "{"
            raise UnreadableSource(
                f"--format {fmt.value} was given but the file does not start with {opening!r}; "
                "leave --format out to detect the format",
                source=self.name,
            )
        self.utf16 = head.startswith(_UTF16_BOMS)
        if head.startswith(_UTF8_BOM):
            head = head[len(_UTF8_BOM) :]
        self._bytes = io.BufferedReader(_Chained(head, stream), CHUNK_BYTES)
        self.columns: tuple[str, ...] | None = None
        """The CSV header's cells (None for JSON formats)."""
        self.delimiter: str | None = None
        self.header_line = 0
        """The CSV header's physical line (1 unless blank lines or ``sep=`` precede it)."""
        self._lines: Iterator[str | _Overlong] | None = None
        """The lines after a UTF-16 CSV's header (the byte reader goes on from its stream)."""
        self._in_header = self.format is Format.CSV
        """While a CSV's header is looked for: its lines are held to `MAX_HEADER_BYTES`."""
        if self.format is Format.CSV:
            self._read_csv_header()

    # -- opening ----------------------------------------------------------------------------

    def _open_workbook(
        self, stream: IO[bytes], head: bytes, fmt: Format | None, workbook: Format | None
    ) -> None:
        """Read the workbook's first sheet's header (`spreadsheets`); its content decides
        between .xlsx, .xls and .ods, whatever the name said."""
        if workbook is None:
            assert fmt is not None
            raise UnreadableSource(
                f"it was given as {fmt.value} (by its name, --format, Content-Type or ?format=) "
                "but it is not a workbook: it has no ZIP or OLE2 signature. Some systems export "
                "HTML or tab-separated text named .xls; open it in Excel or LibreOffice and save "
                "it as .xlsx, or, if it is text, import it as CSV",
                source=self.name,
            )
        if fmt is not None and fmt not in WORKBOOKS:
            raise UnreadableSource(
                f"--format {fmt.value} was given but this is a workbook ({workbook.value}); "
                "leave --format out to read it as one",
                source=self.name,
            )
        self.format = workbook
        self.utf16 = False
        self.delimiter = None
        self._sheet = first_sheet(stream, head, self.name)
        self.header_line = self._sheet.header_line
        _check_width(len(self._sheet.columns), self.name, self.header_line)
        self.columns = self._sheet.columns

    def _check_head(self, head: bytes) -> None:
        for signature, what in _SIGNATURES:
            if head.startswith(signature):
                raise UnreadableSource(
                    f"this is {what}, not CSV or JSON text; export the sheet as CSV "
                    "(UTF-8 or the default Windows encoding) and import that",
                    source=self.name,
                )
        if not head.startswith(_UTF16_BOMS) and b"\x00" in head:
            raise UnreadableSource(
                "the file contains NUL bytes, so it is binary or UTF-16 without a BOM, not "
                "UTF-8/Latin-1 text; export it as CSV (UTF-8) and import that",
                source=self.name,
            )
        body = head
        for bom in (_UTF8_BOM, *_UTF16_BOMS):
            body = body.removeprefix(bom)
        if not body.strip(b" \t\r\n\x00"):
            raise UnreadableSource("the file is empty: no header and no rows", source=self.name)

    def _line_limit(self) -> int:
        return MAX_HEADER_BYTES if self._in_header else MAX_RECORD_BYTES

    def _line_source(self) -> Iterator[str | _Overlong]:
        """Lines of the file, decoded; one over `_line_limit` bytes is an `_Overlong`, drained
        unless it is the header's (the open fails then: nothing more is read)."""
        if self.utf16:
            text = io.TextIOWrapper(self._bytes, encoding="utf-16", errors="replace", newline="")
            while line := text.readline((limit := self._line_limit() // 2) + 1):
                if len(line) > limit and not line.endswith("\n"):
                    if self._in_header:
                        yield _Overlong(len(line) * 2)
                        return
                    chars = len(line)
                    while (rest := text.readline(limit)) and not rest.endswith("\n"):
                        chars += len(rest)
                    yield _Overlong((chars + len(rest)) * 2)
                    continue
                yield line
            return
        read = self._bytes.readline
        while data := read((limit := self._line_limit()) + 1):
            if len(data) > limit and not data.endswith(b"\n"):
                if self._in_header:
                    yield _Overlong(len(data))
                    return
                size = len(data)
                while (more := read(CHUNK_BYTES)) and not more.endswith(b"\n"):
                    size += len(more)
                yield _Overlong(size + len(more))
                continue
            try:
                line = data.decode("utf-8")
            except UnicodeDecodeError:
                self.fallback_records += 1
                line = _decode(data)
            yield line

    def _csv_chunks(self) -> Iterator[bytes | list[str | _Overlong]]:
        """The lines after the CSV header, about `CSV_CHUNK_BYTES` at a time: a plain chunk
        (`_plain`) as its bytes, any other split and decoded.

        A chunk's last line is completed with `readline`, which is also where a line over
        `MAX_RECORD_BYTES` is found (an `_Overlong` after the chunk's lines). Bytes are decoded
        a chunk at a time, per line only when a chunk is not all UTF-8: the encoding stays a
        per-record decision.
        """
        if self._lines is not None:  # UTF-16: decoded by a text wrapper, line by line
            yield from ([line] for line in self._lines)
            return
        read, readline = self._bytes.read, self._bytes.readline
        size = min(CSV_CHUNK_BYTES, MAX_RECORD_BYTES)  # so only a chunk's last line can be over
        while data := read(size):
            overlong = None
            if not data.endswith(b"\n"):
                cut = data.rfind(b"\n") + 1
                line = data[cut:] + readline(MAX_RECORD_BYTES + 1 - (len(data) - cut))
                if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
                    total = len(line)
                    while (more := readline(CHUNK_BYTES)) and not more.endswith(b"\n"):
                        total += len(more)
                    data, overlong = data[:cut], _Overlong(total + len(more))
                else:
                    data = data[:cut] + line
            if overlong is None and _plain(data):
                try:
                    data.decode()
                except UnicodeDecodeError:  # some lines are Windows-1252: as UTF-8 from here
                    data = "".join(self._decode_lines(_split_lines(data))).encode()
                yield data
                continue
            lines = self._lines_of(data)
            if overlong is not None:
                lines.append(overlong)
            yield lines

    def _lines_of(self, data: bytes) -> list[str | _Overlong]:
        """A chunk's whole lines, decoded (line by line when it is not all UTF-8)."""
        return [*self._decode_lines(_split_lines(data))]

    def _decode_lines(self, lines: list[bytes]) -> list[str]:
        try:
            return list(map(bytes.decode, lines))  # UTF-8, strictly
        except UnicodeDecodeError:
            pass
        decoded = []
        for data in lines:
            try:
                decoded.append(data.decode("utf-8"))
            except UnicodeDecodeError:
                self.fallback_records += 1
                decoded.append(_decode(data))
        return decoded

    def _read_csv_header(self) -> None:
        lines = self._line_source()
        number = 0
        delimiter: str | None = None
        for line in lines:
            number += 1
            if isinstance(line, _Overlong):
                raise UnreadableSource(
                    f"the header line is longer than {MAX_HEADER_BYTES:,} bytes, the most a "
                    "header may have; is this a CSV file? Keep only the columns the import "
                    "reads (codigo, nome, celular, cpf, valor, vencimento and the optional ones)",
                    source=self.name,
                    line=number,
                )
            if not line.strip():
                continue
            if delimiter is None and (sep := _SEP_LINE.match(line)):
                delimiter = sep.group(1)
                continue
            break
        else:
            raise UnreadableSource("the file has no header line", source=self.name)
        text = line.rstrip("\r\n")
        if "\r" in text:
            raise UnreadableSource(
                "lines end with a bare carriage return (old Mac format); save the file with "
                "Windows (CRLF) or Unix (LF) line endings",
                source=self.name,
                line=number,
            )
        self.delimiter = delimiter or _sniff_delimiter(text)
        try:
            header = next(csv.reader([text], delimiter=self.delimiter, strict=True))
        except (csv.Error, StopIteration) as exc:
            raise UnreadableSource(
                f"the header line cannot be parsed as CSV ({exc}); check its quotes",
                source=self.name,
                line=number,
            ) from exc
        _check_width(len(header), self.name, number)
        self.columns = tuple(cell.strip().removeprefix("\ufeff") for cell in header)
        self.header_line = number
        self._in_header = False
        if self.utf16:  # the text wrapper has read ahead; the bytes stream cannot go on
            self._lines = lines

    # -- rows -------------------------------------------------------------------------------

    def pieces(self) -> Iterator[SourceRow | LineBlock]:
        """The source's records in order: rows, and for CSV also `LineBlock`s, runs of plain
        lines a caller may take as a whole (`LineBlock.rows` gives the same rows one by one).
        Iterating the source gives only rows."""
        if self._used:
            raise RuntimeError("a RowSource is read once; open the source again")
        self._used = True
        if self._sheet is not None:
            return self._sheet_pieces(self._sheet)
        if self.format is Format.CSV:
            return self._csv_pieces()
        if self.format is Format.NDJSON:
            return self._ndjson_rows()
        return self._json_rows()

    def __iter__(self) -> Iterator[SourceRow]:
        for piece in self.pieces():
            if type(piece) is LineBlock:
                yield from piece.rows()
            else:
                yield cast(SourceRow, piece)

    def _csv_pieces(self) -> Iterator[SourceRow | LineBlock]:
        """A plain chunk is a `LineBlock`; the others go through csv.reader, with the chunks
        after them for as long as a record is still open at a chunk's end (a quoted cell over
        several lines), so where chunks end never changes a row."""
        assert self.columns is not None and self.delimiter
        if csv.field_size_limit() < MAX_FIELD_CHARS:
            csv.field_size_limit(MAX_FIELD_CHARS)
        chunks = self._csv_chunks()
        line = self.header_line + 1  # the physical line the next chunk starts at
        for chunk in chunks:
            if type(chunk) is bytes:
                yield LineBlock(chunk, line, self.header_line, self.delimiter, self.columns)
                line += chunk.count(b"\n") + (not chunk.endswith(b"\n"))
                continue
            # A plain chunk inside a quoted record is read as lines like the others.
            more = (c if isinstance(c, list) else self._lines_of(c) for c in chunks)
            run = _ReaderRun(cast(list[str | _Overlong], chunk), more, line)
            yield from self._csv_reader_rows(run)
            line = run.fed + 1

    def _csv_reader_rows(self, run: _ReaderRun) -> Iterator[SourceRow]:
        """The rows csv.reader reads from the chunks of `run`."""
        assert self.columns is not None and self.delimiter
        header_line, delimiter, columns = self.header_line, self.delimiter, self.columns
        window = _Window(run.chunks(), run.fed + 1)
        # An _Overlong among the lines is csv.reader's error on purpose (see _Window).
        lines = cast(Iterator[str], window.lines())
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        skipped = 0  # overlong lines: physical lines csv.reader did not count
        base = end = run.fed
        while True:
            start = end + 1
            window.forget_before(start)
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if str(exc).startswith("iterator should return strings"):  # an _Overlong
                    skipped += 1
                    end = run.ended = base + reader.line_num + skipped
                    yield _unreadable(
                        start - header_line,
                        Reason.FIELD_TOO_LONG,
                        f"linha {start} do arquivo tem {thousands(window.overlong.popleft())} "
                        f"bytes; o máximo é {thousands(MAX_RECORD_BYTES)}",
                        "",
                    )
                    continue
                end = run.ended = base + reader.line_num + skipped
                yield _unreadable(
                    start - header_line,
                    *_csv_problem(str(exc), start, end, delimiter),
                    window.raw(start, end),
                )
                continue
            end = run.ended = base + reader.line_num + skipped
            if (problem := _csv_cells_problem(cells, start, delimiter, columns)) is not None:
                if problem:
                    raw = window.raw(start, end)
                    yield _unreadable(start - header_line, Reason.MALFORMED_ROW, problem, raw)
                continue
            if len(cells) > len(columns):
                cells = cells[: len(columns)]
            yield SourceRow(
                start - header_line, None, window.raw(start, end), cells=cells, columns=columns
            )

    def _sheet_pieces(self, sheet: Sheet) -> Iterator[SourceRow | LineBlock]:
        """A sheet's rows as a CSV's: runs of consecutive rows whose cells hold no ``;``,
        quote, line break or NUL as `LineBlock`s of ``;``-separated lines (the importer takes
        those column-wise), any other row as a `SourceRow` of its cells."""
        columns, header_line = sheet.columns, sheet.header_line
        separators = len(columns) - 1
        lines: list[str] = []
        first = after = size = 0  # the block's first row, the row after its last, its size

        def block() -> LineBlock:
            data = ("\n".join(lines) + "\n").encode()
            lines.clear()
            return LineBlock(data, header_line + first, header_line, ";", columns)

        for number, cells in sheet.rows():
            if type(cells) is Refused:
                if lines:
                    yield block()
                rejection = Rejection(number, cells.reason, cells.message, cells.field)
                yield SourceRow(number, None, cells.raw[:RAW_ROW_CHARS], rejection)
                continue
            assert type(cells) is list
            line = ";".join(cells)
            plain = line.count(";") == separators and not _NOT_PLAIN.search(line)
            if lines and (not plain or number != after or size >= CSV_CHUNK_BYTES):
                yield block()
            if plain:
                if not lines:
                    first, size = number, 0
                lines.append(line)
                size += len(line)
                after = number + 1
                continue
            yield SourceRow(number, None, line[:RAW_ROW_CHARS], cells=cells, columns=columns)
        if lines:
            yield block()

    def _ndjson_rows(self) -> Iterator[SourceRow]:
        decoder = json.JSONDecoder(parse_float=Decimal)
        number = 0
        first = True
        for line in self._line_source():
            number += 1
            if isinstance(line, _Overlong):
                yield _unreadable(
                    number,
                    Reason.FIELD_TOO_LONG,
                    f"linha {number} tem {thousands(line.size)} bytes; o máximo é "
                    f"{thousands(MAX_RECORD_BYTES)}",
                    "",
                )
                continue
            text = line.strip()
            if not text:
                continue
            raw = text[:RAW_ROW_CHARS]
            opening, first = first, False
            try:
                value = decoder.decode(line.rstrip("\r\n"))  # columns count from the line start
            except json.JSONDecodeError as exc:
                if opening and text == "{":
                    raise UnreadableSource(
                        "this is one JSON object spread over many lines, not NDJSON; send a "
                        "JSON array of objects, or one object per line",
                        source=self.name,
                    ) from exc
                yield _unreadable(
                    number,
                    Reason.MALFORMED_ROW,
                    f"linha {number} não é JSON válido: {_json_problem(exc)}",
                    raw,
                )
                continue
            except (ValueError, RecursionError) as exc:
                yield _unreadable(
                    number, Reason.MALFORMED_ROW, f"linha {number} não é JSON válido: {exc}", raw
                )
                continue
            if not isinstance(value, dict):
                yield _unreadable(
                    number,
                    Reason.MALFORMED_ROW,
                    f"linha {number} não é um objeto JSON ({{...}})",
                    raw,
                )
                continue
            yield SourceRow(number, value, raw)

    def _json_rows(self) -> Iterator[SourceRow]:
        return _JsonArray(self).rows()


_JSON_MESSAGES: Final = {
    "Expecting value": "esperava um valor",
    "Expecting ',' delimiter": "esperava ','",
    "Expecting ':' delimiter": "esperava ':'",
    "Expecting property name enclosed in double quotes": "esperava um nome entre aspas duplas",
    "Unterminated string starting at": "texto sem aspas de fechamento",
    "Invalid \\escape": "escape inválido (\\)",
    "Invalid control character at": "caractere de controle dentro de um texto",
    "Extra data": "conteúdo depois do fim do objeto",
}


def _json_problem(exc: json.JSONDecodeError) -> str:
    return f"{_JSON_MESSAGES.get(exc.msg, exc.msg)} (coluna {exc.colno})"


def _plain(data: bytes) -> bool:
    """Whether csv.reader would read `data` as lines split on the delimiter (`LineBlock`)."""
    return not (b'"' in data or b"\x00" in data or data.count(b"\r") != data.count(b"\r\n"))


def _csv_cells_problem(
    cells: list[str], line: int, delimiter: str, columns: tuple[str, ...]
) -> str | None:
    """None for a row to read; ``""`` for one to skip (no cells, or all blank: ``;;;;`` as
    spreadsheets write them); else why the row is malformed."""
    # The first cell (the client's code) usually settles it.
    if not (cells and cells[0].strip()) and not "".join(cells).strip():
        return ""
    width = len(columns)
    if len(cells) > width and any(cell.strip() for cell in cells[width:]):
        return _too_many_cells(line, len(cells), width, delimiter)
    return None


def _too_many_cells(line: int, cells: int, width: int, delimiter: str) -> str:
    return (
        f"linha {line} do arquivo tem {cells} colunas e o cabeçalho tem {width}; "
        f"algum valor contém o separador {delimiter!r} sem aspas?"
    )


def _split_lines(data: bytes) -> list[bytes]:
    """`data` (whole lines; the file's last one may lack its line end) split after each
    ``\\n``, as `readline` would; a bare ``\\r`` is not a line break (csv.reader reports it
    inside its line)."""
    if data.count(b"\r") == data.count(b"\r\n"):
        return data.splitlines(keepends=True)  # C, and the same lines when no bare CR
    lines = data.split(b"\n")
    last = lines.pop()  # after the last newline: empty, unless the file ends without one
    return [line + b"\n" for line in lines] + ([last] if last else [])


def _read_head(stream: IO[bytes]) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < HEAD_BYTES:
        data = stream.read(HEAD_BYTES - size)
        if not data:
            break
        parts.append(data)
        size += len(data)
    return b"".join(parts)


def _sniff_delimiter(header: str) -> str:
    counts = dict.fromkeys(";,\t", 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(counts, key=lambda d: counts[d])  # max keeps the first of equals: ';'


def _check_width(columns: int, name: str, line: int) -> None:
    if columns > MAX_HEADER_COLUMNS:
        raise UnreadableSource(
            f"the header has {columns:,} columns; a header may have at most "
            f"{MAX_HEADER_COLUMNS:,}. Keep only the columns the import reads (codigo, nome, "
            "celular, cpf, valor, vencimento and the optional ones) and import again",
            source=name,
            line=line,
        )


def _unreadable(row: int, reason: Reason, message: str, raw: str) -> SourceRow:
    return SourceRow(row, None, raw, Rejection(row, reason, message, None))


def _csv_problem(error: str, start: int, end: int, delimiter: str) -> tuple[Reason, str]:
    lines = f"linha {start}" if start == end else f"linhas {start} a {end}"
    lines += " do arquivo"
    if error.startswith("unexpected end of data"):
        return Reason.MALFORMED_ROW, (
            f"{lines}: o arquivo termina dentro de um valor entre aspas (arquivo truncado ou "
            "aspas sem fechamento)"
        )
    if error.startswith("field larger than field limit"):
        return Reason.FIELD_TOO_LONG, (
            f"{lines}: um valor passa de {thousands(MAX_FIELD_CHARS)} caracteres "
            "(aspas sem fechamento?)"
        )
    if "expected after" in error:
        return Reason.MALFORMED_ROW, (
            f"{lines}: texto depois de fechar aspas; um valor com aspas deve terminar em aspas "
            f"seguidas do separador {delimiter!r}"
        )
    if "NUL" in error:
        return Reason.MALFORMED_ROW, f"{lines}: contém um caractere nulo (NUL)"
    if "new-line character" in error:
        return Reason.MALFORMED_ROW, f"{lines}: quebra de linha (CR) fora de aspas"
    return Reason.MALFORMED_ROW, f"{lines}: CSV ilegível ({error})"


class _JsonArray:
    """Elements of a top-level JSON array, one at a time, from a sliding text buffer."""

    def __init__(self, source: RowSource) -> None:
        self._source = source
        self._read = source._bytes.read
        encoding = "utf-16" if source.utf16 else "utf-8"
        errors = "replace" if source.utf16 else "surrogateescape"
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
        self._json = json.JSONDecoder(parse_float=Decimal)
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._escaped = False  # some bytes were not UTF-8: check elements for surrogates
        self._stopped = False  # a syntax error: nothing after it can be read

    def _fill(self, size: int = CHUNK_BYTES) -> bool:
        """Read about `size` more bytes into the buffer; False at the end of the stream."""
        if self._eof:
            return False
        if self._pos > CHUNK_BYTES:
            self._buf, self._pos = self._buf[self._pos :], 0
        data = self._read(size)
        text = self._decoder.decode(data, final=not data)
        if not self._source.utf16 and not self._escaped and _SURROGATES.search(text):
            self._escaped = True
        self._buf += text
        if not data:
            self._eof = True
        return True

    def _skip_space(self) -> str:
        """The next non-blank character (buffer position on it), or "" at the end."""
        while True:
            buf = self._buf
            pos = self._pos
            while pos < len(buf) and buf[pos] in " \t\r\n\ufeff":
                pos += 1
            self._pos = pos
            if pos < len(buf):
                return buf[pos]
            if not self._fill():
                return ""

    def rows(self) -> Iterator[SourceRow]:
        if self._skip_space() != "[":
            yield _unreadable(1, Reason.MALFORMED_ROW, "o JSON não começa com '['", "")
            return
        self._pos += 1
        index = 0
        if self._skip_space() == "]":
            self._pos += 1
            yield from self._after_end(index)
            return
        while True:
            index += 1
            char = self._skip_space()
            if char == "":
                yield _unreadable(
                    index,
                    Reason.MALFORMED_ROW,
                    f"o array JSON termina sem ']' antes do elemento {index} (arquivo truncado?)",
                    "",
                )
                return
            yield self._element(index)
            if self._stopped:
                return
            char = self._skip_space()
            if char == ",":
                self._pos += 1
                if self._skip_space() == "]":  # a trailing comma: tolerated
                    self._pos += 1
                    yield from self._after_end(index)
                    return
                continue
            if char == "]":
                self._pos += 1
                yield from self._after_end(index)
                return
            if char == "":
                yield _unreadable(
                    index + 1,
                    Reason.MALFORMED_ROW,
                    f"o array JSON termina sem ']' depois do elemento {index} (arquivo truncado?)",
                    "",
                )
                return
            yield _unreadable(
                index + 1,
                Reason.MALFORMED_ROW,
                f"esperava ',' ou ']' depois do elemento {index} e encontrou {char!r}; "
                "o restante do arquivo não foi lido",
                self._buf[self._pos : self._pos + RAW_ROW_CHARS],
            )
            return

    def _element(self, index: int) -> SourceRow:
        want = CHUNK_BYTES
        while True:
            buf, pos = self._buf, self._pos
            try:
                value, end = self._json.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                incomplete = exc.pos >= len(buf) - 64 or exc.msg.startswith("Unterminated string")
                if incomplete and self._grow(want):
                    want *= 2
                    continue
                problem = _JSON_MESSAGES.get(exc.msg, exc.msg)
                at_end = exc.pos >= len(buf.rstrip()) or exc.msg.startswith("Unterminated")
                return self._stop(
                    index,
                    f"elemento {index} não é JSON válido: {problem} "
                    f"(caractere {exc.pos - pos + 1} do elemento)",
                    truncated=self._eof and at_end,
                )
            except (ValueError, RecursionError) as exc:
                message = f"elemento {index} não é JSON válido: {exc}"
                return self._stop(index, message, truncated=False)
            if end == len(buf) and self._grow(want):  # a number may go on in the next chunk
                want *= 2
                continue
            break
        raw = buf[pos : min(end, pos + RAW_ROW_CHARS)]
        if self._escaped and _SURROGATES.search(buf, pos, end):
            self._source.fallback_records += 1
            text = _decode(buf[pos:end].encode("utf-8", "surrogateescape"))
            value, _ = self._json.raw_decode(text)
            raw = text[:RAW_ROW_CHARS]
        self._pos = end
        if not isinstance(value, dict):
            return _unreadable(
                index, Reason.MALFORMED_ROW, f"elemento {index} não é um objeto JSON ({{...}})", raw
            )
        return SourceRow(index, value, raw)

    def _grow(self, want: int) -> bool:
        if len(self._buf) - self._pos > MAX_RECORD_BYTES:
            return False
        return self._fill(want)

    def _stop(self, index: int, message: str, *, truncated: bool) -> SourceRow:
        """Reading ends here: JSON gives no way to find the next element after a syntax error."""
        self._stopped = True
        raw = self._buf[self._pos : self._pos + RAW_ROW_CHARS]
        if len(self._buf) - self._pos > MAX_RECORD_BYTES:
            return _unreadable(
                index,
                Reason.FIELD_TOO_LONG,
                f"elemento {index} passa de {thousands(MAX_RECORD_BYTES)} bytes; o restante "
                "do arquivo não foi lido",
                raw,
            )
        after = " (arquivo truncado?)" if truncated else "; o restante do arquivo não foi lido"
        return _unreadable(index, Reason.MALFORMED_ROW, message + after, raw)

    def _after_end(self, index: int) -> Iterator[SourceRow]:
        char = self._skip_space()
        if char:
            yield _unreadable(
                index + 1,
                Reason.MALFORMED_ROW,
                "há conteúdo depois do ']' que fecha o array JSON; ele não foi lido",
                self._buf[self._pos : self._pos + RAW_ROW_CHARS],
            )
