"""Hypothesis strategies for valid datums of any Avro schema, as fastavro writes and reads them.

`avro_datums(schema)` accepts a schema as JSON (`.avsc` content, self-contained) or as
`fastavro.parse_schema` returns it, and generates Python values that fastavro writes without
complaint and reads back equal:

    null -> None             boolean -> bool             string -> str (no surrogates)
    int -> int (32-bit)      long -> int (64-bit)        bytes -> bytes, fixed -> bytes of its size
    float -> finite float32  double -> finite float      enum -> one of its symbols
    array -> list            map -> dict[str, ...]       record -> dict with every field
    int date -> date                 long timestamp-millis -> aware UTC datetime, whole ms
    long timestamp-micros -> aware UTC datetime      long local-timestamp-millis/-micros -> naive
    int time-millis -> time, whole ms                long time-micros -> time
    string uuid -> uuid.UUID         bytes/fixed decimal -> Decimal within precision and scale

A logicalType fastavro does not know falls back to its underlying type, as the specification says.
Records always carry every field (defaults are not relied on), so a datum is exactly what a reader
of the same schema returns. Named types may be recursive: they are built lazily.

`event_datums(registered)` narrows that to a cobranca event of one pinned version (its header
names the event type and version), and `wire_bytes` writes a datum the way a producer holding
that version does.

Limit: a union whose branches overlap for fastavro (two records with the same fields, `float`
and `double`, `int` and `long`) is valid data but may be written with another branch than the
one generated, which changes the value read back; the cobranca schemas have no such union.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import fastavro
from hypothesis import strategies as st

from schemas.registry import RegisteredSchema

__all__ = ["avro_datums", "event_datums", "wire_bytes"]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1

#: Sizes stay small: the point is to cover shapes and edge values, not volume.
MAX_TEXT = 24
MAX_ITEMS = 4

_PRIMITIVES: Mapping[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(INT_MIN, INT_MAX),
    "long": st.integers(LONG_MIN, LONG_MAX),
    "float": st.floats(width=32, allow_nan=False, allow_infinity=False),
    "double": st.floats(allow_nan=False, allow_infinity=False),
    "bytes": st.binary(max_size=MAX_TEXT),
    "string": st.text(max_size=MAX_TEXT),
}


def _whole_millis(value: Any) -> Any:
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


_UTC_DATETIMES = st.datetimes(timezones=st.just(dt.UTC))

#: (underlying type, logicalType) -> strategy; decimal is built per schema.
_LOGICAL: Mapping[tuple[str, str], st.SearchStrategy[Any]] = {
    ("int", "date"): st.dates(),
    ("long", "timestamp-millis"): _UTC_DATETIMES.map(_whole_millis),
    ("long", "timestamp-micros"): _UTC_DATETIMES,
    ("long", "local-timestamp-millis"): st.datetimes().map(_whole_millis),
    ("long", "local-timestamp-micros"): st.datetimes(),
    ("int", "time-millis"): st.times().map(_whole_millis),
    ("long", "time-micros"): st.times(),
    ("string", "uuid"): st.uuids(),
}


def avro_datums(schema: Any) -> st.SearchStrategy[Any]:
    """Valid datums of `schema` (JSON or fastavro-parsed)."""
    return _Builder().build(schema, namespace="")


def event_datums(registered: RegisteredSchema) -> st.SearchStrategy[dict[str, Any]]:
    """Valid events of one pinned version: any datum whose header names that event and version."""

    def as_event(datum: dict[str, Any]) -> dict[str, Any]:
        header = {
            **datum["header"],
            "event_type": registered.subject.rpartition(".")[2],
            "schema_version": registered.version,
        }
        return {**datum, "header": header}

    return avro_datums(registered.schema).map(as_event)


def wire_bytes(schema_id: int, parsed_schema: Any, datum: Any) -> bytes:
    """The Confluent wire format of `datum`, written with `parsed_schema` under `schema_id`."""
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(out, parsed_schema, datum)
    return out.getvalue()


class _Builder:
    """Builds one schema's strategy; named types are indexed by full name as they are defined."""

    def __init__(self) -> None:
        self.named: dict[str, st.SearchStrategy[Any]] = {}

    def build(self, schema: Any, namespace: str) -> st.SearchStrategy[Any]:
        if isinstance(schema, str):
            return self._reference(schema, namespace)
        if isinstance(schema, Sequence):
            return st.one_of([self.build(branch, namespace) for branch in schema])
        if not isinstance(schema, Mapping):
            raise ValueError(f"not an Avro schema: {schema!r}")
        type_ = schema.get("type")
        if not isinstance(type_, str):
            return self.build(type_, namespace)  # {"type": {...}} or {"type": [...]}
        logical = str(schema.get("logicalType", ""))
        if logical == "decimal" and type_ in ("bytes", "fixed"):
            decimals = _decimals(schema)
            if type_ == "fixed":
                self._named(schema, namespace, decimals)
            return decimals
        known = _LOGICAL.get((type_, logical))
        if known is not None:
            return known
        if type_ == "array":
            items = self.build(schema["items"], namespace)
            return st.lists(items, max_size=MAX_ITEMS)
        if type_ == "map":
            values = self.build(schema["values"], namespace)
            return st.dictionaries(st.text(max_size=MAX_TEXT), values, max_size=MAX_ITEMS)
        if type_ == "enum":
            return self._named(schema, namespace, st.sampled_from(list(schema["symbols"])))
        if type_ == "fixed":
            size = int(schema["size"])
            return self._named(schema, namespace, st.binary(min_size=size, max_size=size))
        if type_ in ("record", "error"):
            return self._record(schema, namespace)
        return self._reference(type_, namespace)

    def _record(self, schema: Mapping[str, Any], enclosing: str) -> st.SearchStrategy[Any]:
        full_name = _full_name(schema, enclosing)
        inner = full_name.rpartition(".")[0]
        # Registered before the fields are built, so a field may refer back to the record.
        built: dict[str, st.SearchStrategy[Any]] = {}
        self.named[full_name] = st.deferred(lambda: built["record"])
        fields = {field["name"]: self.build(field["type"], inner) for field in schema["fields"]}
        built["record"] = st.fixed_dictionaries(fields)
        return self.named[full_name]

    def _named(
        self, schema: Mapping[str, Any], enclosing: str, strategy: st.SearchStrategy[Any]
    ) -> st.SearchStrategy[Any]:
        self.named[_full_name(schema, enclosing)] = strategy
        return strategy

    def _reference(self, name: str, namespace: str) -> st.SearchStrategy[Any]:
        if name in _PRIMITIVES:
            return _PRIMITIVES[name]
        for candidate in (name, f"{namespace}.{name}" if namespace else name):
            if candidate in self.named:
                return self.named[candidate]
        raise ValueError(f"unknown Avro type {name!r} (named types must be defined before use)")


def _full_name(schema: Mapping[str, Any], enclosing: str) -> str:
    name = str(schema["name"])
    if "." in name:
        return name
    namespace = schema.get("namespace", enclosing) or ""
    return f"{namespace}.{name}" if namespace else name


def _decimals(schema: Mapping[str, Any]) -> st.SearchStrategy[decimal.Decimal]:
    precision = int(schema["precision"])
    scale = int(schema.get("scale", 0))
    if schema["type"] == "fixed":
        # A fixed of n bytes holds a two's-complement unscaled value of at most 8n - 1 bits.
        precision = min(precision, len(str(2 ** (8 * int(schema["size"]) - 1))) - 1)
    bound = decimal.Decimal(10) ** (precision - scale) - decimal.Decimal(10) ** -scale
    return st.decimals(
        min_value=-bound, max_value=bound, places=scale, allow_nan=False, allow_infinity=False
    )
