"""The Kafka records of an import's rows, written straight from the validated rows.

Every row event of one import repeats most of its bytes: the wire prefix and, in the header,
the event type, schema version, tenant, import id and source. `ImportRecords` has them written
once per import (`schemas.fixed_header.FixedHeader`) and, per row, writes only what differs:
the event id, the time, and the row's own fields, with `schemas.binary`'s encoders, joined in
one `bytes.join`. No Faust record or dict is built for a row, and nothing is validated twice:
the values come from `validation`, which already made them exactly what the schema holds (str,
int, date). This module decides which fields an import's events carry and from where; how they
are encoded is `schemas`' business.

The bytes are the codec's: `schemas.codec.encode` of the same event gives the same bytes (a
test compares every kind of row, and generated rows). The layouts below are checked against
the pinned schemas when an import starts: a new version of ClientImported, ImportRejected or
EventHeader that this module does not write fails loudly there, not as wrong bytes.

Event ids are UUID5s of (tenant, import id, row), as `importer` documents.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any, Final

from connectors.imports.validation import OPTIONAL_FIELDS, ClientFields, Rejection
from schemas.binary import (
    NULL,
    date_bytes,
    enum_bytes,
    long_bytes,
    optional_string_bytes,
    string_bytes,
)
from schemas.errors import UnencodableEvent
from schemas.fixed_header import (
    DATE,
    LONG,
    OPTIONAL_STRING,
    STRING,
    FixedHeader,
    enum_type,
)
from schemas.registry import SchemaRegistry, subject_of
from streams.domain.brazil.documents import CNPJ, CPF

__all__ = ["DOCUMENT_KINDS", "EVENT_IDS", "SOURCE", "ImportRecords", "event_id"]

SOURCE: Final = "connectors.imports"
#: Fixed namespace of the derived event ids (never change it: replays would get new ids).
EVENT_IDS: Final = uuid.UUID("2b0f6a8e-5d4c-4f7e-9c41-6e1d3a9b8c27")
_EVENT_ID_HASH: Final = hashlib.sha1(EVENT_IDS.bytes, usedforsecurity=False)
#: The symbols of `DocumentKind`, in the schema's order (the layout check pins it).
DOCUMENT_KINDS: Final = (CPF, CNPJ)
#: A ``["null", DocumentKind]`` value by symbol: null, or branch 1 and the symbol's index.
_KINDS: Final = {None: NULL} | {
    kind: long_bytes(1) + index for kind, index in enum_bytes(DOCUMENT_KINDS).items()
}

# The bodies written below, after the header, as the pinned schemas must say them.
_CLIENT_IMPORTED: Final = (
    ("import_id", STRING),
    ("row", LONG),
    ("client_id", STRING),
    ("name", STRING),
    ("phone_e164", STRING),
    ("amount_centavos", LONG),
    ("due_date", DATE),
    ("document", OPTIONAL_STRING),  # v2: optional (issue 15)
    ("document_kind", ("null", enum_type("DocumentKind", DOCUMENT_KINDS))),
    *((name, OPTIONAL_STRING) for name in OPTIONAL_FIELDS),
)
_IMPORT_REJECTED: Final = (
    ("import_id", STRING),
    ("row", LONG),
    ("reason", STRING),
    ("message", STRING),
    ("field", OPTIONAL_STRING),
    ("raw_row", OPTIONAL_STRING),
)


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


class ImportRecords:
    """Writes the (key, value) records of one import's rows; see the module docstring."""

    def __init__(
        self, tenant_id: str, import_id: str, registry: SchemaRegistry | None = None
    ) -> None:
        def header(event_type: str, body: tuple[tuple[str, Any], ...]) -> FixedHeader:
            return FixedHeader(
                event_type,
                body,
                tenant_id=tenant_id,
                correlation_id=import_id,
                source=SOURCE,
                registry=registry,
            )

        self._accepted = header("ClientImported", _CLIENT_IMPORTED)
        self._rejected = header("ImportRejected", _IMPORT_REJECTED)
        self._import_id = string_bytes(import_id)  # every body's first field
        self.id_hash = _EVENT_ID_HASH.copy()
        self.id_hash.update(f"{tenant_id}|{import_id}|".encode())
        self.client_key = f"{tenant_id}:".encode()
        self._import_key = f"{tenant_id}:{import_id}".encode()

    def _event_id(self, row: int) -> bytes:
        digest = self.id_hash.copy()
        digest.update(str(row).encode())
        return _uuid5_text(digest).encode()

    def accepted_header(self, millis: int) -> tuple[bytes, bytes]:
        """A ClientImported's bytes before its event id, and from the id to its row number, for
        the time `millis` (what `columnar` joins around each row's id)."""
        return self._accepted.before_id, self._accepted.after_id(millis) + self._import_id

    def accepted(self, fields: ClientFields, millis: int) -> tuple[bytes, bytes]:
        """A ClientImported: key ``tenant:client_id``, value in the wire format."""
        (row, client_id, name, phone, document, kind, amount, due, *optional) = fields
        header, string = self._accepted, string_bytes
        try:
            parts = [
                header.before_id,
                self._event_id(row),
                header.after_id(millis),
                self._import_id,
                long_bytes(row),
                string(client_id),
                string(name),
                string(phone),
                long_bytes(amount),
                date_bytes(due),
                optional_string_bytes(document),
                _KINDS[kind],
            ]
            parts += map(optional_string_bytes, optional)
            value = b"".join(parts)
            key = self.client_key + client_id.encode()
        except UnicodeEncodeError as exc:
            raise _unencodable("ClientImported", row, exc) from exc
        return key, value

    def rejected(self, rejection: Rejection, raw: str, millis: int) -> tuple[bytes, bytes]:
        """An ImportRejected: key ``tenant:import_id``; `raw` is the record's source text."""
        row, raw_row = rejection.row, raw.rstrip("\r\n")
        header = self._rejected
        try:
            value = b"".join(
                (
                    header.before_id,
                    self._event_id(row),
                    header.after_id(millis),
                    self._import_id,
                    long_bytes(row),
                    string_bytes(rejection.reason.value),
                    string_bytes(rejection.message),
                    optional_string_bytes(rejection.field),
                    optional_string_bytes(raw_row or None),
                )
            )
        except UnicodeEncodeError as exc:
            raise _unencodable("ImportRejected", row, exc) from exc
        return self._import_key, value


def _unencodable(event_type: str, row: int, exc: UnicodeEncodeError) -> UnencodableEvent:
    return UnencodableEvent(
        f"{subject_of(event_type)} of row {row}: a text is not encodable as UTF-8 ({exc.reason})"
    )
