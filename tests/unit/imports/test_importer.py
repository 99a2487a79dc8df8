"""Rows → events, without a broker: the dry path, and the Kafka path over an in-memory sink."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.imports import formats
from connectors.imports.errors import InvalidImportParameter, UnreadableSource
from connectors.imports.formats import Format
from connectors.imports.importer import (
    SOURCE,
    ImportRun,
    dry_run,
    import_rows,
    key_for,
    send_import,
)
from connectors.imports.validation import Rejection
from schemas.codec import decode, encode
from schemas.events import ClientImported, DocumentKind, Event, ImportCompleted, ImportRejected
from tests.unit.imports.sample import EXPECTED_ROWS, EXPECTED_SUMMARY, MIXED

NOW = datetime(2026, 11, 20, 13, 0, tzinfo=UTC)


def start(data: str | bytes, **options: object) -> ImportRun:
    raw = data.encode() if isinstance(data, str) else data
    return import_rows(
        io.BytesIO(raw),
        tenant_id=str(options.pop("tenant_id", "acme")),
        import_id=str(options.pop("import_id", "imp-1")),
        clock=lambda: NOW,
        **options,  # type: ignore[arg-type]
    )


def test_every_row_ends_as_one_event_then_one_completion() -> None:
    events = list(start(MIXED))
    *rows, completed = events
    assert isinstance(completed, ImportCompleted)
    outcomes = {
        e.row: "accepted" if isinstance(e, ClientImported) else e.reason
        for e in rows
        if isinstance(e, ClientImported | ImportRejected)
    }
    assert outcomes == EXPECTED_ROWS
    assert [e.row for e in rows] == sorted(EXPECTED_ROWS)  # in source order
    assert {
        "rows": completed.rows,
        "accepted": completed.accepted,
        "rejected": completed.rejected,
        "by_reason": completed.by_reason,
    } == EXPECTED_SUMMARY
    assert completed.accepted + completed.rejected == completed.rows == len(rows)


def test_accepted_rows_carry_normalized_fields() -> None:
    events = list(start(MIXED))
    first, second = (e for e in events if isinstance(e, ClientImported))
    assert first.client_id == "c1"
    assert first.name == "Maria da Silva"
    assert first.phone_e164 == "+5511987654321"
    assert first.document == "52998224725"
    assert first.document_kind is DocumentKind.CPF
    assert first.amount_centavos == 123456
    assert first.due_date == date(2026, 12, 5)
    assert first.description == "=CMD()"
    assert first.invoice_id == "NF-1"
    assert second.document_kind is DocumentKind.CNPJ
    assert second.phone_e164 == "+5521998765432"
    assert second.description is None


def test_rejections_say_where_what_and_why() -> None:
    events = list(start(MIXED))
    rejected = {e.row: e for e in events if isinstance(e, ImportRejected)}
    assert rejected[5].field == "phone"
    assert "DDD 20" in rejected[5].message
    assert rejected[5].raw_row == "c4;Bia;(20) 98765-4321;529.982.247-25;10,00;05/12/2026;;"
    assert rejected[10].field == "client_id" and "registro 1" in rejected[10].message
    assert rejected[11].field is None and "aspas" in rejected[11].message


def test_headers_identify_the_import() -> None:
    events = list(start(MIXED, tenant_id="acme", import_id="imp-42"))
    for event in events:
        header = event.header
        assert header.tenant_id == "acme"
        assert header.correlation_id == "imp-42"
        assert header.causation_id is None
        assert header.source == SOURCE == "connectors.imports"
        assert header.occurred_at == NOW
        assert header.event_type == type(event).__name__
    assert len({e.header.event_id for e in events}) == len(events)


def test_event_ids_are_derived_so_a_rerun_under_the_same_id_repeats_them() -> None:
    ids = [e.header.event_id for e in start(MIXED)]
    assert [e.header.event_id for e in start(MIXED)] == ids
    other = [e.header.event_id for e in start(MIXED, import_id="imp-2")]
    assert not set(ids) & set(other)
    assert [e.header.event_id for e in start(MIXED, tenant_id="other")] != ids


def test_every_event_encodes_to_avro_and_back() -> None:
    for event in start(MIXED):
        decoded = decode(encode(event.to_representation()))
        assert decoded["header"]["event_id"] == event.header.event_id


def test_keys_follow_the_clients_topic() -> None:
    keys = {type(e).__name__: key_for(e) for e in start(MIXED)}
    assert keys == {
        "ClientImported": "acme:c2",  # the last one of its type wins in this dict
        "ImportRejected": "acme:imp-1",
        "ImportCompleted": "acme:imp-1",
    }


def test_dry_run_counts_and_calls_back() -> None:
    seen: list[Rejection] = []
    progress: list[int] = []
    summary = dry_run(
        start(MIXED), on_rejection=seen.append, on_progress=lambda s: progress.append(s.rows)
    )
    assert summary.as_dict() == EXPECTED_SUMMARY
    rejected = {row: reason for row, reason in EXPECTED_ROWS.items() if reason != "accepted"}
    assert {o.row: o.reason for o in seen} == rejected
    assert progress[-1] == summary.rows


def test_an_empty_csv_with_a_header_completes_with_zero_rows() -> None:
    events = list(start("codigo;nome;telefone;cpf;valor;vencimento\n\n"))
    assert len(events) == 1
    completed = events[0]
    assert isinstance(completed, ImportCompleted)
    assert (completed.rows, completed.accepted, completed.rejected) == (0, 0, 0)
    assert completed.by_reason == {}


def test_json_and_ndjson_sources() -> None:
    row = (
        '{"client_id": "c1", "name": "Ana", "phone": "11987654321", "document": "52998224725",'
        ' "amount": 1234.56, "due_date": "2026-12-05"}'
    )
    for data, fmt in ((f"[{row}, {row}]", Format.JSON), (f"{row}\n{row}\n", Format.NDJSON)):
        run = start(data)
        assert run.format is fmt
        events = list(run)
        assert isinstance(events[0], ClientImported)
        assert events[0].amount_centavos == 123456
        assert isinstance(events[1], ImportRejected) and events[1].reason == "duplicate"


def test_a_header_without_required_columns_is_refused_before_any_event() -> None:
    with pytest.raises(UnreadableSource) as caught:
        start("codigo;nome;valor\nc1;Ana;10\n")
    message = str(caught.value)
    assert "line 1" in message
    assert "'phone'" in message and "telefone" in message
    with pytest.raises(UnreadableSource, match="'Telefone', 'Celular' all mean 'phone'"):
        start("codigo;nome;Telefone;Celular;cpf;valor;vencimento\n")


@pytest.mark.parametrize("tenant", ["", "a:b", "has space", "-x", "x" * 129, "tenant\n"])
def test_tenant_ids_that_would_break_keys_are_refused(tenant: str) -> None:
    with pytest.raises(InvalidImportParameter):
        start(MIXED, tenant_id=tenant)


class MemorySink:
    """An EventSink that stores batches (decoded), optionally failing on the n-th call."""

    def __init__(self, fail_on_call: int | None = None) -> None:
        self.batches: list[list[tuple[Event, str]]] = []
        self._fail_on_call = fail_on_call

    async def send_keyed(self, topic: str, keys: list[bytes], values: list[bytes]) -> int:
        if self._fail_on_call is not None and len(self.batches) + 1 == self._fail_on_call:
            from streams.base.errors import ProduceFailed

            raise ProduceFailed("broker gone")
        types = {cls.__name__: cls for cls in (ClientImported, ImportRejected, ImportCompleted)}
        batch = []
        assert topic == "cobranca.clients"
        for key, value in zip(keys, values, strict=True):
            data = decode(value)
            batch.append((types[data["header"]["event_type"]].from_data(data), key.decode()))
        self.batches.append(batch)
        return len(batch)


async def test_send_import_batches_rows_and_sends_completion_alone_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(formats, "CSV_CHUNK_BYTES", 100)  # blocks of two or three rows
    lines = ["codigo;nome;telefone;cpf;valor;vencimento"]
    lines += [f"c{n};Ana;11987654321;52998224725;10;05/12/2026" for n in range(25)]
    sink = MemorySink()
    summary = await send_import(start("\n".join(lines)), sink, batch_size=10)
    sizes = [len(b) for b in sink.batches]
    assert sum(sizes[:-1]) == 25 and len(sizes) > 3
    assert all(10 <= size <= 12 for size in sizes[:-2])  # whole blocks up to batch_size
    ((last, key),) = sink.batches[-1]
    assert isinstance(last, ImportCompleted) and key == "acme:imp-1"
    assert summary.as_dict() == {"rows": 25, "accepted": 25, "rejected": 0, "by_reason": {}}
    assert [k for _, k in sink.batches[0][:2]] == ["acme:c0", "acme:c1"]


async def test_a_failed_batch_stops_the_import_without_a_completion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from streams.base.errors import ProduceFailed

    lines = ["codigo;nome;telefone;cpf;valor;vencimento"]
    lines += [f"c{n};Ana;11987654321;52998224725;10;05/12/2026" for n in range(25)]
    monkeypatch.setattr(formats, "CSV_CHUNK_BYTES", 100)
    sink = MemorySink(fail_on_call=2)
    with pytest.raises(ProduceFailed):
        await send_import(start("\n".join(lines)), sink, batch_size=10)
    assert len(sink.batches) == 1 and 10 <= len(sink.batches[0]) <= 12
    assert not any(isinstance(e, ImportCompleted) for b in sink.batches for e, _ in b)


def test_a_run_is_read_once() -> None:
    run = start(MIXED)
    list(run)
    with pytest.raises(RuntimeError):
        list(run)


def test_a_10_mb_cell_is_rejected_in_a_known_field_and_ignored_in_an_unknown_one() -> None:
    big = "=CMD()" + "x" * (10 * 1024 * 1024)
    header = "codigo;nome;telefone;cpf;valor;vencimento;descricao;observacoes"
    fixed = "11987654321;52998224725;10,00;05/12/2026"
    data = "\n".join([header, f"c1;Ana;{fixed};{big};", f"c2;Bia;{fixed};curta;{big}", ""])
    events = list(start(data))
    rejected, accepted, completed = events
    assert isinstance(rejected, ImportRejected)
    assert (rejected.row, rejected.reason, rejected.field) == (1, "field_too_long", "description")
    assert rejected.raw_row is not None and len(rejected.raw_row) <= 4096
    assert len(encode(rejected.to_representation())) < 10_000  # fits any Kafka record limit
    assert isinstance(accepted, ClientImported) and accepted.description == "curta"
    assert isinstance(completed, ImportCompleted) and completed.rows == 2


@given(name=st.text(st.characters(exclude_categories=["Cs"]), max_size=200))
def test_event_ids_are_the_standard_uuid5(name: str) -> None:
    from connectors.imports.records import EVENT_IDS, event_id

    assert event_id(name) == str(uuid.uuid5(EVENT_IDS, name))
