"""A `LineBlock` of CSV rows validated and written as Kafka records at once, column by column.

The common row of a spreadsheet export is checked and encoded here with numpy over the whole
block (a few thousand rows): cells are found from the delimiter positions, each rule of
`validation` (Brazil's, `streams.domain.brazil`, with its tables and weights) runs as array
operations on a column, and the accepted rows' Avro values are gathered from the block's bytes
and a few computed columns by `schemas.columns.ColumnWriter`. What is left in Python per row is
the event id's SHA-1, slicing out the key and value, and sending them.

This is a fast path, not a second set of rules: a row is taken here only when every one of its
values is in a form whose outcome is certain and is an acceptance. Anything else (a rejection,
an unusual but valid form, surrounding spaces, an international phone number, a padded
document) is left to `validation.RowValidator`, row by row, which decides and words it. The
accepted rows are the bytes `records.ImportRecords.accepted` writes for the fields
`validation` gives (property tests compare both paths on generated rows and every fixture).

What the fast path takes, per field (everything else goes row by row):

- client_id and optional texts: no blank or space at either end (strip would change them);
  a client_id is not blank; an optional blank cell is null;
- name: besides the ends, single ASCII spaces only, and no non-ASCII character but Latin-1's
  letters (so ``" ".join(name.split())`` is the name itself);
- phone: ASCII digits and ``( ) . - /`` and spaces, national form (no ``+`` or ``00``), DDD
  + 9 digits starting with 9, or + 8 digits (6-9: the 9th digit added; 2-5: a landline, taken
  only when the tenant allows them);
- document: ASCII digits and ``. / -``, 11 (CPF) or 14 (CNPJ) digits with valid check digits,
  not all equal; or an alphanumeric CNPJ (ASCII letters, either case, and digits, 2 digits
  last, with ``. . / -`` at their places or none) with valid check digits; an empty cell or no
  column is a row without a document (null), unless the tenant requires one (then such a row,
  like a cell of spaces, goes row by row, which words the rejection);
- amount: optional ``R$`` and one space, then ``150``, ``1234,56``, ``1.234,56``,
  ``1.234.567`` or ``1234.56``, more than zero, at most 15 digits of reais;
- due date: ``DD/MM/YYYY`` or ``YYYY-MM-DD`` exactly, a real day in 1900-2100;
- uf: two ASCII letters (upper-cased).
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from connectors.imports.formats import LineBlock
from connectors.imports.records import DOCUMENT_KINDS, ImportRecords
from connectors.imports.validation import (
    ALL_FIELDS,
    MAX_TEXT_CHARS,
    OPTIONAL_FIELDS,
    canonical_field,
)
from schemas.binary import NULL
from schemas.columns import ColumnWriter, days_since_epoch
from streams.domain.brazil.calendar import MAX_DUE_YEAR, MIN_DUE_YEAR
from streams.domain.brazil.ddd import DDD_UF
from streams.domain.brazil.documents import (
    CNPJ,
    CNPJ_DIGITS,
    CNPJ_MARKS,
    CNPJ_VALUES,
    CNPJ_WEIGHTS,
    CPF,
    CPF_DIGITS,
    CPF_WEIGHTS,
    DOCUMENT_SEPARATORS,
)
from streams.domain.brazil.phones import LANDLINE_STARTS, OLD_MOBILE_STARTS, PHONE_SEPARATORS

__all__ = ["BlockRecords", "BlockWriter"]

Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_PHONE_WIDTH: Final = 24  # longest phone cell taken here, in bytes
_DOCUMENT_WIDTH: Final = 24
_AMOUNT_WIDTH: Final = 24
_HEX: Final = np.frombuffer(b"0123456789abcdef", np.uint8)
_CPF_FIRST: Final = np.array(CPF_WEIGHTS[1:])
_CPF_SECOND: Final = np.array(CPF_WEIGHTS)
_CNPJ_WEIGHTS: Final = np.array(CNPJ_WEIGHTS)
_CPF_KIND: Final = DOCUMENT_KINDS.index(CPF)  # the DocumentKind enum's index
_CNPJ_KIND: Final = DOCUMENT_KINDS.index(CNPJ)
_DAYS_IN_MONTH: Final = np.array((0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31))


def _table(chars: bytes) -> Mask:
    table = np.zeros(256, np.bool_)
    table[list(chars)] = True
    return table


def _digit_table(digits: Iterable[str]) -> Mask:
    """Which numbers 0-99 are among `digits` (digit strings), for a lookup by number."""
    table = np.zeros(100, np.bool_)
    table[[int(d) for d in digits]] = True
    return table


def _cnpj_values() -> Bytes:
    """What each byte counts in a CNPJ's check digits (`CNPJ_VALUES`), a lower-case letter as
    its capital; 0 for the other bytes, which `_LETTER` and `_DIGIT` keep out."""
    table = np.zeros(256, np.uint8)
    for character, value in CNPJ_VALUES.items():
        table[[ord(character), ord(character.lower())]] = value
    return table


_DIGIT: Final = _table(b"0123456789")
_LETTER: Final = _table(string.ascii_letters.encode())
_CNPJ_VALUE: Final = _cnpj_values()
_PHONE_SEPARATOR: Final = _table(PHONE_SEPARATORS.encode())
_DOCUMENT_SEPARATOR: Final = _table(DOCUMENT_SEPARATORS.encode())
_DDD: Final = _digit_table(DDD_UF)
_OLD_MOBILE: Final = _digit_table(OLD_MOBILE_STARTS)  # by the first digit after the DDD
_LANDLINE: Final = _digit_table(LANDLINE_STARTS)
#: Bytes that may start or end a cell that strip leaves alone: printable ASCII but space.
_SOLID: Final = _table(bytes(range(0x21, 0x7F)))
#: Bytes that make a name something `" ".join(name.split())` might change: ASCII whitespace
#: but the space, and lead bytes of characters other than Latin-1's letters (U+00C0-U+00FF).
_NAME_BREAK: Final = _table(b"\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f" + bytes((0xC2, *range(0xC4, 0x100))))


@dataclass(frozen=True, slots=True)
class BlockRecords:
    """A block's accepted rows, in order, and the lines left to validate one by one."""

    rows: list[int]
    """Row numbers of the rows taken (accepted, unless a duplicate)."""
    client_ids: list[bytes]
    keys: list[bytes]
    values: list[bytes]
    others: list[tuple[int, str]]
    """(row number, text with its line end) of every other line, in order."""
    data: bytes
    bounds: list[int]
    """Where each line of `data` starts, then the end of `data`."""
    first_row: int

    def line(self, i: int) -> str:
        """The text, with its line end, of the `i`-th row taken."""
        n = self.rows[i] - self.first_row
        return self.data[self.bounds[n] : self.bounds[n + 1]].decode()


class BlockWriter:
    """Validates and writes the `LineBlock`s of one import; see the module docstring."""

    def __init__(
        self,
        records: ImportRecords,
        columns: Sequence[str],
        *,
        allow_landlines: bool,
        require_document: bool = False,
    ) -> None:
        self._records = records
        self._width = len(columns)
        at = {canonical_field(c): i for i, c in reversed(list(enumerate(columns)))}
        self._at: dict[str, int | None] = {field: at.get(field) for field in ALL_FIELDS}
        self._read = sorted({i for i in self._at.values() if i is not None})
        self._allow_landlines = allow_landlines
        self._require_document = require_document

    def write(self, block: LineBlock, millis: int) -> BlockRecords:
        """The block's rows this path takes, as records, and its other lines."""
        data, first_row = block.data, block.first_row
        buf = np.frombuffer(data, np.uint8)
        starts, ends = _lines(buf)
        bounds = [*starts.tolist(), len(data)]
        cells = _cells(buf, starts, ends, ord(block.delimiter), self._width, self._read)
        checked = self._check(_View(buf), cells) if cells.ok.any() else None
        taken = checked.taken if checked is not None else cells.ok
        others = _others(data, bounds, first_row, taken)
        index = np.flatnonzero(taken)
        if checked is None or not len(index):
            return BlockRecords([], [], [], [], others, data, bounds, first_row)
        rows = (index + first_row).tolist()
        values = self._values(checked, index, rows, millis)
        client_s, client_e = checked.spans["client_id"]
        spans = zip(client_s[index].tolist(), client_e[index].tolist(), strict=True)
        client_ids = [data[s:e] for s, e in spans]
        prefix = self._records.client_key
        keys = [prefix + client_id for client_id in client_ids]
        return BlockRecords(rows, client_ids, keys, values, others, data, bounds, first_row)

    def _check(self, view: _View, cells: _Cells) -> _Checked:
        """Each field's rule over its column; `taken` is the rows every rule takes."""
        spans = {field: cells.spans[at] for field, at in self._at.items() if at is not None}
        taken = cells.ok & view.text(*spans["client_id"])
        taken &= view.text(*spans["name"]) & view.plain_name(*spans["name"])
        phone = _phones(view, *spans["phone"], allow_landlines=self._allow_landlines)
        amount = _amounts(view, *spans["amount"])
        due = _due_dates(view, *spans["due_date"])
        taken &= phone.ok & amount.ok & due.ok
        document = None
        if "document" in spans:
            s, e = spans["document"]
            document = _documents(view, s, e)
            # An empty cell is no document; a required one goes row by row (missing_field).
            taken &= document.ok if self._require_document else (e == s) | document.ok
        elif self._require_document:  # `check_columns` refuses such a header first
            taken &= False
        for field in OPTIONAL_FIELDS:
            if field in spans:
                s, e = spans[field]
                absent = e == s
                taken &= absent | view.text(s, e)
                if field == "uf":
                    taken &= absent | view.two_letters(s, e)
                elif field == "payment_url":  # checked row by row (`validation._PAYMENT_URL`)
                    taken &= absent
        return _Checked(view, taken, spans, phone, document, amount, due)

    def _values(self, checked: _Checked, index: Ints, rows: list[int], millis: int) -> list[bytes]:
        """The ClientImported values of the rows at `index` (row numbers `rows`)."""
        view, spans = checked.view, checked.spans
        phone, document = checked.phone, checked.document
        writer = ColumnWriter(view.buf, len(index))
        writer.long(np.asarray(rows, np.int64))
        writer.string(*_taken(spans["client_id"], index))
        writer.string(*_taken(spans["name"], index))
        writer.computed_string(phone.text[index], phone.length[index])
        writer.long(checked.amount.centavos[index])
        writer.long(checked.due.days[index])
        if document is None:  # no column: null document, null kind
            writer.constant(NULL + NULL)
        else:
            s, e = _taken(spans["document"], index)
            present = e > s  # an empty cell is null
            writer.computed_string(document.digits[index], document.length[index], present)
            writer.long(document.kind[index], present)
        for field in OPTIONAL_FIELDS:
            if field not in spans:
                writer.constant(NULL)
                continue
            s, e = _taken(spans[field], index)
            present = e > s  # a blank optional cell is null
            if field == "uf":  # two letters, upper-cased
                letters = (view.at(s[:, None] + np.arange(2)) & 0xDF).astype(np.uint8)
                writer.computed_string(letters, e - s, present)
            else:
                writer.string(s, e, present)
        return _with_header(self._records, rows, writer.build(), millis)


def _taken(span: tuple[Ints, Ints], index: Ints) -> tuple[Ints, Ints]:
    """The (starts, ends) of a column's cells in the rows at `index`."""
    return span[0][index], span[1][index]


# --- lines and cells -------------------------------------------------------------------------


def _lines(buf: Bytes) -> tuple[Ints, Ints]:
    """Start and end (without CRLF or LF) of every line of a block."""
    breaks = np.flatnonzero(buf == 0x0A)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [len(buf)]))
    if starts[-1] == len(buf):  # the block ends with a line end
        starts, ends = starts[:-1], ends[:-1]
    crlf = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 0x0D)
    return starts.astype(np.int64), (ends - crlf).astype(np.int64)


@dataclass(frozen=True, slots=True)
class _Cells:
    ok: Mask
    """Lines with exactly the header's cells (others go row by row: blank, fewer, more)."""
    spans: dict[int, tuple[Ints, Ints]]
    """Start and end of each line's cell in the columns the fields read, by column."""


def _cells(
    buf: Bytes, starts: Ints, ends: Ints, delimiter: int, width: int, read: Sequence[int]
) -> _Cells:
    """The cells of the columns `read` only: a matrix of every column took memory in the
    block's lines times the header's width (issue 18), and the fields read at most 16."""
    marks = np.flatnonzero(buf == delimiter)
    first = np.searchsorted(marks, starts)
    ok = np.searchsorted(marks, ends) - first == width - 1
    last = max(len(marks) - 1, 0)

    def mark(k: int) -> Ints:  # the k-th delimiter of each line (clipped: never read if not ok)
        return marks[np.minimum(first + k, last)] if len(marks) else np.zeros_like(first)

    spans: dict[int, tuple[Ints, Ints]] = {}
    for at in read:
        cell_starts = starts if at == 0 else mark(at - 1) + 1
        cell_ends = ends if at == width - 1 else mark(at)
        # never read, but kept inside the block
        spans[at] = (cell_starts, np.where(ok, cell_ends, cell_starts))
    return _Cells(ok & (ends > starts), spans)


def _others(data: bytes, bounds: list[int], first_row: int, taken: Mask) -> list[tuple[int, str]]:
    """(row, text with its line end) of the lines not `taken`."""
    left = np.flatnonzero(~taken).tolist()
    return [(first_row + i, data[bounds[i] : bounds[i + 1]].decode()) for i in left]


class _View:
    """Column reads over a block's bytes."""

    def __init__(self, buf: Bytes) -> None:
        self.buf = buf
        self._size = len(buf)

    def at(self, positions: Ints) -> Bytes:
        return self.buf[np.clip(positions, 0, self._size - 1)]

    def matrix(self, s: Ints, e: Ints, width: int) -> tuple[Bytes, Mask]:
        """Cells as rows of `width` bytes (zeros past a cell's end) and which fit."""
        length = e - s
        inside = np.arange(width) < length[:, None]
        chars = np.where(inside, self.at(s[:, None] + np.arange(width)), 0).astype(np.uint8)
        return chars, length <= width

    def stripped(self, s: Ints, e: Ints) -> Mask:
        """Cells `str.strip` leaves as they are (blank cells too)."""
        first, last = self.at(s), self.at(e - 1)
        latin_end = (last >= 0x80) & (last < 0xC0) & (self.at(e - 2) == 0xC3) & (e - s >= 2)
        kept: Mask = (e == s) | ((_SOLID[first] | (first == 0xC3)) & (_SOLID[last] | latin_end))
        return kept

    def text(self, s: Ints, e: Ints) -> Mask:
        """Non-blank cells `_text` takes as they are: short enough, nothing to strip."""
        return (e > s) & (e - s <= MAX_TEXT_CHARS) & self.stripped(s, e)

    def plain_name(self, s: Ints, e: Ints) -> Mask:
        """Cells with no byte of `_NAME_BREAK` and no two spaces in a row (both are rare: the
        block is scanned once for them, and each found is placed in its cell)."""
        buf = self.buf
        spaces = np.flatnonzero(buf == 0x20)
        doubled = spaces[:-1][np.diff(spaces) == 1]
        breaks = np.concatenate((np.flatnonzero(_NAME_BREAK[buf]), doubled))
        clean = np.ones(len(s), np.bool_)
        if len(breaks):
            order = np.argsort(s, kind="stable")
            cell = np.searchsorted(s[order], breaks, side="right") - 1
            inside = (cell >= 0) & (breaks < e[order][np.maximum(cell, 0)])
            clean[order[cell[inside]]] = False
        return clean

    def two_letters(self, s: Ints, e: Ints) -> Mask:
        a, b = self.at(s) | 0x20, self.at(s + 1) | 0x20
        letters: Mask = (e - s == 2) & (a >= 0x61) & (a <= 0x7A) & (b >= 0x61) & (b <= 0x7A)
        return letters


# --- fields ----------------------------------------------------------------------------------


def _digits(chars: Bytes, separators: Mask, fits: Mask) -> tuple[Bytes, Ints, Mask]:
    """The digits of each row of `chars` packed to the left (as numbers), how many, and whether
    the row held only digits and `separators`."""
    is_digit = _DIGIT[chars]
    filled = chars != 0
    ok = fits & ~(filled & ~is_digit & ~separators[chars]).any(axis=1)
    count = is_digit.sum(axis=1)
    packed = np.zeros_like(chars)
    rows, cols = np.nonzero(is_digit)
    packed[rows, (np.cumsum(is_digit, axis=1) - 1)[rows, cols]] = chars[rows, cols] - 0x30
    return packed, count.astype(np.int64), ok


def _take(matrix: Bytes, offset: Ints, width: int) -> Bytes:
    """`width` columns of each row of `matrix`, from that row's `offset`."""
    columns = np.minimum(offset[:, None] + np.arange(width), matrix.shape[1] - 1)
    return np.take_along_axis(matrix, columns, axis=1)


@dataclass(frozen=True, slots=True)
class _Phones:
    ok: Mask
    text: Bytes  # "+55" and the national digits, as ASCII
    length: Ints


def _phones(view: _View, s: Ints, e: Ints, *, allow_landlines: bool) -> _Phones:
    chars, fits = view.matrix(s, e, _PHONE_WIDTH)
    digits, count, ok = _digits(chars, _PHONE_SEPARATOR, fits)
    international = (digits[:, 0] == 0) & (digits[:, 1] == 0)  # 00 55 ...: row by row
    ok &= view.stripped(s, e) & (e > s) & ~international
    trunk = (digits[:, 0] == 0).astype(np.int64)  # 011 98765 4321
    rest = count - trunk
    d0, d1 = _take(digits, trunk, 2).T
    country = ((rest == 12) | (rest == 13)) & (d0 == 5) & (d1 == 5)
    offset = trunk + 2 * country
    national = count - offset
    number = _take(digits, offset, 11)
    ddd = number[:, 0].astype(np.int64) * 10 + number[:, 1]
    first = number[:, 2]
    mobile = (national == 11) & (first == 9)
    old_mobile = (national == 10) & _OLD_MOBILE[first]
    landline = (national == 10) & _LANDLINE[first] & allow_landlines
    ok &= _DDD[ddd] & (mobile | old_mobile | landline)
    text = np.zeros((len(s), 14), np.uint8)
    text[:, :3] = np.frombuffer(b"+55", np.uint8)
    text[:, 3:14] = number + 0x30
    old = np.flatnonzero(old_mobile)  # the 9th digit goes after the DDD
    text[old, 5] = ord("9")
    text[old, 6:14] = number[old, 2:10] + 0x30
    length = np.where(landline, 13, 14).astype(np.int64)
    return _Phones(ok, text, length)


@dataclass(frozen=True, slots=True)
class _Documents:
    ok: Mask
    digits: Bytes  # ASCII
    length: Ints
    kind: Ints  # the DocumentKind enum's index


def _documents(view: _View, s: Ints, e: Ints) -> _Documents:
    chars, fits = view.matrix(s, e, _DOCUMENT_WIDTH)
    digits, count, ok = _digits(chars, _DOCUMENT_SEPARATOR, fits)
    # A letter is rare and in a cell `_digits` refused: only those cells are read again.
    refused = np.flatnonzero(~ok)
    lettered = refused[_LETTER[chars[refused]].any(axis=1)]
    if len(lettered):
        taken = _alphanumeric(chars[lettered], fits[lettered])
        digits[lettered], count[lettered], ok[lettered] = taken
    ok &= view.stripped(s, e) & (e > s)
    cpf, cnpj = count == CPF_DIGITS, count == CNPJ_DIGITS
    numbers = digits[:, :14].astype(np.int64)
    first = numbers[:, :9] @ _CPF_FIRST * 10 % 11 % 10
    second = numbers[:, :10] @ _CPF_SECOND * 10 % 11 % 10
    cpf_ok = (first == numbers[:, 9]) & (second == numbers[:, 10])
    remainder = numbers[:, :12] @ _CNPJ_WEIGHTS[1:] % 11
    check1 = np.where(remainder < 2, 0, 11 - remainder)
    remainder = numbers[:, :13] @ _CNPJ_WEIGHTS % 11
    check2 = np.where(remainder < 2, 0, 11 - remainder)
    cnpj_ok = (check1 == numbers[:, 12]) & (check2 == numbers[:, 13])
    length = np.where(cnpj, CNPJ_DIGITS, CPF_DIGITS).astype(np.int64)
    columns = np.arange(14)
    same = ((numbers == numbers[:, :1]) | (columns >= length[:, None])).all(axis=1)
    ok &= ((cpf & cpf_ok) | (cnpj & cnpj_ok)) & ~same
    kind = np.where(cnpj, _CNPJ_KIND, _CPF_KIND).astype(np.int64)
    return _Documents(ok, (digits[:, :14] + 0x30).astype(np.uint8), length, kind)


def _alphanumeric(chars: Bytes, fits: Mask) -> tuple[Bytes, Ints, Mask]:
    """`_digits` for document cells with a letter, which only an alphanumeric CNPJ has: its
    characters packed to the left as their values (`CNPJ_VALUES`, so ASCII upper case once
    0x30 is added back), how many, and whether the cell is spelled as `normalize_document`
    takes one: letters and digits with `CNPJ_MARKS` at their places or left out, 14 of them,
    the last 2 digits."""
    kept = _DIGIT[chars] | _LETTER[chars]
    before: Ints = np.cumsum(kept, axis=1) - kept  # characters before each byte
    placed = np.zeros_like(kept)
    for at, mark in CNPJ_MARKS.items():
        placed |= (chars == ord(mark)) & (before == at)
    count = kept.sum(axis=1).astype(np.int64)
    ok = fits & (count == CNPJ_DIGITS) & ~((chars != 0) & ~kept & ~placed).any(axis=1)
    ok &= ~(placed[:, 1:] & placed[:, :-1]).any(axis=1)  # one mark at a place, not two
    packed = np.zeros_like(chars)
    rows, cols = np.nonzero(kept)
    packed[rows, before[rows, cols]] = _CNPJ_VALUE[chars[rows, cols]]
    ok &= (packed[:, 12] <= 9) & (packed[:, 13] <= 9)  # the check digits are digits
    return packed, count, ok


@dataclass(frozen=True, slots=True)
class _Amounts:
    ok: Mask
    centavos: Ints


def _amounts(view: _View, s: Ints, e: Ints) -> _Amounts:
    first, second, third = view.at(s), view.at(s + 1), view.at(s + 2)
    currency = ((first | 0x20) == ord("r")) & (second == ord("$")) & (e - s > 2)
    skip = np.where(currency, np.where(third == 0x20, 3, 2), 0)
    chars, fits = view.matrix(s + skip, e, _AMOUNT_WIDTH)
    size = e - s - skip
    columns = np.arange(_AMOUNT_WIDTH)
    inside = columns < size[:, None]
    is_digit = _DIGIT[chars] & inside
    comma, dot = (chars == ord(",")) & inside, (chars == ord(".")) & inside
    ok = fits & (size > 0) & ~(inside & ~is_digit & ~comma & ~dot).any(axis=1)
    commas, dots = comma.sum(axis=1), dot.sum(axis=1)
    # The decimal mark, if any: the only comma, or the only dot when there is no comma,
    # followed by one or two digits.
    mark = np.where(commas == 1, np.argmax(comma, axis=1), np.argmax(dot, axis=1))
    decimals = size - mark - 1
    decimal_comma = (commas == 1) & (decimals >= 1) & (decimals <= 2)
    decimal_dot = (commas == 0) & (dots == 1) & (decimals >= 1) & (decimals <= 2)
    reais_end = np.where(decimal_comma | decimal_dot, mark, size)
    in_reais = columns < reais_end[:, None]
    # Thousands dots: exactly every fourth character from the reais' end, 1-3 digits first.
    group_dots = ((reais_end[:, None] - columns) % 4 == 0) & in_reais & (columns > 0)
    grouped = ((dot & in_reais) == group_dots).all(axis=1) & (reais_end % 4 != 0)
    ok &= (reais_end >= 1) & (
        ((commas == 0) & (dots == 0))  # 150
        | (decimal_comma & (dots == 0))  # 1234,56
        | (decimal_comma & (dots >= 1) & grouped)  # 1.234,56
        | ((commas == 0) & (dots >= 2) & grouped)  # 1.234.567
        | decimal_dot  # 1234.56
    )
    counted = is_digit & in_reais
    ok &= counted.sum(axis=1) <= 15
    digits = chars.astype(np.int64) - 0x30
    reais = np.zeros(len(s), np.int64)
    for column in range(_AMOUNT_WIDTH):
        take = counted[:, column]
        reais = np.where(take, reais * 10 + digits[:, column], reais)
    tenths = _take(chars, mark + 1, 1)[:, 0].astype(np.int64) - 0x30
    hundredths = _take(chars, mark + 2, 1)[:, 0].astype(np.int64) - 0x30
    cents = np.where(decimal_comma | decimal_dot, tenths * 10, 0)
    cents += np.where((decimal_comma | decimal_dot) & (decimals == 2), hundredths, 0)
    centavos = reais * 100 + cents
    ok &= centavos > 0
    return _Amounts(ok, centavos)


@dataclass(frozen=True, slots=True)
class _Dates:
    ok: Mask
    days: Ints  # since 1970-01-01


def _due_dates(view: _View, s: Ints, e: Ints) -> _Dates:
    chars, fits = view.matrix(s, e, 10)
    number = chars.astype(np.int64) - 0x30
    is_digit = _DIGIT[chars]
    ten = (e - s) == 10
    brazilian = ten & (chars[:, 2] == ord("/")) & (chars[:, 5] == ord("/"))
    brazilian &= is_digit[:, [0, 1, 3, 4, 6, 7, 8, 9]].all(axis=1)
    iso = ten & (chars[:, 4] == ord("-")) & (chars[:, 7] == ord("-"))
    iso &= is_digit[:, [0, 1, 2, 3, 5, 6, 8, 9]].all(axis=1)
    br_day, br_month = number[:, 0] * 10 + number[:, 1], number[:, 3] * 10 + number[:, 4]
    br_year = number[:, 6:10] @ np.array((1000, 100, 10, 1))
    iso_year = number[:, 0:4] @ np.array((1000, 100, 10, 1))
    iso_month, iso_day = number[:, 5] * 10 + number[:, 6], number[:, 8] * 10 + number[:, 9]
    day = np.where(brazilian, br_day, iso_day)
    month = np.where(brazilian, br_month, iso_month)
    year = np.where(brazilian, br_year, iso_year)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_ok = (month >= 1) & (month <= 12)
    last_day = _DAYS_IN_MONTH[np.clip(month, 0, 12)] + (leap & (month == 2))
    ok = fits & (brazilian | iso) & month_ok & (day >= 1) & (day <= last_day)
    ok &= (year >= MIN_DUE_YEAR) & (year <= MAX_DUE_YEAR)
    return _Dates(ok, days_since_epoch(year, np.clip(month, 1, 12), day))


@dataclass(frozen=True, slots=True)
class _Checked:
    """A block's columns after the rules: the rows taken and what the writer needs."""

    view: _View
    taken: Mask
    spans: dict[str, tuple[Ints, Ints]]
    """(starts, ends) of the cells of each field the header has."""
    phone: _Phones
    document: _Documents | None
    """None when the header has no document column."""
    amount: _Amounts
    due: _Dates


# --- writing ---------------------------------------------------------------------------------


def _event_ids(records: ImportRecords, rows: list[int]) -> Bytes:
    """The UUID5 text of each row's event id (`records.event_id`), as rows of 36 bytes."""
    base = records.id_hash
    digests = bytearray()
    for row in rows:
        digest = base.copy()
        digest.update(b"%d" % row)
        digests += digest.digest()
    raw = np.frombuffer(bytes(digests), np.uint8).reshape(-1, 20)[:, :16]
    hexes = np.empty((len(rows), 32), np.uint8)
    hexes[:, 0::2], hexes[:, 1::2] = _HEX[raw >> 4], _HEX[raw & 0x0F]
    hexes[:, 12] = ord("5")  # the version
    hexes[:, 16] = _HEX[(raw[:, 8] >> 4) & 0x3 | 0x8]  # the RFC 4122 variant
    text = np.full((len(rows), 36), ord("-"), np.uint8)
    text[:, 0:8], text[:, 9:13], text[:, 14:18] = hexes[:, 0:8], hexes[:, 8:12], hexes[:, 12:16]
    text[:, 19:23], text[:, 24:36] = hexes[:, 16:20], hexes[:, 20:32]
    return text


def _with_header(
    records: ImportRecords, rows: list[int], rests: list[bytes], millis: int
) -> list[bytes]:
    """Each row's value: the header (the same bytes for every row but its event id) joined to
    the rest, from the row number on, which was gathered at once."""
    head, middle = records.accepted_header(millis)
    ids = _event_ids(records, rows).tobytes()
    return [
        b"".join((head, ids[offset : offset + 36], middle, rest))
        for offset, rest in zip(range(0, len(ids), 36), rests, strict=True)
    ]
