"""The bytes of a batch of events of one type whose headers differ only in event id and time.

An import writes thousands of events of one type for one tenant, one correlation and one
source: of each record value's wire prefix and `EventHeader`, only the event id and the time
change. `FixedHeader` encodes the rest once (`schemas.binary`) and hands it out as the bytes
before the event id and the bytes after it, so a writer joins ``before_id``, the id, ``after_id``
and the body it encodes itself, and gets what `schemas.codec.encode` writes for the same event.

Such a writer depends on the exact field order of the pinned schema, which no type checker
sees. So it declares the body it writes as a layout (field names and Avro types, in the
spellings below) and `FixedHeader` compares header and body with the latest pinned schema when
it is made: a new schema version that the writer does not follow fails there, loudly, instead
of producing wrong bytes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from schemas.binary import long_bytes, optional_string_bytes, string_bytes, wire_prefix
from schemas.errors import UnencodableEvent
from schemas.events import EVENT_TYPES
from schemas.registry import SchemaRegistry, default_registry, subject_of

__all__ = [
    "DATE",
    "EVENT_ID_CHARS",
    "INT",
    "LONG",
    "OPTIONAL_STRING",
    "STRING",
    "TIMESTAMP_MILLIS",
    "FixedHeader",
    "Layout",
    "enum_type",
    "layout_of",
]

#: A record's fields as (name, type), in order; a nested record's type is its own layout, a
#: union's a tuple of its branches (each spelled the same way: ``("null", enum_type(...))``).
Layout = Sequence[tuple[str, Any]]

# Avro types as a layout spells them (the schema's JSON without docs and namespaces).
STRING: Final = "string"
INT: Final = "int"
LONG: Final = "long"
OPTIONAL_STRING: Final = ("null", "string")
DATE: Final[Mapping[str, str]] = {"type": "int", "logicalType": "date"}
TIMESTAMP_MILLIS: Final[Mapping[str, str]] = {"type": "long", "logicalType": "timestamp-millis"}

#: Length of an event id: the text of a UUID.
EVENT_ID_CHARS: Final = 36

_HEADER_LAYOUT: Final[Layout] = (
    ("event_id", STRING),
    ("event_type", STRING),
    ("schema_version", INT),
    ("tenant_id", STRING),
    ("occurred_at", TIMESTAMP_MILLIS),
    ("correlation_id", STRING),
    ("source", STRING),
    ("causation_id", OPTIONAL_STRING),
)


def enum_type(name: str, symbols: Sequence[str]) -> Mapping[str, Any]:
    """An enum as a layout spells it."""
    return {"type": "enum", "name": name, "symbols": list(symbols)}


def layout_of(schema: Mapping[str, Any]) -> Layout:
    """A record schema's fields as a `Layout` (tuples all through, docs and namespaces out)."""

    def plain(kind: Any) -> Any:
        if isinstance(kind, Mapping) and kind.get("type") == "record":
            return layout_of(kind)
        if isinstance(kind, Mapping):
            return {k: v for k, v in kind.items() if k not in ("doc", "namespace")}
        if isinstance(kind, list):
            return tuple(plain(branch) for branch in kind)  # a union
        return kind

    return tuple((field["name"], plain(field["type"])) for field in schema["fields"])


class FixedHeader:
    """The constant bytes of the events of one type from one tenant, correlation and source.

    A value is ``before_id + event_id + after_id(millis) + body``, where the event id is the
    `EVENT_ID_CHARS`-character text of a UUID, `millis` the event's time (`binary.epoch_millis`)
    and `body` the event's own fields, encoded as `body` declares them. Raises
    UnencodableEvent when the pinned schema of `event_type` is not that layout.
    """

    def __init__(
        self,
        event_type: str,
        body: Layout,
        *,
        tenant_id: str,
        correlation_id: str,
        source: str,
        causation_id: str | None = None,
        registry: SchemaRegistry | None = None,
    ) -> None:
        latest = (registry or default_registry()).latest(subject_of(event_type))
        if latest is None or layout_of(latest.schema) != (("header", _HEADER_LAYOUT), *body):
            raise UnencodableEvent(
                f"{event_type}'s pinned schema is not the layout its writer declares "
                f"({', '.join(name for name, _ in body)} after the header); update the writer "
                "with the schema"
            )
        self.before_id: Final = wire_prefix(latest.schema_id) + long_bytes(EVENT_ID_CHARS)
        """The wire prefix and the event id's length."""
        self._before_time = (
            string_bytes(event_type)
            + long_bytes(EVENT_TYPES[event_type].SCHEMA_VERSION)
            + string_bytes(tenant_id)
        )
        self._after_time = b"".join(
            (
                string_bytes(correlation_id),
                string_bytes(source),
                optional_string_bytes(causation_id),
            )
        )
        self._millis: int | None = None
        self._after_id = b""

    def after_id(self, millis: int) -> bytes:
        """The header's bytes after the event id, for the time `millis`: the rows of an import
        mostly share one, so the last is kept."""
        if millis != self._millis:
            self._millis = millis
            self._after_id = self._before_time + long_bytes(millis) + self._after_time
        return self._after_id
