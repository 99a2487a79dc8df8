"""The CSV reader reads in chunks; where a chunk ends must never change a row.

Every test reads the same bytes with the normal chunk size and with chunks of a few bytes, so
that chunk ends fall inside quoted multi-line cells, between CR and LF, inside multi-byte
characters' lines and on overlong lines, and compares everything a row carries.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.imports import formats
from connectors.imports.formats import RowSource
from connectors.imports.importer import dry_run, import_rows
from connectors.imports.validation import RowValidator

HEADER = "codigo;nome;telefone;cpf;valor;vencimento;descricao"


def snapshot(data: bytes) -> tuple[list[tuple[object, ...]], int]:
    source = RowSource(io.BytesIO(data))
    found = [
        (
            r.row,
            None if r.values is None else dict(r.values),
            r.raw,
            None if r.rejection is None else (r.rejection.reason, r.rejection.message),
        )
        for r in source
    ]
    return found, source.fallback_records


def in_small_chunks(data: bytes, size: int, monkeypatch: pytest.MonkeyPatch) -> object:
    with monkeypatch.context() as patch:
        patch.setattr(formats, "CSV_CHUNK_BYTES", size)
        return snapshot(data)


cell = st.sampled_from(
    [
        "c1",
        "Ana",
        "",
        "  ",
        '"multi\nline"',
        '"with ""quotes"""',
        '"a;b"',
        '"unclosed',
        'bad"quote',
        '"x"y',
        "João",
        "1.234,56",
        "a\rb",
    ]
)
line = st.lists(cell, min_size=0, max_size=9).map(";".join)


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(line, max_size=12),
    ending=st.sampled_from(["\n", "\r\n"]),
    latin1=st.booleans(),
    size=st.integers(min_value=1, max_value=40),
)
def test_rows_do_not_depend_on_where_chunks_end(
    lines: list[str], ending: str, latin1: bool, size: int
) -> None:
    text = ending.join([HEADER, *lines])
    data = text.encode("latin-1" if latin1 else "utf-8")
    expected = snapshot(data)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(formats, "CSV_CHUNK_BYTES", size)
        assert snapshot(data) == expected


def test_a_quoted_cell_over_many_chunks_keeps_its_lines_and_raw(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cell = '"' + "\n".join(f"linha {n}" for n in range(200)) + '"'
    data = "\n".join([HEADER, f"c1;Ana;1;2;3;4;{cell}", "c2;Bia;1;2;3;4;x", ""]).encode()
    found, _ = in_small_chunks(data, 16, monkeypatch)  # type: ignore[misc]
    assert found == snapshot(data)[0]
    first, second = found
    assert first[1]["descricao"] == cell.strip('"')  # type: ignore[index]
    assert first[2].startswith('c1;Ana;1;2;3;4;"linha 0\nlinha 1\n')  # type: ignore[union-attr]
    assert second[0] == 201  # the line after the 200 lines of row 1


def test_overlong_lines_in_the_middle_of_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_RECORD_BYTES", 100)
    data = "\n".join([HEADER, "c1;" + "x" * 500, "c2;Ana", "c3;" + "y" * 101, "c4;Bia", ""])
    expected = snapshot(data.encode())
    found = in_small_chunks(data.encode(), 7, monkeypatch)
    assert found == expected
    rows = expected[0]
    assert [(r[0], r[3] and r[3][0].value) for r in rows] == [  # type: ignore[index, union-attr]
        (1, "field_too_long"),
        (2, None),
        (3, "field_too_long"),
        (4, None),
    ]


def test_mixed_encodings_are_decided_per_line_inside_a_chunk() -> None:
    data = "\n".join([HEADER, "c1;João", "c2;José", ""]).encode()
    data = data.replace("José".encode(), "José".encode("cp1252"))
    found, fallback = snapshot(data)
    assert [r[1]["nome"] for r in found] == ["João", "José"]  # type: ignore[index]
    assert fallback == 1


def test_the_csv_validator_by_position_answers_as_the_mapping_one() -> None:
    lines = [
        "c1;Ana;11987654321;529.982.247-25;10,00;05/12/2026;x",
        "c2;;11987654321;529.982.247-25;10,00;05/12/2026",
        "c3;Bia;11987654321",
        "c1;Caio;11987654321;529.982.247-25;10,00;05/12/2026;",
        "c4;Duda;11 3333-4444;529.982.247-25;1.234;05/12/2026;" + "z" * 10_001,
        "c5;Eva;+1 415 555 0100;529.982.247-25;10,00;05/12/2026;",
    ]
    data = "\n".join([HEADER, *lines]).encode()
    by_position = RowValidator().for_columns(HEADER.split(";"))
    by_name = RowValidator()
    for row in RowSource(io.BytesIO(data)):
        assert row.cells is not None and row.values is not None
        assert by_position(row.row, row.cells) == by_name.validate(row.row, row.values)


def test_a_dry_run_counts_the_same_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    body = 'c{n};Ana;11987654321;529.982.247-25;10,00;05/12/2026;"a\nb"'
    data = "\n".join([HEADER, *(body.format(n=n % 40) for n in range(100))]).encode()
    expected = dry_run(import_rows(io.BytesIO(data), tenant_id="t")).as_dict()
    monkeypatch.setattr(formats, "CSV_CHUNK_BYTES", 5)
    assert dry_run(import_rows(io.BytesIO(data), tenant_id="t")).as_dict() == expected
    assert expected == {
        "rows": 100,
        "accepted": 40,
        "rejected": 60,
        "by_reason": {"duplicate": 60},
    }
