"""The Confluent wire format for cobranca events, and its registration as a Faust codec.

A record value is ``0x00`` (magic byte), the schema id as 4 bytes big-endian, then the Avro
binary body. The writer always uses the latest pinned version of the event's subject; the
reader resolves whatever version wrote the bytes into the latest one (Avro schema resolution),
so consumers see one shape per event type while old records stay readable.

Faust sees a plain codec named ``"avro"``: `dumps` takes a record's representation (with the
``__faust`` namespace Faust adds), `loads` returns a dict carrying that namespace again, which
is how Faust rebuilds the right typed record on a topic that carries several event types.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
from collections.abc import Mapping
from typing import Any

import fastavro
import faust
from fastavro.validation import ValidationError, validate
from faust.serializers import codecs

from schemas.binary import MAGIC, WIRE_PREFIX, wire_prefix
from schemas.errors import UndecodableEvent, UnencodableEvent
from schemas.fast_writer import Fallback, Writer, compile_writer
from schemas.registry import (
    NAMESPACE,
    RegisteredSchema,
    SchemaRegistry,
    default_registry,
    subject_of,
)

FAUST_KEY = "__faust"


def encode(event: Mapping[str, Any], registry: SchemaRegistry | None = None) -> bytes:
    """Encode one event (a record's representation or a plain dict) to the wire format."""
    registry = registry or default_registry()
    subject = _subject(event)
    latest = registry.latest(subject)
    if latest is None:
        raise UnencodableEvent(f"no schema is pinned for {subject!r} in schemas/registry.json")
    fast = _fast_writer(latest)
    if fast is not None:  # a record, its representation or a plain dict, written as it is
        body = bytearray(wire_prefix(latest.schema_id))
        try:
            fast(body, event)
        except Fallback:
            pass  # not the exact case: fastavro decides, and names what is wrong
        else:
            return bytes(body)
    try:
        plain = _plain(event)
    except UnencodableEvent as exc:
        raise UnencodableEvent(f"{subject}: {exc}") from exc
    out = io.BytesIO()
    out.write(wire_prefix(latest.schema_id))
    try:
        # fastavro's writer coerces what it can (7.5 -> 7, True -> 1) and writes an int of any
        # size; validating first turns those into errors that name the field. The quiet check
        # is 3x faster (raise_errors=True raises and formats an error for every union branch
        # it tries); only a failing event pays for the second pass that names the problems.
        if not validate(plain, latest.parsed, raise_errors=False):
            validate(plain, latest.parsed, raise_errors=True)
        fastavro.schemaless_writer(out, latest.parsed, plain, strict_allow_default=True)
    except UnencodableEvent as exc:
        raise UnencodableEvent(f"{subject}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(str(error) for error in exc.errors)
        raise UnencodableEvent(
            f"{subject} does not match schema id {latest.schema_id}: {problems}"
        ) from exc
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        raise UnencodableEvent(
            f"{subject} does not match schema id {latest.schema_id}: {exc}"
        ) from exc
    return out.getvalue()


_FAST_WRITERS: dict[int, tuple[Any, Writer | None]] = {}


def _fast_writer(schema: RegisteredSchema) -> Writer | None:
    """The compiled writer of a pinned schema (schemas/fast_writer.py), made on first use."""
    cached = _FAST_WRITERS.get(schema.schema_id)
    if cached is None or cached[0] is not schema.parsed:  # a test registry may pin others
        cached = _FAST_WRITERS[schema.schema_id] = (schema.parsed, compile_writer(schema.parsed))
    return cached[1]


def encode_datum(
    event_type: str, datum: Mapping[str, Any], registry: SchemaRegistry | None = None
) -> bytes:
    """Encode a datum already in fastavro's shape for the latest schema of `event_type`,
    without the checks `encode` makes: for hot paths (the webhook receiver) that build the datum
    themselves and have a test proving it decodes like `encode`'s output."""
    latest = (registry or default_registry()).latest(subject_of(event_type))
    if latest is None:
        raise UnencodableEvent(f"no schema is pinned for {event_type!r} in schemas/registry.json")
    out = io.BytesIO()
    out.write(wire_prefix(latest.schema_id))
    fastavro.schemaless_writer(out, latest.parsed, datum)
    return out.getvalue()


def decode(data: bytes, registry: SchemaRegistry | None = None) -> dict[str, Any]:
    """Decode wire-format bytes into the latest shape of their event type, as a dict.

    Raises UndecodableEvent; callers that know where the bytes came from add the position with
    `UndecodableEvent.at(topic, partition, offset)`.
    """
    registry = registry or default_registry()
    if len(data) < WIRE_PREFIX.size:
        raise UndecodableEvent(f"{len(data)} bytes is shorter than the 5-byte wire-format prefix")
    magic, schema_id = WIRE_PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise UndecodableEvent(
            f"magic byte is {magic}, expected {MAGIC}: not the Confluent wire format"
        )
    writer = registry.by_id(schema_id)
    if writer is None:
        raise UndecodableEvent(
            "schema id is not pinned in schemas/registry.json", schema_id=schema_id
        )
    reader = registry.latest(writer.subject) or writer
    body = io.BytesIO(data)
    body.seek(WIRE_PREFIX.size)
    try:
        # Bytes written with the latest version need no resolution; fastavro would still compare
        # the two schemas on every call (a quarter of the decode time).
        resolve_to = None if reader.schema_id == writer.schema_id else reader.parsed
        value = fastavro.schemaless_reader(body, writer.parsed, resolve_to)
    except (
        EOFError,
        ValueError,
        TypeError,
        IndexError,
        UnicodeDecodeError,
        StopIteration,
        OverflowError,  # a date or timestamp beyond what datetime holds (year 9999)
    ) as exc:
        raise UndecodableEvent(
            f"Avro body does not match {writer.subject} v{writer.version}: {exc!r}",
            schema_id=schema_id,
        ) from exc
    if body.tell() != len(data):
        raise UndecodableEvent(
            f"{len(data) - body.tell()} trailing bytes after the {writer.subject} body",
            schema_id=schema_id,
        )
    if not isinstance(value, dict):
        raise UndecodableEvent(f"{writer.subject} is not a record schema", schema_id=schema_id)
    value[FAUST_KEY] = {"ns": writer.subject}
    return value


def _subject(event: Mapping[str, Any]) -> str:
    blessed = event.get(FAUST_KEY)
    if isinstance(blessed, Mapping) and str(blessed.get("ns", "")).startswith(NAMESPACE + "."):
        return str(blessed["ns"])
    header = event.get("header")
    event_type = header.get("event_type") if isinstance(header, Mapping) else None
    if not event_type:
        raise UnencodableEvent(
            "an event needs header.event_type (or a Faust namespace) to pick its schema"
        )
    return subject_of(str(event_type))


# Values fastavro writes as they are: the conversion returns them untouched, and testing the
# type once beats the isinstance chain below for the 25-odd scalar fields of every event.
_AS_IS: frozenset[type] = frozenset({str, int, bool, float, bytes, type(None), dt.date})


def _plain(value: Any) -> Any:
    """Faust records, enums and mappings down to what fastavro writes."""
    if type(value) in _AS_IS:
        return value
    if hasattr(value, "asdict") and hasattr(value, "_options"):  # a Faust record
        value = value.asdict()
    if isinstance(value, Mapping):
        return {
            k: v if type(v) in _AS_IS else _plain(v) for k, v in value.items() if k != FAUST_KEY
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [v if type(v) in _AS_IS else _plain(v) for v in value]
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        raise UnencodableEvent(f"naive datetime {value.isoformat()}: events carry UTC-aware times")
    return value


class Undecodable(faust.Record, namespace="cobranca.Undecodable"):
    """What an agent receives instead of an event when the bytes could not be decoded.

    Errors travel as data: the agent dead-letters it inside its own transaction, where it knows
    the record's position, instead of Faust crashing the stream or dropping the record.
    """

    data: bytes
    reason: str
    schema_id: int | None = None


class AvroCodec(codecs.Codec):
    """Faust codec ``"avro"``: event records to and from the Confluent wire format."""

    def _dumps(self, obj: Any) -> bytes:
        return encode(obj)

    def _loads(self, s: bytes) -> Any:
        try:
            return decode(s)
        except UndecodableEvent as exc:
            return {
                FAUST_KEY: {"ns": Undecodable._options.namespace},
                "data": s,
                "reason": exc.reason,
                "schema_id": exc.schema_id,
            }


def register_faust_codec() -> None:
    """Make ``value_serializer="avro"`` available to Faust topics (idempotent)."""
    codecs.register("avro", AvroCodec())
