"""The Confluent wire format: every event round-trips; bad bytes and bad events fail clearly."""

from __future__ import annotations

import copy
import datetime as dt
import io
import struct
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import FAUST_KEY, AvroCodec, Undecodable, decode, encode
from schemas.errors import UndecodableEvent, UnencodableEvent
from schemas.events import EVENT_TYPES
from schemas.registry import RegisteredSchema, default_registry
from tests.factories import client_imported
from tests.unit.schemas.avro_data import avro_datums, event_datums, wire_bytes

REGISTRY = default_registry()
SUBJECTS = REGISTRY.subjects()
CLIENT_IMPORTED = "cobranca.events.ClientImported"
EXAMPLES_PER_EVENT = settings(max_examples=30, deadline=None)


def latest(subject: str) -> RegisteredSchema:
    registered = REGISTRY.latest(subject)
    assert registered is not None, f"{subject} is not pinned"
    return registered


def prefix(schema_id: int) -> bytes:
    return struct.pack(">bI", 0, schema_id)


def a_client_imported() -> dict[str, Any]:
    """A valid ClientImported as a plain dict, the way `decode` returns it (minus the namespace)."""
    event = decode(encode(client_imported("t1", 7).to_representation()))
    del event[FAUST_KEY]
    return event


def without_logical_types(schema: Any) -> Any:
    """The schema with every logicalType dropped: a writer that can put any int in a date."""
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(item) for item in schema]
    return schema


# --- round trips ---------------------------------------------------------------------------


def test_every_event_type_is_pinned() -> None:
    assert set(SUBJECTS) == {f"cobranca.events.{name}" for name in EVENT_TYPES}


@pytest.mark.parametrize("subject", SUBJECTS)
@EXAMPLES_PER_EVENT
@given(data=st.data())
def test_every_event_round_trips_through_the_wire_format(subject: str, data: st.DataObject) -> None:
    # given any valid event of the latest version
    registered = latest(subject)
    event = data.draw(event_datums(registered), label="event")

    # when it is encoded and decoded
    wire = encode(event)
    decoded = decode(wire)

    # then the bytes carry the pinned id and the event comes back unchanged, with its namespace
    assert wire[:5] == prefix(registered.schema_id)
    assert decoded == {**event, FAUST_KEY: {"ns": subject}}


@pytest.mark.parametrize("subject", SUBJECTS)
@EXAMPLES_PER_EVENT
@given(data=st.data())
def test_every_typed_record_encodes_to_the_same_bytes(subject: str, data: st.DataObject) -> None:
    # given the bytes of any valid event
    wire = encode(data.draw(event_datums(latest(subject)), label="event"))

    # when a consumer rebuilds the typed record and a producer encodes it again
    record = EVENT_TYPES[subject.rpartition(".")[2]].from_data(decode(wire))
    again = encode(record.to_representation())

    # then nothing was lost or changed on the way
    assert again == wire


def test_the_faust_codec_is_the_wire_format() -> None:
    record = client_imported("t1", 3)

    wire = AvroCodec().dumps(record.to_representation())

    assert wire == encode(record.to_representation())
    assert AvroCodec().loads(wire) == decode(wire)


# --- undecodable bytes ---------------------------------------------------------------------


def valid_wire() -> bytes:
    return encode(a_client_imported())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "0 bytes is shorter than the 5-byte wire-format prefix"),
        (b"\x00\x00\x00", "3 bytes is shorter than the 5-byte wire-format prefix"),
        (b"\x01" + valid_wire()[1:], "magic byte is 1, expected 0"),
        (b'{"json": true}', "magic byte is 123, expected 0"),
        (valid_wire()[:-1], "Avro body does not match cobranca.events.ClientImported v2"),
        (valid_wire()[:5], "Avro body does not match cobranca.events.ClientImported v2"),
        (valid_wire() + b"\x00\xff", "2 trailing bytes after the cobranca.events.ClientImported"),
    ],
    ids=["empty", "3-bytes", "magic-1", "json", "truncated", "prefix-only", "trailing"],
)
def test_undecodable_bytes_say_what_is_wrong(data: bytes, reason: str) -> None:
    with pytest.raises(UndecodableEvent) as caught:
        decode(data)

    assert reason in caught.value.reason
    assert reason in str(caught.value)


def test_an_unknown_schema_id_is_named() -> None:
    # given bytes written under an id this registry never pinned
    data = prefix(987_654) + valid_wire()[5:]

    # when they are decoded
    with pytest.raises(UndecodableEvent) as caught:
        decode(data)

    # then the error carries the id
    assert caught.value.schema_id == 987_654
    assert "schema id 987654" in str(caught.value)
    assert "not pinned in schemas/registry.json" in str(caught.value)


def test_the_position_is_added_where_it_is_known() -> None:
    # given an error from a body that does not match its schema
    with pytest.raises(UndecodableEvent) as caught:
        decode(valid_wire()[:-1])
    schema_id = latest(CLIENT_IMPORTED).schema_id

    # when the consumer locates it
    located = caught.value.at("cobranca.clients", 2, 41)

    # then the message names the record, the schema and the cause
    message = str(located)
    assert "cobranca.clients[2]@41" in message
    assert f"schema id {schema_id}" in message
    assert caught.value.reason in message
    assert (located.topic, located.partition, located.offset) == ("cobranca.clients", 2, 41)
    assert located.schema_id == schema_id


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("due_date",), 2**31 - 1),  # day 2147483647 is far past 9999-12-31
        (("due_date",), -(2**31)),
        (("header", "occurred_at"), 2**63 - 1),
        (("header", "occurred_at"), -(2**63)),
    ],
    ids=["date-max", "date-min", "timestamp-max", "timestamp-min"],
)
def test_a_logical_value_python_cannot_hold_is_undecodable(
    path: tuple[str, ...], value: int
) -> None:
    # given a producer (say, in Java) that wrote a valid int or long Python has no date for
    registered = latest(CLIENT_IMPORTED)
    event = a_client_imported()
    event["header"]["occurred_at"] = 0
    event["due_date"] = 0
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    writer = fastavro.parse_schema(without_logical_types(copy.deepcopy(registered.schema)))
    data = wire_bytes(registered.schema_id, writer, event)

    # when it is decoded, then it is an UndecodableEvent (dead-lettered), not a crash
    with pytest.raises(UndecodableEvent) as caught:
        decode(data)
    assert "does not match cobranca.events.ClientImported v2" in caught.value.reason


@st.composite
def damaged_wire(draw: st.DrawFn) -> bytes:
    """Valid bytes of any event with a slice of the body replaced by random bytes."""
    subject = draw(st.sampled_from(SUBJECTS))
    wire = encode(draw(event_datums(latest(subject))))
    start = draw(st.integers(5, len(wire)))
    end = draw(st.integers(start, min(len(wire), start + 8)))
    return wire[:start] + draw(st.binary(max_size=8)) + wire[end:]


def known_prefix_then_noise() -> st.SearchStrategy[bytes]:
    ids = st.sampled_from([latest(subject).schema_id for subject in SUBJECTS])
    return st.builds(lambda schema_id, body: prefix(schema_id) + body, ids, st.binary())


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(st.binary(), known_prefix_then_noise(), damaged_wire()))
def test_any_bytes_decode_to_an_event_or_an_undecodable_event(data: bytes) -> None:
    try:
        decoded = decode(data)
    except UndecodableEvent as exc:
        assert exc.reason
    else:
        assert isinstance(decoded, dict)
        assert decoded[FAUST_KEY]["ns"] in SUBJECTS


@pytest.mark.parametrize(
    "data",
    [b"", b"\x07garbage", prefix(987_654) + b"\x00", valid_wire()[:-1]],
    ids=["empty", "magic", "unknown-id", "truncated"],
)
def test_the_faust_codec_returns_a_marker_instead_of_raising(data: bytes) -> None:
    # given the error decode would raise
    with pytest.raises(UndecodableEvent) as caught:
        decode(data)

    # when Faust's codec loads the same bytes
    marker = AvroCodec().loads(data)

    # then it returns the Undecodable record's data, carrying the bytes and the reason
    assert marker[FAUST_KEY] == {"ns": "cobranca.Undecodable"}
    assert marker["data"] == data
    assert marker["reason"] == caught.value.reason
    assert marker["schema_id"] == caught.value.schema_id
    undecodable = Undecodable.from_data(marker)
    assert (undecodable.data, undecodable.reason) == (data, caught.value.reason)


# --- unencodable events --------------------------------------------------------------------


def set_path(event: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for key in parents:
        event = event[key]
    event[last] = value


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("header.occurred_at", dt.datetime(2026, 11, 20, 13, 0), "naive datetime"),
        ("row", "7", "row"),
        ("row", 7.5, "row"),
        ("row", True, "row"),
        ("row", 2**63, "row"),
        ("header.schema_version", 2**31, "schema_version"),
        ("name", 7, "name"),
        ("name", None, "name"),
        ("invoice_id", b"F-1", "invoice_id"),
        ("document_kind", "RG", "RG"),
        ("header", {"event_type": "ClientImported"}, "event_id"),
    ],
    ids=[
        "naive-datetime",
        "string-for-long",
        "float-for-long",
        "bool-for-long",
        "long-overflow",
        "int-overflow",
        "int-for-string",
        "null-for-string",
        "bytes-for-nullable-string",
        "unknown-enum-symbol",
        "incomplete-header",
    ],
)
def test_an_event_that_does_not_match_its_schema_is_unencodable(
    path: str, value: Any, expected: str
) -> None:
    # given a ClientImported with one wrong value
    event = a_client_imported()
    set_path(event, path, value)

    # when it is encoded, then the error names the subject and what is wrong
    with pytest.raises(UnencodableEvent) as caught:
        encode(event)
    assert CLIENT_IMPORTED in str(caught.value)
    assert expected in str(caught.value)


@pytest.mark.parametrize("missing", ["name", "amount_centavos", "due_date"])
def test_a_missing_required_field_is_unencodable(missing: str) -> None:
    event = a_client_imported()
    del event[missing]

    with pytest.raises(UnencodableEvent) as caught:
        encode(event)

    assert CLIENT_IMPORTED in str(caught.value)
    assert missing in str(caught.value)


def test_a_missing_optional_field_takes_its_default() -> None:
    event = a_client_imported()
    del event["invoice_id"]

    assert decode(encode(event))["invoice_id"] is None


def test_a_field_the_schema_does_not_have_is_unencodable() -> None:
    event = {**a_client_imported(), "segment": "varejo"}

    with pytest.raises(UnencodableEvent, match="segment"):
        encode(event)


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (
            {"header": {"event_type": "NoSuchEvent"}},
            "no schema is pinned for 'cobranca.events.NoSuchEvent'",
        ),
        ({"header": None}, "needs header.event_type"),
        ({"import_id": "imp-1"}, "needs header.event_type"),
    ],
    ids=["unknown-type", "null-header", "no-header"],
)
def test_an_event_without_a_known_type_is_unencodable(event: dict[str, Any], expected: str) -> None:
    with pytest.raises(UnencodableEvent) as caught:
        encode(event)
    assert expected in str(caught.value)


# --- the datum strategy itself -------------------------------------------------------------

EVERY_TYPE = {
    "type": "record",
    "name": "EveryType",
    "namespace": "test",
    "fields": [
        {"name": name, "type": type_}
        for name, type_ in [
            ("null", "null"),
            ("boolean", "boolean"),
            ("int", "int"),
            ("long", "long"),
            ("float", "float"),
            ("double", "double"),
            ("bytes", "bytes"),
            ("string", "string"),
            ("fixed", {"type": "fixed", "name": "Four", "size": 4}),
            ("fixed_again", "Four"),
            ("enum", {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN"]}),
            ("array", {"type": "array", "items": "test.Color"}),
            ("map", {"type": "map", "values": ["null", "long"]}),
            ("date", {"type": "int", "logicalType": "date"}),
            ("timestamp_millis", {"type": "long", "logicalType": "timestamp-millis"}),
            ("timestamp_micros", {"type": "long", "logicalType": "timestamp-micros"}),
            ("local_millis", {"type": "long", "logicalType": "local-timestamp-millis"}),
            ("time_millis", {"type": "int", "logicalType": "time-millis"}),
            ("time_micros", {"type": "long", "logicalType": "time-micros"}),
            ("uuid", {"type": "string", "logicalType": "uuid"}),
            ("decimal", {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}),
            ("unknown_logical", {"type": "string", "logicalType": "cpf"}),
            (
                "nested",
                {
                    "type": "record",
                    "name": "Node",
                    "namespace": "other",
                    "fields": [
                        {"name": "next", "type": ["null", "Node"]},
                        {"name": "color", "type": "test.Color"},
                    ],
                },
            ),
            ("union", ["null", "string", "other.Node"]),
            ("recursive", ["null", "EveryType"]),
        ]
    ],
}


@settings(max_examples=100, deadline=None)
@given(datum=avro_datums(EVERY_TYPE))
def test_generated_datums_of_every_avro_type_round_trip_through_fastavro(datum: Any) -> None:
    parsed = fastavro.parse_schema(copy.deepcopy(EVERY_TYPE))

    body = io.BytesIO(wire_bytes(1, parsed, datum)[5:])
    assert fastavro.schemaless_reader(body, parsed, parsed) == datum
