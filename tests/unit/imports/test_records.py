"""The records an import writes are the codec's bytes for the events the importer means."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.imports.formats import RowSource
from connectors.imports.importer import import_rows
from connectors.imports.records import SOURCE, ImportRecords, event_id
from connectors.imports.validation import ClientFields, Reason, Rejection, RowValidator
from schemas.binary import epoch_millis
from schemas.codec import encode
from schemas.errors import UnencodableEvent
from schemas.events import ClientImported, DocumentKind, EventHeader, ImportRejected, new_header
from tests.unit.imports.sample import MIXED

NOW = datetime(2026, 11, 20, 13, 0, 7, 123456, tzinfo=UTC)


def header(event_type: str, tenant: str, import_id: str, row: int) -> EventHeader:
    return new_header(
        event_type,
        tenant_id=tenant,
        correlation_id=import_id,
        causation_id=None,
        source=SOURCE,
        occurred_at=NOW,
        event_id=event_id(f"{tenant}|{import_id}|{row}"),
    )


def client_imported(fields: ClientFields, tenant: str, import_id: str) -> ClientImported:
    return ClientImported(
        header=header("ClientImported", tenant, import_id, fields.row),
        import_id=import_id,
        row=fields.row,
        client_id=fields.client_id,
        name=fields.name,
        phone_e164=fields.phone_e164,
        document=fields.document,
        document_kind=DocumentKind(fields.document_kind) if fields.document_kind else None,
        amount_centavos=fields.amount_centavos,
        due_date=fields.due_date,
        invoice_id=fields.invoice_id,
        description=fields.description,
        email=fields.email,
        uf=fields.uf,
        pix_code=fields.pix_code,
        boleto_line=fields.boleto_line,
        payment_url=fields.payment_url,
    )


def import_rejected(rejection: Rejection, raw: str, tenant: str, import_id: str) -> ImportRejected:
    return ImportRejected(
        header=header("ImportRejected", tenant, import_id, rejection.row),
        import_id=import_id,
        row=rejection.row,
        reason=rejection.reason.value,
        message=rejection.message,
        field=rejection.field,
        raw_row=raw.rstrip("\r\n") or None,
    )


def test_every_row_of_the_sample_is_the_codecs_bytes_with_its_key() -> None:
    run = import_rows(
        io.BytesIO(MIXED.encode()), tenant_id="acme", import_id="imp-1", clock=lambda: NOW
    )
    records = list(run.records())
    # What the importer meant, row by row: each row validated alone, in order.
    source = RowSource(io.BytesIO(MIXED.encode()))
    assert source.columns is not None
    validate = RowValidator().for_columns(source.columns)
    rows = list(source)
    outcomes = [row.rejection or validate(row.row, row.cells or []) for row in rows]
    raws = [row.raw for row in rows]
    assert len(records) == len(outcomes) == run.summary.rows
    for (key, value), outcome, raw in zip(records, outcomes, raws, strict=True):
        if isinstance(outcome, ClientFields):
            event: ClientImported | ImportRejected = client_imported(outcome, "acme", "imp-1")
            assert key == f"acme:{outcome.client_id}".encode()
        else:
            event = import_rejected(outcome, raw, "acme", "imp-1")
            assert key == b"acme:imp-1"
        assert value == encode(event.to_representation())


texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
optional = st.none() | texts.filter(bool)


@given(
    row=st.integers(min_value=1, max_value=2**40),
    client_id=texts.filter(bool),
    name=texts,
    document=st.sampled_from(
        [
            ("52998224725", "CPF"),
            ("11222333000181", "CNPJ"),
            ("12ABC34501DE35", "CNPJ"),
            (None, None),  # no document (issue 15)
        ]
    ),
    amount=st.integers(min_value=1, max_value=2**63 - 1),
    due=st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
    rest=st.tuples(*[optional] * 7),
    tenant=st.from_regex(r"[a-z0-9][a-z0-9._@-]{0,20}", fullmatch=True),
    import_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,140}", fullmatch=True),
)
def test_accepted_rows_are_the_codecs_bytes(
    row: int,
    client_id: str,
    name: str,
    document: tuple[str | None, str | None],
    amount: int,
    due: date,
    rest: tuple[str | None, ...],
    tenant: str,
    import_id: str,
) -> None:
    fields = ClientFields(row, client_id, name, "+5511987654321", *document, amount, due, *rest)
    key, value = ImportRecords(tenant, import_id).accepted(fields, epoch_millis(NOW))
    assert key == f"{tenant}:{client_id}".encode()
    assert value == encode(client_imported(fields, tenant, import_id).to_representation())


@given(
    row=st.integers(min_value=1, max_value=2**40),
    reason=st.sampled_from(list(Reason)),
    message=st.text(st.characters(exclude_categories=["Cs"]), max_size=5000),
    field=st.none() | st.sampled_from(["phone", "client_id"]),
    raw=st.text(st.characters(exclude_categories=["Cs"]), max_size=5000),
)
def test_rejected_rows_are_the_codecs_bytes(
    row: int, reason: Reason, message: str, field: str | None, raw: str
) -> None:
    rejection = Rejection(row, reason, message, field)
    key, value = ImportRecords("acme", "imp-9").rejected(rejection, raw, epoch_millis(NOW))
    assert key == b"acme:imp-9"
    assert value == encode(import_rejected(rejection, raw, "acme", "imp-9").to_representation())


def test_a_text_that_is_not_utf8_fails_with_the_row() -> None:
    fields = ClientFields(
        3, "c\ud800", "Ana", "+5511987654321", "52998224725", "CPF", 100, date(2026, 1, 1)
    )
    with pytest.raises(UnencodableEvent, match="row 3"):
        ImportRecords("acme", "imp-1").accepted(fields, 0)
