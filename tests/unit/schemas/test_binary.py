"""`schemas.binary` writes fastavro's bytes: every primitive against `fastavro.schemaless_writer`.

The importer's records and the compiled writers are only as right as these primitives, so each
is compared with fastavro over generated values, the edges included: 64-bit extremes, negative
numbers, strings beyond ASCII (and beyond the 4,096 lengths written from a table), unions,
enums and the logical types.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
from hypothesis import example, given
from hypothesis import strategies as st

from schemas.binary import (
    NULL,
    date_bytes,
    enum_bytes,
    epoch_days,
    epoch_millis,
    long_bytes,
    optional_string_bytes,
    string_bytes,
    wire_prefix,
    write_long,
)

LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
longs = st.integers(LONG_MIN, LONG_MAX)
texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=300) | st.text(
    "aé€😀", min_size=4000, max_size=4200
)


def fastavro_bytes(schema: Any, datum: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), datum)
    return out.getvalue()


@given(longs)
@example(LONG_MIN)
@example(LONG_MAX)
@example(0)
@example(-1)
@example(-64)
@example(64)
@example(4095)
@example(4096)
def test_longs_are_fastavros(n: int) -> None:
    expected = fastavro_bytes("long", n)
    out = bytearray()
    write_long(out, n)
    assert bytes(out) == long_bytes(n) == expected


@given(st.integers(-(2**31), 2**31 - 1))
def test_ints_are_written_as_longs(n: int) -> None:
    assert long_bytes(n) == fastavro_bytes("int", n)


@given(texts)
def test_strings_are_fastavros(text: str) -> None:
    assert string_bytes(text) == fastavro_bytes("string", text)


@given(st.none() | texts)
def test_optional_strings_are_fastavros_unions(text: str | None) -> None:
    assert optional_string_bytes(text) == fastavro_bytes(["null", "string"], text)
    if text is None:
        assert optional_string_bytes(text) == NULL


@given(st.lists(st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True), min_size=1, unique=True))
def test_enum_symbols_are_fastavros(symbols: list[str]) -> None:
    schema = {"type": "enum", "name": "E", "symbols": symbols}
    assert enum_bytes(symbols) == {s: fastavro_bytes(schema, s) for s in symbols}


@given(st.dates())
def test_dates_are_fastavros(day: dt.date) -> None:
    assert date_bytes(day) == fastavro_bytes({"type": "int", "logicalType": "date"}, day)
    assert long_bytes(epoch_days(day)) == date_bytes(day)


@given(st.datetimes(timezones=st.just(dt.UTC)))
@example(dt.datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC))
def test_timestamp_millis_are_fastavros(moment: dt.datetime) -> None:
    schema = {"type": "long", "logicalType": "timestamp-millis"}
    assert long_bytes(epoch_millis(moment)) == fastavro_bytes(schema, moment)


@given(st.integers(0, 2**31 - 1))
def test_the_wire_prefix_is_magic_zero_and_the_id_big_endian(schema_id: int) -> None:
    assert wire_prefix(schema_id) == b"\x00" + schema_id.to_bytes(4, "big")
