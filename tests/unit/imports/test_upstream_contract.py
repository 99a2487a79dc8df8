"""The contract for upstream producers is enough: bytes written from the `.avsc` files and the
pinned id alone are the bytes cobranca writes, and cobranca decodes them into a ClientImported."""

from __future__ import annotations

from datetime import date

from schemas.codec import decode, encode
from schemas.events import EVENT_TYPES, ClientImported
from streams.base.topics import CLIENTS, topic_for_event
from tests.upstream_producer import TOPIC, client_imported_schema, key_of, upstream_client, wire


def test_upstream_bytes_are_cobrancas_bytes() -> None:
    schema_id, schema = client_imported_schema()
    record = upstream_client("acme", "erp-2026-12-04", 7, due=date(2026, 12, 5))
    data = wire(schema_id, schema, record)
    assert data == encode(record)
    decoded = decode(data)
    event = EVENT_TYPES["ClientImported"].from_data(decoded)
    assert isinstance(event, ClientImported)
    assert event.client_id == "erp-00007" and event.header.tenant_id == "acme"
    assert event.due_date == date(2026, 12, 5)


def test_the_topic_and_key_are_the_catalogues() -> None:
    assert TOPIC == CLIENTS.name == topic_for_event("ClientImported").name
    assert CLIENTS.key == "tenant_id:client_id"
    record = upstream_client("acme", "b", 0, due=date(2026, 12, 5))
    assert key_of(record) == b"acme:erp-00000"
