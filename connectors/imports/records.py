"""The Kafka records of an import's rows, written straight from the validated rows.

Every row event of one import repeats most of its bytes: the wire prefix (magic byte and
schema id), and in the header the event type, schema version, tenant, import id and source.
`ImportRecords` writes those parts once per import and, per row, only what differs: the event
id, the time, and the row's own fields, as Avro binary (zig-zag varints, length-prefixed UTF-8,
``["null", T]`` unions as branch index then value) joined in one `bytes.join`. No Faust record
or dict is built for a row, and nothing is validated twice: the values come from
`validation`, which already made them exactly what the schema holds (str, int, date).

The bytes are the codec's: `schemas.codec.encode` of the same event gives the same bytes (a
test compares every kind of row, and generated rows). The layout is checked against the pinned
schemas when an import starts: a new version of ClientImported, ImportRejected or EventHeader
that this module does not write fails loudly there, not as wrong bytes.

Event ids are UUID5s of (tenant, import id, row), as `importer` documents.
"""

from __future__ import annotations

import hashlib
import struct
import uuid
from datetime import UTC, date, datetime
from typing import Any, Final

from connectors.imports.validation import OPTIONAL_FIELDS, ClientFields, Rejection
from schemas.errors import UnencodableEvent
from schemas.events import EVENT_TYPES
from schemas.registry import SchemaRegistry, default_registry, subject_of

__all__ = ["EVENT_IDS", "SOURCE", "ImportRecords", "epoch_millis", "event_id"]

SOURCE: Final = "connectors.imports"
#: Fixed namespace of the derived event ids (never change it: replays would get new ids).
EVENT_IDS: Final = uuid.UUID("2b0f6a8e-5d4c-4f7e-9c41-6e1d3a9b8c27")
_EVENT_ID_HASH: Final = hashlib.sha1(EVENT_IDS.bytes, usedforsecurity=False)
_PREFIX: Final = struct.Struct(">bI")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL: Final = date(1970, 1, 1).toordinal()
_NULL: Final = b"\x00"  # branch 0 of ["null", T]
_SOME: Final = b"\x02"  # branch 1, zig-zag encoded
_KINDS: Final = {"CPF": b"\x00", "CNPJ": b"\x02"}  # DocumentKind symbols, by index

# The layouts written below, as the pinned schemas must say them (checked in __init__).
_STR, _OPT = "string", ["null", "string"]
_HEADER_LAYOUT: Final = [
    ("event_id", _STR),
    ("event_type", _STR),
    ("schema_version", "int"),
    ("tenant_id", _STR),
    ("occurred_at", {"type": "long", "logicalType": "timestamp-millis"}),
    ("correlation_id", _STR),
    ("source", _STR),
    ("causation_id", _OPT),
]
_HEADER: Final = ("header", _HEADER_LAYOUT)
_CLIENT_IMPORTED_LAYOUT: Final = [
    _HEADER,
    ("import_id", _STR),
    ("row", "long"),
    ("client_id", _STR),
    ("name", _STR),
    ("phone_e164", _STR),
    ("document", _STR),
    ("document_kind", {"type": "enum", "name": "DocumentKind", "symbols": ["CPF", "CNPJ"]}),
    ("amount_centavos", "long"),
    ("due_date", {"type": "int", "logicalType": "date"}),
    *((name, _OPT) for name in OPTIONAL_FIELDS),
]
_IMPORT_REJECTED_LAYOUT: Final = [
    _HEADER,
    ("import_id", _STR),
    ("row", "long"),
    ("reason", _STR),
    ("message", _STR),
    ("field", _OPT),
    ("raw_row", _OPT),
]


def _varint(n: int) -> bytes:
    """Avro's zig-zag varint of a long."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Varints of 0..4095 made once: string lengths, row numbers of small files, dates.
_SMALL: Final = tuple(_varint(n) for n in range(4096))


def _long(n: int) -> bytes:
    return _SMALL[n] if 0 <= n < 4096 else _varint(n)


def _string(text: str) -> bytes:
    data = text.encode()
    return (_SMALL[len(data)] if len(data) < 4096 else _varint(len(data))) + data


def epoch_millis(moment: datetime) -> int:
    """An aware datetime as Avro's timestamp-millis (what `schemas.fast_writer` writes)."""
    delta = moment - _EPOCH
    return (delta.days * 86400 + delta.seconds) * 1000 + delta.microseconds // 1000


def event_id(name: str) -> str:
    """``str(uuid.uuid5(EVENT_IDS, name))``, without building a UUID object per row (the
    standard library's takes ~10 µs, most of a row's id); a test pins the equality."""
    digest = _EVENT_ID_HASH.copy()
    digest.update(name.encode("utf-8"))
    return _uuid5_text(digest)


# The RFC 4122 variant bits (10xx) set in the first hex digit of the clock sequence.
_VARIANT: Final = {f"{n:x}": f"{n & 0x3 | 0x8:x}" for n in range(16)}


def _uuid5_text(digest: Any) -> str:
    """The UUID5 text of a SHA-1 digest: its first 16 bytes, version 5 and the variant set."""
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _layout(schema: dict[str, Any]) -> list[tuple[str, Any]]:
    """A record schema's fields as (name, type), nested records as their layouts, docs out."""

    def plain(kind: Any) -> Any:
        if isinstance(kind, dict) and kind.get("type") == "record":
            return _layout(kind)
        if isinstance(kind, dict):
            return {k: v for k, v in kind.items() if k not in ("doc", "namespace")}
        return kind

    return [(field["name"], plain(field["type"])) for field in schema["fields"]]


class ImportRecords:
    """Writes the (key, value) records of one import's rows; see the module docstring."""

    def __init__(
        self, tenant_id: str, import_id: str, registry: SchemaRegistry | None = None
    ) -> None:
        registry = registry or default_registry()
        # The constant parts of a ClientImported (`columnar` writes from them too).
        self.accepted_head, self.accepted_mid, self.accepted_tail = self._parts(
            registry, "ClientImported", _CLIENT_IMPORTED_LAYOUT, tenant_id, import_id
        )
        self._rejected_head, self._rejected_mid, self._rejected_tail = self._parts(
            registry, "ImportRejected", _IMPORT_REJECTED_LAYOUT, tenant_id, import_id
        )
        self.id_hash = _EVENT_ID_HASH.copy()
        self.id_hash.update(f"{tenant_id}|{import_id}|".encode())
        self.client_key = f"{tenant_id}:".encode()
        self._import_key = f"{tenant_id}:{import_id}".encode()
        self._millis = -1
        self._millis_bytes = b""

    @staticmethod
    def _parts(
        registry: SchemaRegistry,
        event_type: str,
        layout: list[tuple[str, Any]],
        tenant_id: str,
        import_id: str,
    ) -> tuple[bytes, bytes, bytes]:
        """The constant bytes around a row event's id and time: (before the id, between the id
        and the time, after the time up to the row number)."""
        latest = registry.latest(subject_of(event_type))
        if latest is None or _layout(latest.schema) != layout:
            raise UnencodableEvent(
                f"{event_type}'s pinned schema is not the layout connectors/imports/records.py "
                "writes; update the module with the schema"
            )
        head = _PREFIX.pack(0, latest.schema_id) + _long(36)  # an event id is 36 characters
        mid = (
            _string(event_type) + _long(EVENT_TYPES[event_type].SCHEMA_VERSION) + _string(tenant_id)
        )
        tail = _string(import_id) + _string(SOURCE) + _NULL + _string(import_id)
        return head, mid, tail

    def _event_id(self, row: int) -> bytes:
        digest = self.id_hash.copy()
        digest.update(str(row).encode())
        return _uuid5_text(digest).encode()

    def _time(self, millis: int) -> bytes:
        if millis != self._millis:
            self._millis, self._millis_bytes = millis, _varint(millis)
        return self._millis_bytes

    def accepted_header(self, millis: int) -> tuple[bytes, bytes]:
        """A ClientImported's bytes before its event id, and from the id to its row number, for
        the time `millis` (what `columnar` joins around each row's id)."""
        return self.accepted_head, self.accepted_mid + self._time(millis) + self.accepted_tail

    def accepted(self, fields: ClientFields, millis: int) -> tuple[bytes, bytes]:
        """A ClientImported: key ``tenant:client_id``, value in the wire format."""
        (row, client_id, name, phone, document, kind, amount, due, *optional) = fields
        string = _string
        try:
            parts = [
                self.accepted_head,
                self._event_id(row),
                self.accepted_mid,
                self._time(millis),
                self.accepted_tail,
                _long(row),
                string(client_id),
                string(name),
                string(phone),
                string(document),
                _KINDS[kind],
                _long(amount),
                _long(due.toordinal() - _EPOCH_ORDINAL),
            ]
            for text in optional:
                parts.append(_NULL if text is None else _SOME + string(text))
            value = b"".join(parts)
            key = self.client_key + client_id.encode()
        except UnicodeEncodeError as exc:
            raise _unencodable("ClientImported", row, exc) from exc
        return key, value

    def rejected(self, rejection: Rejection, raw: str, millis: int) -> tuple[bytes, bytes]:
        """An ImportRejected: key ``tenant:import_id``; `raw` is the record's source text."""
        row, field, raw_row = rejection.row, rejection.field, raw.rstrip("\r\n")
        try:
            value = b"".join(
                (
                    self._rejected_head,
                    self._event_id(row),
                    self._rejected_mid,
                    self._time(millis),
                    self._rejected_tail,
                    _long(row),
                    _string(rejection.reason.value),
                    _string(rejection.message),
                    _NULL if field is None else _SOME + _string(field),
                    _SOME + _string(raw_row) if raw_row else _NULL,
                )
            )
        except UnicodeEncodeError as exc:
            raise _unencodable("ImportRejected", row, exc) from exc
        return self._import_key, value


def _unencodable(event_type: str, row: int, exc: UnicodeEncodeError) -> UnencodableEvent:
    return UnencodableEvent(
        f"{subject_of(event_type)} of row {row}: a text is not encodable as UTF-8 ({exc.reason})"
    )
