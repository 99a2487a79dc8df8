"""Avro values of many rows at once, written column by column with numpy.

The importer checks a block of a few thousand CSV rows as numpy columns
(`connectors.imports.columnar`) and would lose most of that speed if it then wrote each
accepted row's Avro value in Python. `ColumnWriter` takes the row's fields one after the other,
each as a column (numbers, slices of the block's bytes, rows of computed bytes), and gathers
every row's value in one indexing of one pool of bytes. The encoding is `schemas.binary`'s,
column-wise: zig-zag varints, length-prefixed strings, ``["null", T]`` branches;
tests/unit/schemas/test_columns.py checks it byte for byte against fastavro.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["ColumnWriter", "days_since_epoch"]

Bytes = npt.NDArray[np.uint8]
Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

_VARINT_WIDTH: Final = 10  # bytes of the longest zig-zag varint of a 64-bit value


def _varints(values: Ints) -> tuple[Bytes, Ints]:
    """Zig-zag varints of `values`: rows of `_VARINT_WIDTH` bytes and each one's length."""
    zigzag = ((values << 1) ^ (values >> 63)).astype(np.uint64)
    out = np.zeros((len(values), _VARINT_WIDTH), np.uint8)
    length = np.ones(len(values), np.int64)
    for column in range(_VARINT_WIDTH):
        more = zigzag > 0x7F
        out[:, column] = (zigzag & 0x7F) | (more.astype(np.uint64) << 7)
        zigzag = zigzag >> np.uint64(7)
        length += more
        if not more.any():
            break
    return out, length


def days_since_epoch(year: Ints, month: Ints, day: Ints) -> Ints:
    """Proleptic Gregorian dates as an Avro ``date`` holds them, days since 1970-01-01 (the usual
    era arithmetic: `schemas.binary.epoch_days` for a column of dates)."""
    year = year - (month <= 2)
    era = np.floor_divide(year, 400)
    year_of_era = year - era * 400
    day_of_year = (153 * (month + np.where(month > 2, -3, 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days: Ints = (era * 146097 + day_of_era - 719468).astype(np.int64)
    return days


class ColumnWriter:
    """The Avro values of `rows` rows, one field at a time, in the schema's field order.

    Every method takes one column: an array with one entry (or one row of bytes) per row
    written. Strings are either slices of `source` (the block's bytes, copied once at the
    end) or the leading bytes of each row of a computed matrix. `build` returns each row's
    value: the fields' bytes joined, in the order they were added.
    """

    def __init__(self, source: Bytes, rows: int) -> None:
        self._rows = rows
        self._pool: list[Bytes] = [source]
        self._pooled = len(source)
        self._sources: list[Ints] = []
        self._lengths: list[Ints] = []

    def _add(self, data: Bytes) -> int:
        at = self._pooled
        self._pool.append(data.ravel())
        self._pooled += data.size
        return at

    def _piece(self, source: Ints | int, length: Ints | int) -> None:
        self._sources.append(np.broadcast_to(np.asarray(source, np.int64), (self._rows,)))
        self._lengths.append(np.broadcast_to(np.asarray(length, np.int64), (self._rows,)))

    def _rows_of(self, data: Bytes, length: Ints | int) -> None:
        at = self._add(np.ascontiguousarray(data))
        self._piece(at + np.arange(self._rows) * data.shape[1], length)

    def _length(self, length: Ints, present: Mask | None) -> Ints:
        """A string's length prefix; with `present`, a ``["null", "string"]`` union's branch
        first (0, or 1 zig-zagged to 2) and no length where null. The lengths to copy."""
        if present is None:
            self.long(length)
            return length
        self._rows_of(np.where(present, 2, 0).astype(np.uint8)[:, None], 1)
        length = np.where(present, length, 0)
        out, prefix = _varints(length)
        self._rows_of(out, np.where(present, prefix, 0))
        return length

    def constant(self, data: bytes) -> None:
        """Bytes already encoded that every row has (`schemas.binary.NULL`, an enum's index)."""
        if data:
            self._piece(self._add(np.frombuffer(data, np.uint8)), len(data))

    def long(self, values: Ints, present: Mask | None = None) -> None:
        """An int, long, date (`days_since_epoch`) or enum index per row: a zig-zag varint;
        with `present`, a ``["null", T]`` union of such a type, null where `present` is False
        (`values` ignored there)."""
        if present is not None:
            self._rows_of(np.where(present, 2, 0).astype(np.uint8)[:, None], 1)
        out, length = _varints(values)
        self._rows_of(out, length if present is None else np.where(present, length, 0))

    def string(self, starts: Ints, ends: Ints, present: Mask | None = None) -> None:
        """The UTF-8 text ``source[starts:ends]`` of each row; with `present`, a
        ``["null", "string"]`` that is null where `present` is False (`ends` ignored there)."""
        self._piece(starts, self._length(ends - starts, present))

    def computed_string(self, data: Bytes, length: Ints, present: Mask | None = None) -> None:
        """The first `length` bytes (UTF-8) of each row of `data`; `present` as in `string`."""
        self._rows_of(data, self._length(length, present))

    def build(self) -> list[bytes]:
        """Each row's value, in row order."""
        sources = np.stack(self._sources, axis=1).ravel()
        lengths = np.stack(self._lengths, axis=1).ravel()
        ends = np.cumsum(lengths)
        total = int(ends[-1])
        positions = np.repeat(sources - (ends - lengths), lengths) + np.arange(total)
        pool = np.concatenate(self._pool)
        data = pool[positions].tobytes()
        row_ends = ends[len(self._sources) - 1 :: len(self._sources)].tolist()
        row_starts = [0, *row_ends[:-1]]
        return [data[a:b] for a, b in zip(row_starts, row_ends, strict=True)]
