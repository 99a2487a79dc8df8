"""A fast Avro binary writer for the common case: a datum that matches its schema exactly.

fastavro's `schemaless_writer` resolves every union by validating the datum against each
branch, and `schemas.codec.encode` validates the whole datum once more before writing, so an
import row cost ~70 µs in Avro alone. This module compiles a parsed schema once into nested
closures that check each value's exact Python type and append its encoding to a bytearray, in
one pass. It accepts only what is unambiguous (``str`` for string, ``int`` but not ``bool`` for
long, an aware ``datetime`` for timestamp-millis, ``None`` or the one other branch of a
``["null", T]`` union, every field of a record present and nothing else). Faust records and
their representations are written as they are (no conversion to plain dicts first), a
``StrEnum`` member as its symbol. Anything else raises
`Fallback`, and the codec then takes the slow path (fastavro's validation and writer), which
either writes the same value or names what is wrong exactly as before. So the bytes are always
fastavro's bytes (a property test checks it for every schema) and errors are unchanged. The
encoding of each value is `schemas.binary`'s; what this module adds is the exact-type checks
and the walk over a schema.

A schema with a construct this module does not compile (unions of several non-null types,
fixed, decimals, ...) gets no fast writer: `compile_writer` returns None.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Callable, Mapping
from typing import Any, Final

from schemas.binary import epoch_days, epoch_millis, write_long

__all__ = ["Fallback", "Writer", "compile_writer"]

Writer = Callable[[bytearray, Any], None]
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_DOUBLE: Final = struct.Struct("<d")
_FLOAT: Final = struct.Struct("<f")
_FAUST_NAMESPACE: Final = "__faust"
_FAUST_STATE: Final = "__evaluated_fields__"


class Fallback(Exception):
    """Internal: the datum is not the plain, exact case; use fastavro's path."""


class _Unsupported(Exception):
    """Internal: the schema has a construct this module does not compile."""


def _write_long(out: bytearray, v: Any) -> None:
    if type(v) is not int or not _LONG_MIN <= v <= _LONG_MAX:
        raise Fallback
    write_long(out, v)


def _write_int(out: bytearray, v: Any) -> None:
    if type(v) is not int or not _INT_MIN <= v <= _INT_MAX:
        raise Fallback
    write_long(out, v)


def _write_string(out: bytearray, v: Any) -> None:
    if type(v) is not str:
        raise Fallback
    try:
        data = v.encode("utf-8")
    except UnicodeEncodeError:
        raise Fallback from None
    write_long(out, len(data))
    out += data


def _write_bytes(out: bytearray, v: Any) -> None:
    if type(v) is not bytes:
        raise Fallback
    write_long(out, len(v))
    out += v


def _write_boolean(out: bytearray, v: Any) -> None:
    if type(v) is not bool:
        raise Fallback
    out.append(1 if v else 0)


def _write_double(out: bytearray, v: Any) -> None:
    if type(v) is not float:
        raise Fallback
    out += _DOUBLE.pack(v)


def _write_float(out: bytearray, v: Any) -> None:
    if type(v) is not float:
        raise Fallback
    try:
        out += _FLOAT.pack(v)
    except (OverflowError, struct.error):
        raise Fallback from None  # beyond float32: fastavro's answer, whatever it is


def _write_null(out: bytearray, v: Any) -> None:
    if v is not None:
        raise Fallback


def _write_timestamp_millis(out: bytearray, v: Any) -> None:
    if type(v) is not dt.datetime or v.tzinfo is None:
        raise Fallback
    millis = epoch_millis(v)
    if not _LONG_MIN <= millis <= _LONG_MAX:
        raise Fallback
    write_long(out, millis)


def _write_date(out: bytearray, v: Any) -> None:
    if type(v) is not dt.date:
        raise Fallback
    write_long(out, epoch_days(v))


_PRIMITIVES: Final[dict[str, Writer]] = {
    "long": _write_long,
    "int": _write_int,
    "string": _write_string,
    "bytes": _write_bytes,
    "boolean": _write_boolean,
    "double": _write_double,
    "float": _write_float,
    "null": _write_null,
}
_LOGICAL: Final[dict[tuple[str, str], Writer]] = {
    ("long", "timestamp-millis"): _write_timestamp_millis,
    ("int", "date"): _write_date,
}


def compile_writer(parsed: Mapping[str, Any]) -> Writer | None:
    """A writer for fastavro's parsed form of a record schema, or None if it cannot be fast."""
    named: dict[str, Any] = dict(parsed.get("__named_schemas", {}))
    try:
        return _compile(parsed, named, {})
    except _Unsupported:
        return None


def _compile(schema: Any, named: dict[str, Any], done: dict[str, Writer]) -> Writer:
    if isinstance(schema, str):
        if schema in _PRIMITIVES:
            return _PRIMITIVES[schema]
        if schema in done:
            return done[schema]
        if schema in named:
            return _compile(named[schema], named, done)
        raise _Unsupported(schema)
    if isinstance(schema, list):
        return _union(schema, named, done)
    if not isinstance(schema, Mapping):
        raise _Unsupported(repr(schema))
    kind = schema.get("type")
    logical = schema.get("logicalType")
    if logical is not None:
        writer = _LOGICAL.get((str(kind), str(logical)))
        if writer is None:
            raise _Unsupported(f"{kind}/{logical}")
        return writer
    if kind == "record":
        return _record(schema, named, done)
    if kind == "enum":
        return _enum(schema)
    if kind == "array":
        return _array(_compile(schema["items"], named, done))
    if kind == "map":
        return _map(_compile(schema["values"], named, done))
    if isinstance(kind, str) and kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    raise _Unsupported(str(kind))


def _record(schema: Mapping[str, Any], named: dict[str, Any], done: dict[str, Writer]) -> Writer:
    fields: list[tuple[str, Writer]] = []
    count = len(schema["fields"])

    def write(out: bytearray, v: Any) -> None:
        if type(v) is not dict:
            # A Faust record (schemas/events.py mirrors each schema field for field) keeps its
            # values in its __dict__, next to Faust's own bookkeeping key.
            if not hasattr(type(v), "_options"):
                raise Fallback
            v = v.__dict__
            extra = _FAUST_STATE in v
        else:
            extra = _FAUST_NAMESPACE in v  # a record's representation names its class
        if len(v) != count + extra:
            raise Fallback  # a missing field (maybe defaulted) or an extra one: fastavro decides
        try:
            for name, field_writer in fields:
                field_writer(out, v[name])
        except KeyError:
            raise Fallback from None

    done[schema["name"]] = write  # before the fields: a record may refer to itself
    fields.extend((f["name"], _compile(f["type"], named, done)) for f in schema["fields"])
    return write


def _enum(schema: Mapping[str, Any]) -> Writer:
    index = {symbol: i for i, symbol in enumerate(schema["symbols"])}

    def write(out: bytearray, v: Any) -> None:
        if not isinstance(v, str) or v not in index:  # a symbol, or a StrEnum member
            raise Fallback
        write_long(out, index[v])

    return write


def _union(branches: list[Any], named: dict[str, Any], done: dict[str, Writer]) -> Writer:
    if len(branches) != 2 or "null" not in branches:
        raise _Unsupported("a union other than [null, T]")
    null_at = branches.index("null")
    other = _compile(branches[1 - null_at], named, done)
    other_at = 1 - null_at

    def write(out: bytearray, v: Any) -> None:
        if v is None:
            write_long(out, null_at)
        else:
            write_long(out, other_at)
            other(out, v)

    return write


def _array(items: Writer) -> Writer:
    def write(out: bytearray, v: Any) -> None:
        if type(v) is not list:
            raise Fallback
        if v:
            write_long(out, len(v))
            for item in v:
                items(out, item)
        out.append(0)

    return write


def _map(values: Writer) -> Writer:
    def write(out: bytearray, v: Any) -> None:
        if type(v) is not dict:
            raise Fallback
        if v:
            write_long(out, len(v))
            for key, value in v.items():
                _write_string(out, key)
                values(out, value)
        out.append(0)

    return write
