"""The compiled writer behind `codec.encode` writes fastavro's bytes, or steps aside.

Whatever it accepts must come out byte for byte as fastavro's `schemaless_writer` writes it; what
it does not accept (`Fallback`) goes through fastavro's validation and writer unchanged, so the
codec's errors stay as `test_codec` pins them.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.codec import _plain
from schemas.fast_writer import Fallback, compile_writer
from schemas.registry import RegisteredSchema, default_registry
from tests.factories import client_imported
from tests.unit.schemas.avro_data import event_datums

REGISTRY = default_registry()
SUBJECTS = REGISTRY.subjects()


def latest(subject: str) -> RegisteredSchema:
    registered = REGISTRY.latest(subject)
    assert registered is not None
    return registered


def fastavro_bytes(registered: RegisteredSchema, datum: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, registered.parsed, datum, strict_allow_default=True)
    return out.getvalue()


@pytest.mark.parametrize("subject", SUBJECTS)
def test_every_pinned_schema_compiles(subject: str) -> None:
    assert compile_writer(latest(subject).parsed) is not None


@pytest.mark.parametrize("subject", SUBJECTS)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_what_it_writes_is_what_fastavro_writes(subject: str, data: st.DataObject) -> None:
    registered = latest(subject)
    writer = compile_writer(registered.parsed)
    assert writer is not None
    datum = data.draw(event_datums(registered), label="event")
    out = bytearray()
    try:
        writer(out, datum)
    except Fallback:
        return  # fastavro's path: test_codec covers it
    assert bytes(out) == fastavro_bytes(registered, datum)


def test_an_import_row_takes_the_fast_path() -> None:
    registered = latest("cobranca.events.ClientImported")
    writer = compile_writer(registered.parsed)
    assert writer is not None
    datum = _plain(client_imported("acme", 3).to_representation())
    out = bytearray()
    writer(out, datum)  # no Fallback
    assert bytes(out) == fastavro_bytes(registered, datum)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("row", True),  # bool is an int to Python, not to Avro
        ("row", 7.0),
        ("row", 2**63),
        ("name", b"bytes"),
        ("document_kind", "RG"),
        ("due_date", dt.datetime(2026, 12, 5, tzinfo=dt.UTC)),
        ("invoice_id", 3),
        ("header.occurred_at", dt.datetime(2026, 12, 5)),  # naive
        ("header.occurred_at", "2026-12-05T00:00:00Z"),
    ],
)
def test_anything_but_the_exact_case_falls_back(path: str, value: Any) -> None:
    registered = latest("cobranca.events.ClientImported")
    writer = compile_writer(registered.parsed)
    assert writer is not None
    datum = _plain(client_imported("acme", 3).to_representation())
    target = datum
    *parents, last = path.split(".")
    for part in parents:
        target = target[part]
    target[last] = value
    with pytest.raises(Fallback):
        writer(bytearray(), datum)


def test_a_missing_or_extra_field_falls_back() -> None:
    registered = latest("cobranca.events.ClientImported")
    writer = compile_writer(registered.parsed)
    assert writer is not None
    datum = _plain(client_imported("acme", 3).to_representation())
    with pytest.raises(Fallback):
        writer(bytearray(), {**datum, "segment": "varejo"})
    del datum["invoice_id"]  # has a default: fastavro fills it in
    with pytest.raises(Fallback):
        writer(bytearray(), datum)


def test_unsupported_schemas_get_no_writer() -> None:
    two_types = fastavro.parse_schema(
        {
            "type": "record",
            "name": "X",
            "fields": [{"name": "a", "type": ["null", "int", "string"]}],
        }
    )
    assert compile_writer(two_types) is None


def test_a_record_and_its_representation_are_written_without_conversion() -> None:
    registered = latest("cobranca.events.ClientImported")
    writer = compile_writer(registered.parsed)
    assert writer is not None
    record = client_imported("acme", 3)
    expected = fastavro_bytes(registered, _plain(record.to_representation()))
    for datum in (record, record.to_representation()):
        out = bytearray()
        writer(out, datum)
        assert bytes(out) == expected
