"""The column-wise fast path takes a row only when the row-by-row validator would accept it,
and then writes the same bytes.

Each test imports the same CSV twice: as it is (plain chunks go through
`connectors.imports.columnar`) and with every chunk sent through csv.reader and the validator
one row at a time, and compares every record and the summary.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.imports import formats
from connectors.imports.columnar import BlockWriter
from connectors.imports.formats import LineBlock, RowSource
from connectors.imports.importer import import_rows
from connectors.imports.records import ImportRecords

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
HEADER = "codigo;nome;celular;cpf;valor;vencimento;fatura;descricao;uf;email;pix"


def both_ways(
    data: bytes, monkeypatch: pytest.MonkeyPatch, **options: object
) -> tuple[object, object]:
    def run() -> tuple[list[tuple[bytes, bytes]], dict[str, object]]:
        job = import_rows(
            io.BytesIO(data), tenant_id="acme", import_id="imp-1", clock=lambda: NOW, **options
        )
        return list(job.records()), job.summary.as_dict()

    fast = run()
    with monkeypatch.context() as patch:
        patch.setattr(formats, "_plain", lambda data: False)
        slow = run()
    return fast, slow


PHONES = (
    "(11) 98765-4321", "11987654321", "011 98765 4321", "5511987654321", "+55 11 98765-4321",
    "0055 11 987654321", "(21) 8765-4321", "(11) 3333-4444", "(20) 98765-4321",
    "11 1234-5678", "1198765432", "(11) 98765-432", " 11987654321", "11987654321 ",
    "11.98765.4321", "11/98765/4321", "(11)\t98765-4321", "١١٩٨٧٦٥٤٣٢١", "55 11 98765 4321",
    "011987654321", "5511 3333 4444", "", "x", "0", "00", "(11) 98765-4321 ramal 2",
)  # fmt: skip
DOCUMENTS = (
    "529.982.247-25", "52998224725", "529.982.247-26", "111.111.111-11", "11.222.333/0001-81",
    "11222333000181", "11.222.333/0001-82", "00.000.000/0000-00", "29982247-25",
    "5299822472", "529 982 247 25", " 529.982.247-25", "529.982.247-25 ", "", "abc",
    "123", "04.252.011/0001-10", "045.523.968-07",
    # alphanumeric CNPJs (12ABC34501DE35 and A1B2C3D4E5F668 are valid) and their near-misses
    "12.ABC.345/01DE-35", "12ABC34501DE35", "12.abc.345/01de-35", "12abc34501De35",
    "12ABC.345/01DE35", "A1B2C3D4E5F668", "a1.b2c.3d4/e5f6-68", "1234567890AB04",
    "12.ABC.345/01DE-36", "12.abc.345/01de-36", "12.ABC.345/01DE-3A", "12ABC34501DEA5",
    "12ABC34501DE3", "12ABC34501DE355", "2ABC34501DE35", "12..ABC.345/01DE-35",
    "12.ABC.345-01DE/35", "12 ABC 345 01DE 35", "12.ABC.345/01DE-35-", "-12ABC34501DE35",
    "12.ABC.345/01DÉ-35", "12ABC34501DE35x", " 12ABC34501DE35", "12ABC34501DE35 ",
    "CPF 529.982.247-25", "12ABC34501DE35" + "/" * 12, "ZZZZZZZZZZZZ62",
    # no document (issue 15): blank, spaces, and the zeros a sheet puts for "none" (invalid)
    " ", "   ", "\t", "000.000.000-00", "00000000000", "00.000.000/0000-00",
)  # fmt: skip
AMOUNTS = (
    "150", "1234,56", "1.234,56", "1.234.567", "1234.56", "1,234.56", "1,234,567",
    "R$ 1.234,56", "R$1.234,56", "r$ 10", "R$  10", "1.234", "1,234", "0", "0,00", "-10",
    "(10)", "10,5", "10.5", "10,567", ".50", ",50", "1.23.456,00", "12.345.678,9",
    "999999999999999", "9999999999999999", "1.234.567.890.123,45", "", " 10", "10 ",
    "00010", "0.001", "1..2", "R$", "R$ ", "12a", "10-", "99999999999999999999",
    "92233720368547758,07", "92233720368547758,08", "1.000.000.000.000.000,00",
)  # fmt: skip
DATES = (
    "05/12/2026", "2026-12-05", "5/12/2026", "31/02/2026", "29/02/2024", "29/02/2100",
    "29/02/2000", "01/13/2026", "00/12/2026", "05/12/1899", "05/12/2101", "2026-02-30",
    "2026/12/05", "05-12-2026", " 05/12/2026", "", "amanhã", "31/12/1969", "01/01/1900",
)  # fmt: skip
NAMES = (
    "Ana", "Maria Aparecida", "João Pedro", "Ana  Lima", " Ana", "Ana ", "Ana\tLima",
    "ÉLIDA", "Conceição", "Luã", "Ana\u00a0Lima", "Ana\u2003Lima", "Zoë", "", "   ",
    "x" * 10_001, "Ñandú", "Ana\x1cLima", "名前", "Ana\u0085", "=CMD()",
)  # fmt: skip
CODES = ("c1", "c2", "c3", "C1", " c1", "c1 ", "", "cliente-ção", "c\u00a0")
TEXTS = ("", "NF-1", " NF-1", "NF-1 ", "Mensalidade 01/2026", "Ação", "a" * 10_001)
UFS = ("SP", "sp", "Rj", "", "S", "SPX", "ÉS", " SP", "s1")

VALID = ["c1", "Ana Lima", "(11) 98765-4321", "529.982.247-25", "1.234,56", "05/12/2026"]
VALID += ["NF-1", "Mensalidade", "SP", "ana@example.com", "pix-123"]
VALUES = (CODES, NAMES, PHONES, DOCUMENTS, AMOUNTS, DATES, TEXTS, TEXTS, UFS, TEXTS, TEXTS)
FIELDS = tuple(st.sampled_from(values) for values in VALUES)


def row_of(code: int, changed: dict[int, str]) -> str:
    """A valid row (its own client code) with some fields changed."""
    cells = [f"c{code}", *VALID[1:]]
    for field, value in changed.items():
        cells[field] = value
    return ";".join(cells)


changes = st.lists(
    st.integers(0, len(FIELDS) - 1).flatmap(lambda i: st.tuples(st.just(i), FIELDS[i])),
    max_size=2,
).map(dict)
rows = st.builds(row_of, st.integers(0, 40), changes)
odd_lines = st.sampled_from(["", ";" * 10, "c9;Ana", "c9;" + ";" * 12, "c9;a;b;c;d;e;f;g;h;i;j;k"])
lines = st.lists(rows | odd_lines, min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(
    lines=lines,
    ending=st.sampled_from(["\n", "\r\n"]),
    landlines=st.booleans(),
    require_document=st.booleans(),
)
def test_generated_rows_give_the_same_records_both_ways(
    lines: list[str], ending: str, landlines: bool, require_document: bool
) -> None:
    data = (HEADER + ending + ending.join(lines)).encode()
    with pytest.MonkeyPatch.context() as patch:
        fast, slow = both_ways(
            data, patch, allow_landlines=landlines, require_document=require_document
        )
    assert fast == slow


def test_the_fast_path_takes_the_common_rows() -> None:
    good = "c1;Ana Lima;(11) 98765-4321;529.982.247-25;1.234,56;05/12/2026;NF-1;Mensalidade;sp;;"
    data = (HEADER + "\n" + good + "\n").encode()
    source = RowSource(io.BytesIO(data))
    (block,) = source.pieces()
    assert isinstance(block, LineBlock)
    assert source.columns is not None
    taken = BlockWriter(
        ImportRecords("acme", "imp-1"), source.columns, allow_landlines=False
    ).write(block, 0)
    assert taken.rows == [1] and taken.others == []
    assert taken.keys == [b"acme:c1"]


def test_the_fast_path_takes_alphanumeric_cnpjs_and_writes_them_upper_cased() -> None:
    rows = [row_of(n, {3: cnpj}) for n, cnpj in enumerate(["12.abc.345/01de-35", "A1B2C3D4E5F668"])]
    data = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    source = RowSource(io.BytesIO(data))
    (block,) = source.pieces()
    assert isinstance(block, LineBlock)
    assert source.columns is not None
    taken = BlockWriter(
        ImportRecords("acme", "imp-1"), source.columns, allow_landlines=False
    ).write(block, 0)
    assert taken.rows == [1, 2] and taken.others == []
    assert b"12ABC34501DE35" in taken.values[0] and b"A1B2C3D4E5F668" in taken.values[1]


def test_the_sample_file_gives_the_same_records_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.unit.imports.sample import MIXED

    plain = "\n".join(line for line in MIXED.splitlines() if '"' not in line)
    fast, slow = both_ways(plain.encode(), monkeypatch)
    assert fast == slow


def test_duplicates_across_blocks_and_paths_keep_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = "c{};Ana;(11) 98765-4321;529.982.247-25;10;05/12/2026;;;SP;;"
    odd = "c{};Ana;+55 11 98765-4321;529.982.247-25;10;05/12/2026;;;SP;;"  # row by row
    lines = [good.format(n % 7) if n % 3 else odd.format(n % 5) for n in range(200)]
    data = (HEADER + "\n" + "\n".join(lines) + "\n").encode()
    monkeypatch.setattr(formats, "CSV_CHUNK_BYTES", 700)
    fast, slow = both_ways(data, monkeypatch)
    assert fast == slow
    (_, summary) = fast  # type: ignore[misc]
    assert summary["accepted"] == 7 and summary["by_reason"] == {"duplicate": 193}


@pytest.mark.parametrize("require_document", [False, True])
@pytest.mark.parametrize("landlines", [False, True])
def test_every_listed_value_of_every_field_gives_the_same_record_both_ways(
    landlines: bool, require_document: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    variants = [
        row_of(n, {field: value})
        for n, (field, value) in enumerate(
            (field, value) for field, values in enumerate(VALUES) for value in values
        )
    ]
    data = (HEADER + "\r\n" + "\r\n".join(variants)).encode()
    fast, slow = both_ways(
        data, monkeypatch, allow_landlines=landlines, require_document=require_document
    )
    assert fast == slow


def test_a_windows_1252_file_is_taken_column_by_column_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [row_of(n, {1: name}) for n, name in enumerate(["João", "Conceição", "Ana", "Zoë"])]
    rows.append(row_of(9, {1: "Ana“Lima”", 7: "Promoção…"}))  # cp1252's own characters
    text = HEADER + "\r\n" + "\r\n".join(rows) + "\r\n"
    data = text.encode("cp1252")
    source = RowSource(io.BytesIO(data))
    (block,) = source.pieces()
    assert isinstance(block, LineBlock) and block.data == text.split("\r\n", 1)[1].encode()
    assert source.fallback_records == 4  # the lines that are not ASCII
    fast, slow = both_ways(data, monkeypatch)
    assert fast == slow


# --- no document (issue 15) ----------------------------------------------------------------


def block_of(data: bytes) -> tuple[LineBlock, list[str]]:
    source = RowSource(io.BytesIO(data))
    (block,) = source.pieces()
    assert isinstance(block, LineBlock) and source.columns is not None
    return block, list(source.columns)


def test_a_header_without_a_document_column_is_taken_column_by_column_with_null_documents(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    header = HEADER.replace(";cpf", "")
    cells = [row_of(n, {}).split(";") for n in range(5)]
    lines = [";".join(row[:3] + row[4:]) for row in cells]
    data = (header + "\n" + "\n".join(lines) + "\n").encode()
    block, columns = block_of(data)

    taken = BlockWriter(ImportRecords("acme", "imp-1"), columns, allow_landlines=False).write(
        block, 0
    )

    assert taken.rows == [1, 2, 3, 4, 5] and taken.others == []
    fast, slow = both_ways(data, monkeypatch)
    assert fast == slow
    _, summary = fast  # type: ignore[misc]
    assert summary["accepted"] == 5 and summary["rejected"] == 0


def test_an_empty_document_column_is_null_and_spaces_go_row_by_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = [row_of(0, {3: ""}), row_of(1, {3: "   "}), row_of(2, {3: "000.000.000-00"})]
    data = (HEADER + "\n" + "\n".join(lines) + "\n").encode()
    block, columns = block_of(data)

    taken = BlockWriter(ImportRecords("acme", "imp-1"), columns, allow_landlines=False).write(
        block, 0
    )
    required = BlockWriter(
        ImportRecords("acme", "imp-1"), columns, allow_landlines=False, require_document=True
    ).write(block, 0)

    assert taken.rows == [1]  # spaces and the zeros are for the validator to word
    assert required.rows == []
    fast, slow = both_ways(data, monkeypatch)
    assert fast == slow
    _, summary = fast  # type: ignore[misc]
    assert summary["accepted"] == 2 and summary["by_reason"] == {"invalid_document": 1}
    fast, slow = both_ways(data, monkeypatch, require_document=True)
    assert fast == slow
    _, summary = fast  # type: ignore[misc]
    assert summary["by_reason"] == {"missing_field": 2, "invalid_document": 1}
