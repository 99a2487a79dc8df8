"""Given an imported client → the import notice it gets, with no broker."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import SendKind
from streams.reminders import request_id_for, request_import_notice
from tests.factories import client_imported

NOW = datetime(2026, 11, 22, 12, 30, tzinfo=UTC)


def test_notice_is_addressed_to_the_client_in_portuguese() -> None:
    client = client_imported("acme", 0)
    request = request_import_notice(client, now=NOW)
    assert request.phone_e164 == client.phone_e164
    assert request.kind is SendKind.TEXT
    assert request.text is not None
    assert request.text.startswith("Olá, Maria!")
    assert "a fatura F-0" in request.text
    assert "R$ 1.234,56" in request.text
    assert "05/12/2026" in request.text


def test_notice_is_traced_to_its_cause() -> None:
    client = client_imported("acme", 3)
    request = request_import_notice(client, now=NOW)
    assert request.header.tenant_id == "acme"
    assert request.header.causation_id == client.header.event_id
    assert request.header.correlation_id == client.header.correlation_id
    assert request.header.occurred_at == NOW


def test_replaying_the_same_row_derives_the_same_request_and_event_ids() -> None:
    client = client_imported("acme", 5)
    first = request_import_notice(client, now=NOW)
    again = request_import_notice(client, now=NOW)
    assert first.request_id == again.request_id == request_id_for(client)
    assert first.header.event_id == again.header.event_id


def test_request_ids_differ_per_tenant_client_and_import() -> None:
    ids = {
        request_id_for(client_imported("acme", 1)),
        request_id_for(client_imported("other", 1)),
        request_id_for(client_imported("acme", 2)),
        request_id_for(client_imported("acme", 1, import_id="imp-2")),
    }
    assert len(ids) == 4
