"""Streaming readers: the spreadsheet and JSON sources people really send."""

from __future__ import annotations

import codecs
import io
import json
import tracemalloc
from collections.abc import Iterator
from decimal import Decimal

import pytest

from connectors.imports import formats
from connectors.imports.errors import UnreadableSource
from connectors.imports.formats import Format, RowSource, SourceRow, detect_format

HEADER = "codigo;nome;telefone;cpf;valor;vencimento"
ROW = "c{n};Maria {n};(11) 98765-4321;529.982.247-25;1.234,56;05/12/2026"


def rows(data: bytes, fmt: Format | None = None) -> list[SourceRow]:
    return list(RowSource(io.BytesIO(data), fmt))


def read(data: bytes, fmt: Format | None = None) -> tuple[RowSource, list[SourceRow]]:
    source = RowSource(io.BytesIO(data), fmt)
    return source, list(source)


def good(found: list[SourceRow]) -> list[tuple[int, dict[str, object]]]:
    return [(r.row, dict(r.values)) for r in found if r.values is not None]


def bad(found: list[SourceRow]) -> list[tuple[int, str]]:
    return [(r.row, r.rejection.reason.value) for r in found if r.rejection is not None]


# --- detection -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b'[{"a": 1}]', Format.JSON),
        (b'  \n [\n{"a": 1}]', Format.JSON),
        (codecs.BOM_UTF8 + b"[]", Format.JSON),
        (b'{"a": 1}\n{"a": 2}\n', Format.NDJSON),
        (b"codigo;nome\n", Format.CSV),
        (codecs.BOM_UTF8 + b"codigo,nome\n", Format.CSV),
        ("[]".encode("utf-16"), Format.JSON),
    ],
)
def test_format_is_detected_from_the_first_character(head: bytes, fmt: Format) -> None:
    assert detect_format(head) is fmt


def test_an_explicit_format_wins() -> None:
    source = RowSource(io.BytesIO(b'{"codigo": "c1"}\n'), Format.CSV)
    assert source.format is Format.CSV
    assert source.columns == ('{"codigo": "c1"}',)
    assert RowSource(io.BytesIO(b'{"a": 1}\n'), Format.NDJSON).format is Format.NDJSON


@pytest.mark.parametrize(
    ("data", "fmt"), [(b"codigo;nome\n", Format.JSON), (b'[{"a": 1}]', Format.NDJSON)]
)
def test_an_explicit_json_format_that_does_not_fit_is_refused(data: bytes, fmt: Format) -> None:
    with pytest.raises(UnreadableSource, match=f"--format {fmt.value} was given"):
        RowSource(io.BytesIO(data), fmt)


# --- whole-file problems -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"  \r\n\n", "empty"),
        (codecs.BOM_UTF8, "empty"),
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(100), "a ZIP archive that is not a workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "the workbook cannot be read"),
        (b"codigo\x00;nome\n", "NUL bytes"),
        (b"codigo;nome\rc1;Maria\rc2;Ana\r", "carriage return"),
        (b'"codigo;nome\n', "header line cannot be parsed"),
        (b'{\n  "codigo": "c1"\n}\n', "one JSON object spread over many lines"),
    ],
)
def test_unreadable_files_raise_before_any_row(data: bytes, says: str) -> None:
    with pytest.raises(UnreadableSource) as caught:
        list(RowSource(io.BytesIO(data), name="clientes.csv"))
    assert says in str(caught.value)
    assert str(caught.value).startswith("clientes.csv")


# --- CSV -----------------------------------------------------------------------------------


def csv_bytes(*lines: str, encoding: str = "utf-8", end: str = "\n") -> bytes:
    return end.join(lines).encode(encoding)


def test_semicolon_csv_with_bom_and_crlf() -> None:
    data = codecs.BOM_UTF8 + csv_bytes(HEADER, ROW.format(n=1), ROW.format(n=2), "", end="\r\n")
    source, found = read(data)
    assert source.delimiter == ";"
    assert source.columns == ("codigo", "nome", "telefone", "cpf", "valor", "vencimento")
    assert [r.row for r in found] == [1, 2]
    assert found[0].values == {
        "codigo": "c1",
        "nome": "Maria 1",
        "telefone": "(11) 98765-4321",
        "cpf": "529.982.247-25",
        "valor": "1.234,56",
        "vencimento": "05/12/2026",
    }
    assert found[0].raw == ROW.format(n=1) + "\r\n"


def test_comma_csv_with_quoted_brazilian_amounts() -> None:
    data = csv_bytes("codigo,nome,valor", 'c1,"Silva, Maria","1.234,56"', 'c2,"Diz ""oi""",150', "")
    source, found = read(data)
    assert source.delimiter == ","
    assert good(found) == [
        (1, {"codigo": "c1", "nome": "Silva, Maria", "valor": "1.234,56"}),
        (2, {"codigo": "c2", "nome": 'Diz "oi"', "valor": "150"}),
    ]


def test_tab_separated_and_excel_sep_line() -> None:
    assert read(csv_bytes("codigo\tnome\tvalor", "c1\tAna\t1,50"))[0].delimiter == "\t"
    source, found = read(csv_bytes("sep=,", "codigo;x,nome", "c1;a,Ana"))
    assert source.delimiter == ","
    assert source.header_line == 2
    assert good(found) == [(1, {"codigo;x": "c1;a", "nome": "Ana"})]


def test_latin1_csv_is_read_as_windows_1252() -> None:
    text = "\u201caspas\u201d \u2013 \u20ac5"  # curly quotes, en dash, euro: cp1252, not Latin-1
    data = csv_bytes("código;nome;descrição", f"c1;João Conceição;{text}", encoding="cp1252")
    source, found = read(data)
    assert source.columns == ("código", "nome", "descrição")
    assert found[0].values == {"código": "c1", "nome": "João Conceição", "descrição": text}
    assert source.fallback_records == 2  # the header and the row


def test_encoding_is_decided_per_line_so_late_latin1_rows_and_mixed_files_work() -> None:
    lines = [HEADER] + [ROW.format(n=n) for n in range(1, 5000)]
    data = csv_bytes(*lines).replace(b"Maria 4321", "Mária 4321".encode("latin-1"))
    data += "\nc9;José;x;y;z;w\n".encode()
    source, found = read(data)
    assert found[4320].values is not None and found[4320].values["nome"] == "Mária 4321"
    assert found[-1].values is not None and found[-1].values["nome"] == "José"
    assert source.fallback_records == 1
    assert [r.row for r in found] == list(range(1, 5001))


def test_bytes_cp1252_leaves_undefined_fall_back_to_latin1() -> None:
    found = rows(b"codigo;nome\nc1;a\x81b\n")
    assert good(found) == [(1, {"codigo": "c1", "nome": "a\x81b"})]


def test_utf16_with_bom_is_read_whole() -> None:
    data = "codigo\tnome\r\nc1\tJoão\r\n".encode("utf-16")
    assert good(rows(data)) == [(1, {"codigo": "c1", "nome": "João"})]


def test_blank_lines_are_skipped_but_keep_their_numbers() -> None:
    data = csv_bytes(
        "",
        HEADER,
        ROW.format(n=1),
        "",
        "   ",
        ROW.format(n=2),
        ";;;;;",  # a spreadsheet's empty row
        ROW.format(n=3),
        "",
        "",
    )
    source, found = read(data)
    assert source.header_line == 2
    assert [r.row for r in found] == [1, 4, 6]  # file lines 3, 6 and 8
    assert [r.values["codigo"] for r in found if r.values] == ["c1", "c2", "c3"]


def test_a_quoted_multiline_cell_is_one_row_numbered_by_its_first_line() -> None:
    data = csv_bytes("codigo;descricao", 'c1;"linha um\nlinha dois"', "c2;x")
    assert good(rows(data)) == [
        (1, {"codigo": "c1", "descricao": "linha um\nlinha dois"}),
        (3, {"codigo": "c2", "descricao": "x"}),
    ]


def test_truncated_last_line_with_missing_fields_leaves_them_absent() -> None:
    found = rows(csv_bytes(HEADER, ROW.format(n=1), "c2;Ana;(11) 9876"))
    assert good(found)[1] == (2, {"codigo": "c2", "nome": "Ana", "telefone": "(11) 9876"})


def test_truncated_last_line_inside_quotes_is_a_malformed_row() -> None:
    data = csv_bytes(HEADER, ROW.format(n=1), 'c2;Ana;(11) 98765-4321;529.982.247-25;"1.234')
    found = rows(data)
    assert bad(found) == [(2, "malformed_row")]
    rejection = found[1].rejection
    assert rejection is not None
    assert "linha 3 do arquivo" in rejection.message and "aspas" in rejection.message
    assert found[1].raw.startswith("c2;Ana")


def test_a_bad_quote_mid_file_rejects_that_row_and_reading_goes_on() -> None:
    data = csv_bytes(HEADER, 'c1;"Ana" Maria;x;y;z;w', ROW.format(n=2), "")
    found = rows(data)
    assert bad(found) == [(1, "malformed_row")]
    assert [r.row for r in found] == [1, 2]
    assert found[1].values is not None and found[1].values["codigo"] == "c2"


def test_more_cells_than_the_header_is_malformed_unless_they_are_blank() -> None:
    data = csv_bytes("codigo,nome,valor", "c1,Ana,1.234,56", "c2,Bia,150,,", "")
    found = rows(data)
    assert bad(found) == [(1, "malformed_row")]
    assert found[0].rejection is not None and "4 colunas" in found[0].rejection.message
    assert good(found) == [(2, {"codigo": "c2", "nome": "Bia", "valor": "150"})]


def test_formulas_are_plain_text() -> None:
    data = csv_bytes("codigo;nome;descricao", 'c1;=CMD();"=HYPERLINK(""http://x"")"', "c2;+1;@A1")
    assert good(rows(data)) == [
        (1, {"codigo": "c1", "nome": "=CMD()", "descricao": '=HYPERLINK("http://x")'}),
        (2, {"codigo": "c2", "nome": "+1", "descricao": "@A1"}),
    ]


def test_a_10_mb_single_field_is_read() -> None:
    big = "x" * (10 * 1024 * 1024)
    data = csv_bytes("codigo;descricao;nome", f'c1;"{big}";Ana', f"c2;{big};Bia", "c3;;Caio", "")
    found = rows(data)
    assert [r.row for r in found] == [1, 2, 3]
    assert all(r.values is not None for r in found)
    assert found[0].values is not None and found[0].values["descricao"] == big
    assert found[1].values is not None and found[1].values["descricao"] == big
    assert len(found[0].raw) == formats.RAW_ROW_CHARS


def test_a_runaway_quote_stops_at_the_field_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_FIELD_CHARS", 1000)
    import csv

    previous = csv.field_size_limit()
    csv.field_size_limit(1000)
    try:
        lines = ["codigo;nome", 'c1;"never closed'] + [f"c{n};x" for n in range(2, 200)]
        found = rows(csv_bytes(*lines))
    finally:
        csv.field_size_limit(previous)
    assert found[0].rejection is not None
    assert found[0].rejection.reason.value == "field_too_long"
    assert found[0].rejection.message.startswith("linhas 2 a ")
    assert len(found) > 1  # reading goes on after the runaway cell


def test_lines_over_the_record_cap_are_skipped_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_RECORD_BYTES", 10_000)
    data = csv_bytes("codigo;nome", "c1;" + "x" * 50_000, "c2;Ana", "")
    found = rows(data)
    assert bad(found) == [(1, "field_too_long")]
    assert good(found) == [(2, {"codigo": "c2", "nome": "Ana"})]
    ndjson = b'{"a": "' + b"x" * 50_000 + b'"}\n{"a": 1}\n'
    found = rows(ndjson)
    assert bad(found) == [(1, "field_too_long")]
    assert good(found) == [(2, {"a": 1})]


def test_a_nul_after_the_head_is_just_a_character() -> None:
    # The binary check looks at the first 64 KiB only; Python 3.11's csv reads NUL as text.
    data = csv_bytes("codigo;nome", "c" * 70_000 + ";a", "c2;a\x00b", "c3;ok") + b"\n"
    found = rows(data)
    assert [r.row for r in found] == [1, 2, 3]
    assert found[1].values == {"codigo": "c2", "nome": "a\x00b"}


# --- NDJSON --------------------------------------------------------------------------------


def test_ndjson_rows_are_line_numbers_and_decimals_stay_exact() -> None:
    data = b'{"codigo": "c1", "valor": 1234.56}\n\n{"codigo": "c2", "valor": 150}\r\n'
    assert good(rows(data)) == [
        (1, {"codigo": "c1", "valor": Decimal("1234.56")}),
        (3, {"codigo": "c2", "valor": 150}),
    ]


def test_ndjson_bad_lines_are_rejected_and_reading_goes_on() -> None:
    data = b'{"a": 1}\n{"a": \n[1, 2]\n"text"\n{"a": 2}\n{"a": "trunc'
    found = rows(data)
    assert bad(found) == [
        (2, "malformed_row"),
        (3, "malformed_row"),
        (4, "malformed_row"),
        (6, "malformed_row"),
    ]
    assert good(found) == [(1, {"a": 1}), (5, {"a": 2})]
    rejection = found[1].rejection
    assert rejection is not None and rejection.message == (
        "linha 2 não é JSON válido: esperava um valor (coluna 7)"
    )


def test_ndjson_latin1_line() -> None:
    source, found = read(b'{"nome": "Jo\xe3o"}\n{"nome": "Ana"}\n')
    assert good(found) == [(1, {"nome": "João"}), (2, {"nome": "Ana"})]
    assert source.fallback_records == 1


# --- JSON array ----------------------------------------------------------------------------


def test_json_array_rows_are_index_plus_one() -> None:
    data = b' [ {"codigo": "c1", "valor": 10.5},\n {"codigo": "c2"} ] \n'
    assert good(rows(data)) == [
        (1, {"codigo": "c1", "valor": Decimal("10.5")}),
        (2, {"codigo": "c2"}),
    ]
    assert rows(b"[]") == []
    assert rows(b"[ ]\n") == []


def test_json_array_elements_that_are_not_objects_are_rejected() -> None:
    found = rows(b'[{"a": 1}, 2, "x", null, [], {"a": 2}, ]')
    assert bad(found) == [(n, "malformed_row") for n in (2, 3, 4, 5)]
    assert good(found) == [(1, {"a": 1}), (6, {"a": 2})]  # a trailing comma is tolerated


@pytest.mark.parametrize(
    ("data", "rejected", "says"),
    [
        (b'[{"a": 1}, {"a": 2', (2, "malformed_row"), "',' (caractere 8 do elemento) (arq"),
        (b'[{"a": 1}, {"a": "tru', (2, "malformed_row"), "fechamento (caractere 7 do elemento)"),
        (b'[{"a": 1},', (2, "malformed_row"), "termina sem ']'"),
        (b'[{"a": 1}', (2, "malformed_row"), "termina sem ']'"),
        (b'[{"a": 1} {"a": 2}]', (2, "malformed_row"), "esperava ',' ou ']'"),
        (b'[{"a": 1}, {"a": nope}, {"a": 3}]', (2, "malformed_row"), "o restante do arquivo"),
        (b'[{"a": 1}] trailing', (2, "malformed_row"), "depois do ']'"),
    ],
)
def test_broken_json_arrays_end_with_one_rejection(
    data: bytes, rejected: tuple[int, str], says: str
) -> None:
    found = rows(data)
    assert good(found) == [(1, {"a": 1})]
    assert bad(found) == [rejected]
    assert found[-1].rejection is not None and says in found[-1].rejection.message


def test_json_array_with_a_10_mb_field_spanning_many_chunks() -> None:
    big = "é" * (5 * 1024 * 1024)  # 10 MB of UTF-8, two bytes per character
    data = json.dumps([{"a": 1}, {"descricao": big}, {"a": 3}], ensure_ascii=False).encode()
    found = rows(data)
    assert [r.row for r in found] == [1, 2, 3]
    assert found[1].values == {"descricao": big}


@pytest.mark.parametrize("offset", range(-3, 4))
def test_json_multibyte_characters_split_across_chunks(offset: int) -> None:
    prefix = b'[{"pad": "' + b"x" * (formats.CHUNK_BYTES - 11 + offset) + b'"}, {"nome": "'
    data = prefix + "ção😀".encode() + b'"}, 12345678]'
    found = rows(data)
    assert found[1].values == {"nome": "ção😀"}
    assert bad(found) == [(3, "malformed_row")]  # a number split across chunks, read whole
    assert found[2].raw == "12345678"


def test_json_array_latin1_element() -> None:
    source, found = read(b'[{"nome": "Jo\xe3o"}, {"nome": "Ana"}]')
    assert good(found) == [(1, {"nome": "João"}), (2, {"nome": "Ana"})]
    assert source.fallback_records == 1


# --- streaming -----------------------------------------------------------------------------


class LazyStream(io.RawIOBase):
    """A large source generated on the fly, so the test itself holds nothing."""

    def __init__(self, parts: Iterator[bytes]) -> None:
        self._parts = parts
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._parts)
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _csv_parts(count: int) -> Iterator[bytes]:
    yield (HEADER + "\n").encode()
    for n in range(count):
        yield (ROW.format(n=n) + "\n").encode()


def _json_parts(count: int) -> Iterator[bytes]:
    yield b"["
    for n in range(count):
        yield (b"," if n else b"") + json.dumps({"codigo": f"c{n}", "nome": "Ana"}).encode()
    yield b"]"


@pytest.mark.parametrize("make", [_csv_parts, _json_parts])
def test_memory_stays_flat_however_long_the_source(make: object) -> None:
    def peak(count: int) -> int:
        stream = io.BufferedReader(LazyStream(make(count)))  # type: ignore[operator]
        tracemalloc.start()
        try:
            seen = sum(1 for _ in RowSource(stream))
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert seen == count
        return top

    small, large = peak(2_000), peak(30_000)
    assert large < small * 1.5 + 256 * 1024, (small, large)
    assert large < 2 * 1024 * 1024


def test_a_source_is_read_once() -> None:
    source = RowSource(io.BytesIO(b"codigo;nome\nc1;a\n"))
    list(source)
    with pytest.raises(RuntimeError):
        list(source)
