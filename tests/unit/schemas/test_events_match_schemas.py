"""The .avsc files and the Faust records in schemas/events.py describe the same events."""

from __future__ import annotations

import enum
import io
import json
import types
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import fastavro
import fastavro.schema
import faust
import pytest

from schemas import events
from schemas.events import (
    EVENT_TYPES,
    ClientImported,
    DocumentKind,
    Event,
    EventHeader,
    SendKind,
    SendRejected,
    SendRejectReason,
    SendRequested,
    new_header,
)
from schemas.registry import default_registry, subject_of

AVRO_DIR = Path(events.__file__).parent / "avro"
HEADER_FILE = AVRO_DIR / "cobranca.events.EventHeader.avsc"
EVENT_FILES = sorted(path for path in AVRO_DIR.glob("*.avsc") if path != HEADER_FILE)


def _raw(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def _load(path: Path) -> dict[str, Any]:
    parsed = fastavro.schema.load_schema(str(path))
    assert isinstance(parsed, dict)
    return parsed


def _record_class(schema: dict[str, Any]) -> type[faust.Record]:
    if schema["name"] == "EventHeader":
        return EventHeader
    return EVENT_TYPES[schema["name"]]


def _is_nullable(avro_type: Any) -> bool:
    return isinstance(avro_type, list) and "null" in avro_type


def _is_optional(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)


def _without_none(annotation: Any) -> Any:
    if not _is_optional(annotation):
        return annotation
    (inner,) = [arg for arg in get_args(annotation) if arg is not type(None)]
    return inner


_PRIMITIVE_TYPES: dict[str, type] = {
    "string": str,
    "long": int,
    "int": int,
    "boolean": bool,
    "float": float,
    "double": float,
    "bytes": bytes,
}
_LOGICAL_TYPES: dict[str, type] = {"timestamp-millis": datetime, "date": date}


def _assert_python_type(avro_type: Any, annotation: Any, where: str) -> None:
    """The Python annotation is the one schemas/events.py promises for this Avro type."""
    if isinstance(avro_type, list):
        (inner,) = [branch for branch in avro_type if branch != "null"]
        _assert_python_type(inner, annotation, where)
    elif isinstance(avro_type, str) and avro_type in _PRIMITIVE_TYPES:
        assert annotation is _PRIMITIVE_TYPES[avro_type], where
    elif avro_type == "cobranca.events.EventHeader":
        assert annotation is EventHeader, where
    elif isinstance(avro_type, str):  # a named record defined earlier in the schema
        assert isinstance(annotation, type) and issubclass(annotation, faust.Record), where
        assert annotation._options.namespace == avro_type, where
    elif avro_type["type"] == "record":
        assert isinstance(annotation, type) and issubclass(annotation, faust.Record), where
        assert annotation._options.namespace == f"cobranca.events.{avro_type['name']}", where
        assert list(annotation._options.fields) == [f["name"] for f in avro_type["fields"]], where
        for field in avro_type["fields"]:
            inner = annotation._options.fields[field["name"]]
            inner_where = f"{where}.{field['name']}"
            assert _is_optional(inner) == _is_nullable(field["type"]), inner_where
            _assert_python_type(field["type"], _without_none(inner), inner_where)
    elif avro_type["type"] == "array":
        assert get_origin(annotation) is list, where
        (item,) = get_args(annotation)
        _assert_python_type(avro_type["items"], item, where)
    elif avro_type.get("logicalType") in _LOGICAL_TYPES:
        assert annotation is _LOGICAL_TYPES[avro_type["logicalType"]], where
    elif avro_type["type"] == "enum":
        assert isinstance(annotation, type), where
        assert issubclass(annotation, enum.StrEnum), where
        assert annotation.__name__ == avro_type["name"], where
        assert [member.value for member in annotation] == avro_type["symbols"], where
    elif avro_type["type"] == "map":
        assert get_origin(annotation) is dict, where
        key, value = get_args(annotation)
        assert key is str, where
        _assert_python_type(avro_type["values"], value, where)
    else:
        pytest.fail(f"{where}: no Python type is defined for Avro type {avro_type!r}")


# --- the schemas on their own ---------------------------------------------------------------


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_every_schema_parses_with_fastavro(path: Path) -> None:
    parsed = _load(path)

    assert parsed["type"] == "record"


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_file_is_named_after_the_records_full_name(path: Path) -> None:
    schema = _raw(path)

    assert schema["namespace"] == "cobranca.events"
    assert path.name == f"{schema['namespace']}.{schema['name']}.avsc"


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_every_event_starts_with_the_header(path: Path) -> None:
    first = _raw(path)["fields"][0]

    assert first["name"] == "header"
    assert first["type"] == "cobranca.events.EventHeader"


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_every_record_field_and_enum_has_a_doc(path: Path) -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch, where)
        elif isinstance(node, dict):
            if node.get("type") in ("record", "enum"):
                assert node.get("doc"), f"{where}: {node['name']} has no doc"
            for field in node.get("fields", ()):
                assert field.get("doc"), f"{where}.{field['name']} has no doc"
                walk(field["type"], f"{where}.{field['name']}")

    schema = _raw(path)
    walk(schema, schema["name"])


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_fields_follow_the_conventions(path: Path) -> None:
    schema = _raw(path)
    seen_default = False
    for field in schema["fields"]:
        where = f"{schema['name']}.{field['name']}"
        if _is_nullable(field["type"]):
            assert field["type"][0] == "null", f"{where}: null must come first (default null)"
            assert "default" in field and field["default"] is None, f"{where}: needs default null"
        if field["name"].endswith("_centavos"):
            money = (
                [t for t in field["type"] if t != "null"]
                if _is_nullable(field["type"])
                else [field["type"]]
            )
            assert money == ["long"], f"{where}: money is a long of centavos"
        # Faust refuses a field without a default after one with a default.
        if "default" in field:
            seen_default = True
        else:
            assert not seen_default, f"{where}: required field after a field with a default"


def test_every_event_schema_has_a_record_class_and_no_class_lacks_a_schema() -> None:
    assert {path.stem.removeprefix("cobranca.events.") for path in EVENT_FILES} == set(EVENT_TYPES)


def test_a_named_type_defined_in_several_files_is_defined_the_same_way() -> None:
    definitions: dict[str, list[Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            if node.get("type") in ("enum", "fixed"):
                definitions.setdefault(node["name"], []).append(node)
            for field in node.get("fields", ()):
                walk(field["type"])

    for path in EVENT_FILES:
        walk(_raw(path))

    assert len(definitions["SendKind"]) == 2
    for name, found in definitions.items():
        assert all(d == found[0] for d in found), f"{name} is defined differently in two files"


# --- the records mirror the schemas --------------------------------------------------------


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_record_has_the_schemas_fields_in_the_same_order(path: Path) -> None:
    schema = _raw(path)
    cls = _record_class(schema)

    assert list(cls._options.fields) == [field["name"] for field in schema["fields"]]


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_record_field_types_nullability_and_defaults_match(path: Path) -> None:
    schema = _raw(path)
    cls = _record_class(schema)
    for field in schema["fields"]:
        where = f"{schema['name']}.{field['name']}"
        annotation = cls._options.fields[field["name"]]

        assert _is_optional(annotation) == _is_nullable(field["type"]), where
        _assert_python_type(field["type"], _without_none(annotation), where)
        if "default" in field:
            assert cls._options.defaults[field["name"]] == field["default"], where
        else:
            assert field["name"] not in cls._options.defaults, where


@pytest.mark.parametrize("path", [HEADER_FILE, *EVENT_FILES], ids=lambda p: p.stem)
def test_record_namespace_is_the_avro_full_name(path: Path) -> None:
    schema = _raw(path)

    assert _record_class(schema)._options.namespace == f"{schema['namespace']}.{schema['name']}"


def test_every_event_class_derives_from_event_at_its_latest_pinned_version() -> None:
    registry = default_registry()
    for name, cls in EVENT_TYPES.items():
        assert cls.__name__ == name
        assert issubclass(cls, Event)
        latest = registry.latest(subject_of(name))
        assert latest is not None and latest.version == cls.SCHEMA_VERSION, name


# --- Avro round trip through the typed records ---------------------------------------------

_TIMESTAMP = datetime(2025, 3, 14, 15, 9, 26, 535000, tzinfo=UTC)


def _sample(node: Any, named: dict[str, Any], name: str) -> Any:
    """A value for every field, the non-null branch of every union."""
    if isinstance(node, list):
        return _sample(next(b for b in node if b != "null"), named, name)
    if isinstance(node, str):
        if node in named:
            return _sample(named[node], named, name)
        return {
            "string": f"{name}-value",
            "long": 1234567890123,
            "int": 42,
            "boolean": True,
            "float": 0.75,
            "double": 0.75,
            "bytes": b"\x00raw body \xff",
        }[node]
    logical = node.get("logicalType")
    if logical == "timestamp-millis":
        return _TIMESTAMP
    if logical == "date":
        return date(2025, 3, 31)
    kind = node["type"]
    if kind == "record":
        return {f["name"]: _sample(f["type"], named, f["name"]) for f in node["fields"]}
    if kind == "enum":
        return node["symbols"][-1]
    if kind == "map":
        return {"k1": _sample(node["values"], named, name)}
    if kind == "array":
        return [_sample(node["items"], named, name)]
    return _sample(kind, named, name)


def _to_avro(value: Any) -> Any:
    if isinstance(value, faust.Record):
        return {key: _to_avro(item) for key, item in value.asdict().items()}
    if isinstance(value, dict):
        return {key: _to_avro(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_avro(item) for item in value]
    return value


def _encode(parsed: Any, datum: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, datum)
    return out.getvalue()


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_avro_round_trip_rebuilds_a_typed_record(path: Path) -> None:
    parsed = _load(path)
    sample = _sample(parsed, parsed["__named_schemas"], "root")
    encoded = _encode(parsed, sample)

    decoded = fastavro.schemaless_reader(io.BytesIO(encoded), parsed, parsed)
    assert isinstance(decoded, dict)
    event = EVENT_TYPES[path.stem.removeprefix("cobranca.events.")].from_data(decoded)

    assert isinstance(event.header, EventHeader)
    assert event.header.occurred_at == _TIMESTAMP
    for name, annotation in type(event)._options.fields.items():
        value = getattr(event, name)
        expected = _without_none(annotation)
        if isinstance(expected, type) and get_origin(expected) is None:
            assert isinstance(value, expected), f"{path.stem}.{name}: {value!r}"
    assert _encode(parsed, _to_avro(event)) == encoded


# --- Faust behaviour schemas/events.py relies on -------------------------------------------


def _header_dict() -> dict[str, Any]:
    return {
        "event_id": "8b0e7f0e-6a53-4c53-9d0c-3a0f7c1d2e4f",
        "event_type": "ClientImported",
        "schema_version": 1,
        "tenant_id": "tenant-1",
        "occurred_at": _TIMESTAMP,
        "correlation_id": "import-1",
        "source": "connectors.imports",
        "causation_id": None,
    }


def _client_imported_dict() -> dict[str, Any]:
    return {
        "header": _header_dict(),
        "import_id": "import-1",
        "row": 2,
        "client_id": "client-1",
        "name": "Maria da Silva",
        "phone_e164": "+5511987654321",
        "document": "52998224725",
        "document_kind": "CPF",
        "amount_centavos": 123456,
        "due_date": date(2025, 4, 10),
    }


def test_from_data_builds_the_nested_header_and_enum_members() -> None:
    event = ClientImported.from_data(_client_imported_dict())

    assert isinstance(event, ClientImported)
    assert isinstance(event.header, EventHeader)
    assert event.header.occurred_at == _TIMESTAMP
    assert event.document_kind is DocumentKind.CPF
    assert event.email is None


def test_from_data_rejects_an_unknown_enum_symbol() -> None:
    data = _client_imported_dict() | {"document_kind": "RG"}

    with pytest.raises(ValueError, match="'RG' is not a valid DocumentKind"):
        ClientImported.from_data(data)


def test_from_data_rejects_a_missing_required_field() -> None:
    data = _client_imported_dict()
    del data["client_id"]

    with pytest.raises(TypeError, match="client_id"):
        ClientImported.from_data(data)


def test_from_data_keeps_a_non_null_default_when_the_value_is_absent() -> None:
    request = SendRequested.from_data(
        {
            "header": _header_dict() | {"event_type": "SendRequested"},
            "request_id": "req-1",
            "client_id": "client-1",
            "phone_e164": "+5511987654321",
            "kind": "TEXT",
            "text": "Olá",
        }
    )

    assert request.recipients == 1
    assert request.kind is SendKind.TEXT


def test_asdict_and_to_representation_are_shallow() -> None:
    event = ClientImported.from_data(_client_imported_dict())

    as_dict = event.asdict()
    representation = event.to_representation()

    assert isinstance(as_dict["header"], EventHeader)
    assert "__faust" not in as_dict
    assert representation["__faust"] == {"ns": "cobranca.events.ClientImported"}
    assert list(as_dict) == list(ClientImported._options.fields)


def test_str_enum_members_compare_equal_to_their_symbols() -> None:
    rejected = SendRejected(
        header=EventHeader.from_data(_header_dict()),
        request_id="req-1",
        reason=SendRejectReason.INSUFFICIENT_TOKENS,
    )

    assert rejected.reason == "insufficient_tokens"
    assert rejected.detail is None


def test_a_naive_occurred_at_is_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        EventHeader.from_data(_header_dict() | {"occurred_at": datetime(2025, 1, 1, 12, 0)})


# --- new_header ----------------------------------------------------------------------------


def test_new_header_fills_identity_version_and_time() -> None:
    before = datetime.now(UTC)

    header = new_header(
        "TokensDebited",
        tenant_id="tenant-1",
        correlation_id="req-1",
        causation_id="evt-0",
        source="streams.ledger",
    )

    assert header.event_type == "TokensDebited"
    assert header.schema_version == EVENT_TYPES["TokensDebited"].SCHEMA_VERSION == 2
    assert header.tenant_id == "tenant-1"
    assert header.correlation_id == "req-1"
    assert header.causation_id == "evt-0"
    assert header.source == "streams.ledger"
    assert str(header.event_id) == header.event_id and len(header.event_id) == 36
    assert header.occurred_at.tzinfo is UTC
    assert header.occurred_at.microsecond % 1000 == 0
    assert before - timedelta(milliseconds=1) <= header.occurred_at <= datetime.now(UTC)


def test_new_header_gives_every_event_a_fresh_id() -> None:
    ids = {
        new_header(
            "BalanceLow", tenant_id="t", correlation_id="c", causation_id=None, source="s"
        ).event_id
        for _ in range(50)
    }

    assert len(ids) == 50


def test_new_header_converts_to_utc_and_cuts_to_milliseconds() -> None:
    sao_paulo = timezone(timedelta(hours=-3))

    header = new_header(
        "OptedOut",
        tenant_id="t",
        correlation_id="c",
        causation_id=None,
        source="s",
        occurred_at=datetime(2025, 3, 14, 12, 0, 0, 123999, tzinfo=sao_paulo),
    )

    assert header.occurred_at == datetime(2025, 3, 14, 15, 0, 0, 123000, tzinfo=UTC)
    assert header.occurred_at.tzinfo is UTC


def test_new_header_refuses_an_unknown_event_type_and_a_naive_time() -> None:
    with pytest.raises(ValueError, match="unknown event type 'ClientImport'"):
        new_header("ClientImport", tenant_id="t", correlation_id="c", causation_id=None, source="s")
    with pytest.raises(ValueError, match="has no time zone"):
        new_header(
            "OptedOut",
            tenant_id="t",
            correlation_id="c",
            causation_id=None,
            source="s",
            occurred_at=datetime(2025, 1, 1),
        )
