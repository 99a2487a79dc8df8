"""`schemas.columns` writes, column by column, the bytes fastavro writes row by row.

Rows of a record with every kind of field the column writer takes (longs of any size, strings
sliced from a source, computed strings, optional strings of both kinds, a constant, dates) are
written at once and compared, row by row, with `fastavro.schemaless_writer`.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.binary import NULL, epoch_days
from schemas.columns import ColumnWriter, days_since_epoch

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
SCHEMA = fastavro.parse_schema(
    {
        "type": "record",
        "name": "Row",
        "fields": [
            {"name": "n", "type": "long"},
            {"name": "text", "type": "string"},
            {"name": "computed", "type": "string"},
            {"name": "maybe", "type": ["null", "string"]},
            {"name": "maybe_computed", "type": ["null", "string"]},
            {"name": "nothing", "type": ["null", "string"]},
            {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        ],
    }
)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
rows = st.tuples(
    st.integers(LONG_MIN, LONG_MAX),
    texts,
    st.text("0123456789+é", max_size=8),
    st.none() | texts.filter(bool),
    st.none() | st.text("ABCÇ", min_size=1, max_size=3),
    st.dates(),
)


def fastavro_bytes(datum: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, SCHEMA, datum)
    return out.getvalue()


def slices(values: list[bytes], source: bytearray) -> tuple[np.ndarray, np.ndarray]:
    """Append `values` to `source`, and their (starts, ends) there."""
    starts, ends = [], []
    for value in values:
        starts.append(len(source))
        source += value
        ends.append(len(source))
    return np.array(starts, np.int64), np.array(ends, np.int64)


def matrix(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """`values` as rows of a zero-padded byte matrix, and their lengths."""
    width = max(1, *(len(v) for v in values))
    out = np.zeros((len(values), width), np.uint8)
    for i, value in enumerate(values):
        out[i, : len(value)] = np.frombuffer(value, np.uint8)
    return out, np.array([len(v) for v in values], np.int64)


@settings(max_examples=200, deadline=None)
@given(st.lists(rows, min_size=1, max_size=30))
def test_every_row_is_fastavros(data: list[tuple[Any, ...]]) -> None:
    ns, text, computed, maybe, maybe_computed, days = zip(*data, strict=True)
    source = bytearray(b"unrelated bytes first")
    text_at = slices([t.encode() for t in text], source)
    maybe_at = slices([(m or "").encode() for m in maybe], source)
    writer = ColumnWriter(np.frombuffer(bytes(source), np.uint8), len(data))
    writer.long(np.array(ns, np.int64))
    writer.string(*text_at)
    writer.computed_string(*matrix([c.encode() for c in computed]))
    writer.string(*maybe_at, np.array([m is not None for m in maybe]))
    writer.computed_string(
        *matrix([(m or "").encode() for m in maybe_computed]),
        np.array([m is not None for m in maybe_computed]),
    )
    writer.constant(NULL)
    writer.long(np.array([epoch_days(day) for day in days], np.int64))
    written = writer.build()
    assert written == [
        fastavro_bytes(
            {
                "n": n,
                "text": t,
                "computed": c,
                "maybe": m,
                "maybe_computed": mc,
                "nothing": None,
                "day": day,
            }
        )
        for n, t, c, m, mc, day in data
    ]


@given(st.lists(st.integers(LONG_MIN, LONG_MAX), min_size=1))
@example([LONG_MIN, LONG_MAX, 0, -1, 63, -64, 64, -65, 2**31, -(2**31) - 1])
def test_column_varints_are_fastavros_longs(values: list[int]) -> None:
    writer = ColumnWriter(np.zeros(0, np.uint8), len(values))
    writer.long(np.array(values, np.int64))
    expected = []
    for n in values:
        out = io.BytesIO()
        fastavro.schemaless_writer(out, "long", n)
        expected.append(out.getvalue())
    assert writer.build() == expected


@given(st.lists(st.dates(), min_size=1))
def test_days_since_epoch_are_avros_dates(days: list[dt.date]) -> None:
    year, month, day = (
        np.array(part, np.int64) for part in zip(*(d.timetuple()[:3] for d in days), strict=True)
    )
    assert days_since_epoch(year, month, day).tolist() == [epoch_days(d) for d in days]
