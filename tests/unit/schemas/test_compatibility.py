"""Avro schema resolution as a compatibility check: what a reader can read of a writer's data."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import fastavro
import fastavro.schema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import events
from schemas.compatibility import check_backward, check_backward_transitive

AVRO_DIR = Path(events.__file__).parent / "avro"
EVENT_FILES = sorted(AVRO_DIR.glob("*.avsc"))


def record(*fields: dict[str, Any], name: str = "Rec", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "test", "fields": list(fields), **extra}


def field(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def enum(*symbols: str, **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "Color", "symbols": list(symbols), **extra}


def load(path: Path) -> dict[str, Any]:
    schema = fastavro.schema.load_schema(str(path))
    assert isinstance(schema, dict)
    return schema


def read_with_fastavro(writer: Any, reader: Any, datum: Any) -> Any:
    """What fastavro itself makes of `datum` written with `writer` and read with `reader`."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(copy.deepcopy(writer)), datum)
    out.seek(0)
    return fastavro.schemaless_reader(
        out,
        fastavro.parse_schema(copy.deepcopy(writer)),
        fastavro.parse_schema(copy.deepcopy(reader)),
    )


# --- compatible changes --------------------------------------------------------------------

# (description, writer, reader, a datum the writer can write)
COMPATIBLE = [
    (
        "identical",
        record(field("a", "string"), field("b", "long")),
        record(field("a", "string"), field("b", "long")),
        {"a": "x", "b": 1},
    ),
    (
        "reader adds a nullable field with default null",
        record(field("a", "string")),
        record(field("a", "string"), field("b", ["null", "string"], default=None)),
        {"a": "x"},
    ),
    (
        "reader adds a field with a non-null default",
        record(field("a", "string")),
        record(field("a", "string"), field("recipients", "int", default=1)),
        {"a": "x"},
    ),
    (
        "reader adds a record field with a default",
        record(field("a", "string")),
        record(
            field("a", "string"),
            field(
                "p",
                record(field("x", "int"), field("y", "int"), name="P"),
                default={"x": 1, "y": 2},
            ),
        ),
        {"a": "x"},
    ),
    (
        "reader drops a field",
        record(field("a", "string"), field("gone", "long")),
        record(field("a", "string")),
        {"a": "x", "gone": 5},
    ),
    (
        "reader renames a field with an alias",
        record(field("amount", "long")),
        record(field("amount_centavos", "long", aliases=["amount"])),
        {"amount": 100},
    ),
    (
        "reader renames the record with an alias",
        record(field("a", "int"), name="Old"),
        record(field("a", "int"), name="New", aliases=["Old"]),
        {"a": 1},
    ),
    ("int read as long", record(field("n", "int")), record(field("n", "long")), {"n": 7}),
    ("int read as float", record(field("n", "int")), record(field("n", "float")), {"n": 7}),
    ("int read as double", record(field("n", "int")), record(field("n", "double")), {"n": 7}),
    ("long read as double", record(field("n", "long")), record(field("n", "double")), {"n": 7}),
    ("float read as double", record(field("n", "float")), record(field("n", "double")), {"n": 0.5}),
    ("string read as bytes", record(field("s", "string")), record(field("s", "bytes")), {"s": "x"}),
    (
        "bytes read as string",
        record(field("s", "bytes")),
        record(field("s", "string")),
        {"s": b"x"},
    ),
    (
        "reader enum gains a symbol",
        record(field("c", enum("RED", "GREEN"))),
        record(field("c", enum("RED", "GREEN", "BLUE"))),
        {"c": "GREEN"},
    ),
    (
        "reader enum lacks a writer symbol but has a default",
        record(field("c", enum("RED", "GREEN", "BLUE"))),
        record(field("c", enum("RED", "OTHER", default="OTHER"))),
        {"c": "BLUE"},
    ),
    (
        "field becomes nullable",
        record(field("s", "string")),
        record(field("s", ["null", "string"], default=None)),
        {"s": "x"},
    ),
    (
        "union branches promoted",
        record(field("n", ["null", "int"], default=None)),
        record(field("n", ["null", "long"], default=None)),
        {"n": 3},
    ),
    (
        "union branches reordered and extended",
        record(field("v", ["null", "string", "int"], default=None)),
        record(field("v", ["int", "null", "string", "boolean"], default=1)),
        {"v": "x"},
    ),
    (
        "array items promoted",
        record(field("xs", {"type": "array", "items": "int"})),
        record(field("xs", {"type": "array", "items": "long"})),
        {"xs": [1, 2]},
    ),
    (
        "map values promoted",
        record(field("m", {"type": "map", "values": "int"})),
        record(field("m", {"type": "map", "values": "long"})),
        {"m": {"a": 1}},
    ),
    (
        "fixed of the same size and name",
        record(field("f", {"type": "fixed", "name": "Md5", "size": 16})),
        record(field("f", {"type": "fixed", "name": "Md5", "size": 16})),
        {"f": b"0123456789abcdef"},
    ),
    (
        "logical types resolve by their underlying type",
        record(
            field("at", {"type": "long", "logicalType": "timestamp-millis"}),
            field("day", {"type": "int", "logicalType": "date"}),
        ),
        record(field("at", "long"), field("day", "int")),
        {"at": 1_700_000_000_000, "day": 20_000},
    ),
    (
        "named type referenced twice",
        record(field("a", enum("X", "Y")), field("b", "test.Color")),
        record(field("a", enum("X", "Y", "Z")), field("b", "Color")),
        {"a": "X", "b": "Y"},
    ),
]


@pytest.mark.parametrize(
    ("writer", "reader", "datum"),
    [case[1:] for case in COMPATIBLE],
    ids=[case[0] for case in COMPATIBLE],
)
def test_compatible_changes_have_no_problems(writer: Any, reader: Any, datum: Any) -> None:
    assert check_backward(reader, writer) == []
    # The checker agrees with fastavro, which reads the datum without error.
    read_with_fastavro(writer, reader, datum)


@pytest.mark.parametrize(
    ("writer", "reader"),
    [case[1:3] for case in COMPATIBLE],
    ids=[case[0] for case in COMPATIBLE],
)
def test_fastavro_parsed_form_gives_the_same_verdict(writer: Any, reader: Any) -> None:
    parsed_reader = fastavro.parse_schema(copy.deepcopy(reader))
    parsed_writer = fastavro.parse_schema(copy.deepcopy(writer))

    assert check_backward(parsed_reader, parsed_writer) == []


@pytest.mark.parametrize("path", EVENT_FILES, ids=lambda p: p.stem)
def test_every_current_schema_reads_its_own_data(path: Path) -> None:
    assert check_backward(load(path), load(path)) == []


def test_recursive_schemas_terminate() -> None:
    node = record(
        field("value", "long"), field("next", ["null", "test.Node"], default=None), name="Node"
    )
    wider = record(
        field("value", "long"),
        field("next", ["null", "test.Node"], default=None),
        field("label", ["null", "string"], default=None),
        name="Node",
    )

    assert check_backward(node, node) == []
    assert check_backward(wider, node) == []


# --- incompatible changes ------------------------------------------------------------------

INCOMPATIBLE = [
    (
        "reader adds a field without default",
        record(field("a", "string")),
        record(field("a", "string"), field("b", "string")),
        ["Rec.b: the reader field is not in the writer and has no default"],
    ),
    (
        "reader adds a field whose default does not fit its first union branch",
        record(field("a", "string")),
        record(field("a", "string"), field("b", ["string", "null"], default=None)),
        [
            "Rec.b: the reader field is not in the writer and its default None is not a valid "
            '["string", "null"]'
        ],
    ),
    (
        "string read as int",
        record(field("n", "string")),
        record(field("n", "int")),
        ['Rec.n: writer type "string" cannot be read as "int"'],
    ),
    (
        "long narrowed to int",
        record(field("n", "long")),
        record(field("n", "int")),
        ['Rec.n: writer type "long" cannot be read as "int"'],
    ),
    (
        "double narrowed to float",
        record(field("n", "double")),
        record(field("n", "float")),
        ['Rec.n: writer type "double" cannot be read as "float"'],
    ),
    (
        "enum symbol removed and no reader default",
        record(field("c", enum("RED", "GREEN", "BLUE"))),
        record(field("c", enum("RED", "GREEN"))),
        [
            'Rec.c: writer enum "test.Color" symbols "BLUE" are not in reader enum "test.Color", '
            "which has no default symbol"
        ],
    ),
    (
        "field changed to a union without its type",
        record(field("s", "string")),
        record(field("s", ["null", "long"], default=None)),
        ['Rec.s: writer type "string" matches no branch of reader union ["null", "long"]'],
    ),
    (
        "nullable field made required",
        record(field("s", ["null", "string"], default=None)),
        record(field("s", "string")),
        ['Rec.s: writer union branch "null" cannot be read as "string"'],
    ),
    (
        "union loses a branch",
        record(field("v", ["null", "string", "boolean"], default=None)),
        record(field("v", ["null", "string"], default=None)),
        [
            'Rec.v: writer union branch "boolean" matches no branch of reader union '
            '["null", "string"]'
        ],
    ),
    (
        "fixed changes size",
        record(field("f", {"type": "fixed", "name": "Hash", "size": 16})),
        record(field("f", {"type": "fixed", "name": "Hash", "size": 32})),
        ['Rec.f: writer fixed "test.Hash" has size 16, reader fixed "test.Hash" has size 32'],
    ),
    (
        "record renamed without an alias",
        record(field("p", record(field("x", "int"), name="Point"))),
        record(field("p", record(field("x", "int"), name="Location"))),
        [
            'Rec.p: writer record "test.Point" cannot be read as record "test.Location": the names '
            "differ and no reader alias names the writer's"
        ],
    ),
    (
        "array items narrowed",
        record(field("xs", {"type": "array", "items": "string"})),
        record(field("xs", {"type": "array", "items": "int"})),
        ['Rec.xs[]: writer type "string" cannot be read as "int"'],
    ),
    (
        "map values narrowed",
        record(field("m", {"type": "map", "values": "long"})),
        record(field("m", {"type": "map", "values": "int"})),
        ['Rec.m{}: writer type "long" cannot be read as "int"'],
    ),
    (
        "array read as map",
        record(field("xs", {"type": "array", "items": "string"})),
        record(field("xs", {"type": "map", "values": "string"})),
        ['Rec.xs: writer type array<"string"> cannot be read as map<"string">'],
    ),
    (
        "nested record gains a field without default",
        record(field("p", record(field("x", "int"), name="Point"))),
        record(field("p", record(field("x", "int"), field("y", "int"), name="Point"))),
        ["Rec.p.y: the reader field is not in the writer and has no default"],
    ),
]


@pytest.mark.parametrize(
    ("writer", "reader", "expected"),
    [case[1:] for case in INCOMPATIBLE],
    ids=[case[0] for case in INCOMPATIBLE],
)
def test_incompatible_changes_are_reported_with_a_path(
    writer: Any, reader: Any, expected: list[str]
) -> None:
    assert check_backward(reader, writer) == expected


def test_every_problem_is_reported_not_just_the_first() -> None:
    writer = record(field("a", "string"), field("n", "long"))
    reader = record(field("a", "int"), field("n", "int"), field("new", "string"))

    assert len(check_backward(reader, writer)) == 3


def test_an_unknown_named_reference_is_a_problem_not_a_crash() -> None:
    # An event schema read as raw JSON, without the EventHeader file it names.
    raw = json.loads((AVRO_DIR / "cobranca.events.BalanceLow.avsc").read_text(encoding="utf-8"))

    problems = check_backward(raw, raw)

    assert problems == [
        'BalanceLow.header: unknown type "cobranca.events.EventHeader" in the reader schema; '
        "load the schema with fastavro.schema.load_schema so named references are expanded",
        'BalanceLow.header: unknown type "cobranca.events.EventHeader" in the writer schema; '
        "load the schema with fastavro.schema.load_schema so named references are expanded",
    ]


# --- the event schemas evolving ------------------------------------------------------------


def client_imported() -> dict[str, Any]:
    return load(AVRO_DIR / "cobranca.events.ClientImported.avsc")


def test_client_imported_can_gain_an_optional_field() -> None:
    v2 = client_imported()
    v2["fields"].append(
        {"name": "installment", "type": ["null", "int"], "default": None, "doc": "d"}
    )

    assert check_backward(v2, client_imported()) == []


def test_client_imported_amount_cannot_have_been_written_as_a_string() -> None:
    old = client_imported()
    amount = next(f for f in old["fields"] if f["name"] == "amount_centavos")
    amount["type"] = "string"

    assert check_backward(client_imported(), old) == [
        'ClientImported.amount_centavos: writer type "string" cannot be read as "long"'
    ]


def test_header_changes_are_reported_under_the_header_path() -> None:
    v2 = client_imported()
    v2["fields"][0]["type"]["fields"].append({"name": "trace_id", "type": "string"})

    assert check_backward(v2, client_imported()) == [
        "ClientImported.header.trace_id: the reader field is not in the writer and has no default"
    ]


def test_send_rejected_readers_see_unknown_reasons_as_other() -> None:
    reader = load(AVRO_DIR / "cobranca.events.SendRejected.avsc")
    writer = copy.deepcopy(reader)
    writer["fields"][2]["type"]["symbols"].append("blocked_by_whatsapp")

    assert check_backward(reader, writer) == []


def test_transitive_check_prefixes_the_writer_that_breaks() -> None:
    v1 = record(field("a", "string"))
    v2 = record(field("a", "string"), field("b", "int", default=0))
    v3 = record(field("a", "string"), field("b", "int"))

    assert check_backward_transitive(v2, [v1]) == []
    assert check_backward_transitive(v3, [v1, v2]) == [
        "writer 1 of 2: Rec.b: the reader field is not in the writer and has no default"
    ]


def test_transitive_check_of_no_writers_is_empty() -> None:
    assert check_backward_transitive(record(field("a", "string")), []) == []


# --- properties ----------------------------------------------------------------------------

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
LOGICAL = [
    {"type": "long", "logicalType": "timestamp-millis"},
    {"type": "int", "logicalType": "date"},
]
SYMBOLS = st.lists(st.sampled_from(["A", "B", "C", "D", "E"]), min_size=1, max_size=5, unique=True)


def _complex(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    not_union = children.filter(lambda c: not isinstance(c, list))
    return st.one_of(
        st.builds(lambda items: {"type": "array", "items": items}, children),
        st.builds(lambda values: {"type": "map", "values": values}, children),
        st.builds(
            lambda types: {
                "type": "record",
                "name": "?",
                "fields": [{"name": f"f{i}", "type": t} for i, t in enumerate(types)],
            },
            st.lists(children, max_size=4),
        ),
        st.builds(lambda symbols: {"type": "enum", "name": "?", "symbols": symbols}, SYMBOLS),
        st.builds(lambda size: {"type": "fixed", "name": "?", "size": size}, st.integers(1, 16)),
        st.builds(
            lambda branches, extra: branches + extra,
            st.lists(st.sampled_from(PRIMITIVES), min_size=1, max_size=4, unique=True),
            st.lists(not_union, max_size=1),
        ),
    )


def _name_types(schema: Any, counter: list[int]) -> Any:
    """Give every named type a unique name (generated schemas all say "?")."""
    if isinstance(schema, list):
        return [_name_types(branch, counter) for branch in schema]
    if not isinstance(schema, dict):
        return schema
    named = dict(schema)
    if named.get("name") == "?":
        counter[0] += 1
        named["name"] = f"T{counter[0]}"
    if "fields" in named:
        named["fields"] = [f | {"type": _name_types(f["type"], counter)} for f in named["fields"]]
    for key in ("items", "values"):
        if key in named:
            named[key] = _name_types(named[key], counter)
    return named


field_types = st.recursive(
    st.sampled_from(PRIMITIVES) | st.sampled_from(LOGICAL), _complex, max_leaves=8
)
schemas = st.lists(field_types, min_size=1, max_size=5).map(
    lambda types: _name_types(
        {
            "type": "record",
            "name": "Root",
            "namespace": "prop",
            "fields": [{"name": f"f{i}", "type": t} for i, t in enumerate(types)],
        },
        [0],
    )
)


@settings(max_examples=200, deadline=None)
@given(schemas)
def test_any_schema_reads_its_own_data(schema: dict[str, Any]) -> None:
    parsed = fastavro.parse_schema(copy.deepcopy(schema))

    assert check_backward(schema, schema) == []
    assert check_backward(parsed, parsed) == []


@settings(max_examples=100, deadline=None)
@given(schemas, field_types)
def test_adding_a_nullable_field_keeps_compatibility_and_dropping_it_too(
    schema: dict[str, Any], new_type: Any
) -> None:
    branches = [b for b in (new_type if isinstance(new_type, list) else [new_type]) if b != "null"]
    wider = copy.deepcopy(schema)
    wider["fields"].append(
        {"name": "added", "type": _name_types(["null", *branches], [100]), "default": None}
    )

    assert check_backward(wider, schema) == []
    assert check_backward(schema, wider) == []


@settings(max_examples=100, deadline=None)
@given(schemas, field_types)
def test_adding_a_field_without_default_is_exactly_one_problem(
    schema: dict[str, Any], new_type: Any
) -> None:
    wider = copy.deepcopy(schema)
    wider["fields"].append({"name": "added", "type": _name_types(new_type, [100])})

    assert check_backward(wider, schema) == [
        "Root.added: the reader field is not in the writer and has no default"
    ]
