"""Hostile inputs at the edges of an import (issue 18): wide headers, wide rows, gzip, formulas.

Each test here failed before its fix; the memory ones measure with tracemalloc (numpy's
allocations are traced too), with bounds far below what the quadratic shapes took.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from connectors.imports.columnar import BlockWriter
from connectors.imports.errors import UnreadableSource
from connectors.imports.formats import (
    MAX_HEADER_BYTES,
    MAX_HEADER_COLUMNS,
    LineBlock,
    RowSource,
)
from connectors.imports.records import ImportRecords
from connectors.imports.validation import RowValidator

REQUIRED = "codigo;nome;celular;cpf;valor;vencimento"
ROW = "c1;Maria;(11) 98765-4321;529.982.247-25;1.234,56;05/12/2026"


@contextmanager
def peak_bytes() -> Iterator[Callable[[], int]]:
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _wide_header(extra: int) -> str:
    return REQUIRED + "".join(f";c{i}" for i in range(extra))


# --- §1: the header ----------------------------------------------------------------------------


def test_a_validator_of_wide_rows_uses_memory_linear_in_the_columns() -> None:
    columns = _wide_header(4_000).split(";")
    with peak_bytes() as peak:
        validate = RowValidator().for_columns(columns)
        short = validate(1, ROW.split(";"))
        full = validate(2, ROW.replace("c1", "c2").split(";") + [""] * 4_000)
        assert peak() < 4_000_000  # 8,000,000 pointers (64 MB) before the fix
    assert type(short).__name__ == type(full).__name__ == "ClientFields"


def test_a_block_of_short_lines_under_a_wide_header_uses_memory_linear_in_the_block() -> None:
    columns = tuple(_wide_header(MAX_HEADER_COLUMNS - 6).split(";"))
    data = b"x\n" * 20_000  # lines of one cell: none can be taken, each goes row by row
    writer = BlockWriter(ImportRecords("acme", "imp-1"), columns, allow_landlines=False)
    block = LineBlock(data, 2, 1, ";", columns)
    with peak_bytes() as peak:
        taken = writer.write(block, 0)
        assert peak() < 30_000_000  # (lines x columns) int64 matrices: 320 MB before the fix
    assert taken.rows == [] and len(taken.others) == 20_000


def test_a_header_with_too_many_columns_is_refused_saying_how_many() -> None:
    data = (_wide_header(MAX_HEADER_COLUMNS) + "\n" + ROW + "\n").encode()
    with pytest.raises(UnreadableSource) as raised:
        RowSource(io.BytesIO(data), name="wide.csv")
    message = str(raised.value)
    assert raised.value.line == 1 and message.startswith("wide.csv, line 1:")
    assert f"{MAX_HEADER_COLUMNS + 6:,} columns" in message
    assert f"at most {MAX_HEADER_COLUMNS:,}" in message


def test_a_header_line_over_the_byte_limit_is_refused_without_reading_it_all() -> None:
    data = (REQUIRED + ";" + "x" * (8 * 1024 * 1024) + "\n" + ROW + "\n").encode()
    stream = io.BytesIO(data)
    with pytest.raises(UnreadableSource) as raised:
        RowSource(stream, name="long.csv")
    assert raised.value.line == 1
    assert f"{MAX_HEADER_BYTES:,} bytes" in str(raised.value)
    assert stream.tell() < 1024 * 1024  # stopped at the limit, not at the line's end


def test_the_command_refuses_a_wide_header_with_exit_1_and_flat_memory(tmp_path: Path) -> None:
    """The issue's reproduction: 10,006 columns took 861 MB and imported nothing."""
    wide = tmp_path / "wide.csv"
    wide.write_text(_wide_header(10_000) + "\n", encoding="utf-8")
    command = [sys.executable, "-m", "streams.ops.cli", "import", str(wide), "--tenant", "acme"]
    # A child forked from pytest starts its peak RSS at pytest's: /usr/bin/time, small, forks
    # the command, so its figure is the command's own.
    timed = Path("/usr/bin/time")
    peak = tmp_path / "peak-kib"
    if timed.exists():
        command = [str(timed), "-f", "%M", "-o", str(peak), *command]
    done = subprocess.run(
        [*command, "--dry-run"], capture_output=True, text=True, env=os.environ, check=False
    )
    assert done.returncode == 1, done.stderr
    assert f"{wide}, line 1: the header has 10,006 columns" in done.stderr
    assert "Traceback" not in done.stderr
    if timed.exists():
        assert int(peak.read_text().split()[-1]) < 200_000  # KiB; any small file takes ~80 MB


def test_a_header_at_the_limits_is_read() -> None:
    columns = _wide_header(MAX_HEADER_COLUMNS - 6)
    source = RowSource(io.BytesIO((columns + "\n" + ROW + "\n").encode()))
    assert source.columns is not None and len(source.columns) == MAX_HEADER_COLUMNS
    assert [row.cells[:6] for row in source if row.cells] == [ROW.split(";")]


def test_a_plain_row_of_millions_of_cells_is_malformed_without_a_list_of_them() -> None:
    columns = tuple(REQUIRED.split(";"))
    line = "c1;" + ";".join(["a"] * 2_000_000) + "\n"
    block = LineBlock(line.encode(), 2, 1, ";", columns)
    with peak_bytes() as peak:
        row = block.row(1, line)
        assert peak() < 3 * len(line)  # a list of 2,000,001 cells took 16 MB more before
    assert row is not None and row.rejection is not None
    assert "tem 2000001 colunas e o cabeçalho tem 6" in row.rejection.message
    blank = LineBlock(b"", 2, 1, ";", columns).row(1, ROW + ";" * 100_000 + "\n")
    assert blank is not None and blank.cells == ROW.split(";")  # blank cells past the header


def test_json_rows_with_ever_new_keys_do_not_grow_the_validator() -> None:
    validator = RowValidator()
    fields = dict(zip(REQUIRED.split(";"), ROW.split(";"), strict=True))
    with peak_bytes() as peak:
        for n in range(1_000):
            extra = {f"k{n}_{i}": "" for i in range(100)}  # 100,000 distinct names in all
            validator.validate(n + 1, {**fields, "codigo": f"c{n}", **extra})
        assert peak() < 4_000_000  # the name cache kept all 100,000 before (~11 MB)


# --- §5: gzip ---------------------------------------------------------------------------------


def test_a_gzip_body_is_refused_naming_gzip() -> None:
    data = gzip.compress((REQUIRED + "\n" + ROW + "\n").encode())
    with pytest.raises(UnreadableSource) as raised:
        RowSource(io.BytesIO(data), name="request body")
    assert "gzip" in str(raised.value) and "NUL" not in str(raised.value)


def test_the_command_reads_a_csv_gz_as_its_csv(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from streams.ops.imports_cli import import_command
    from tests.unit.imports.sample import EXPECTED_SUMMARY, MIXED

    packed = tmp_path / "clientes.csv.gz"
    packed.write_bytes(gzip.compress(MIXED.encode("cp1252")))
    result = CliRunner().invoke(import_command, [str(packed), "--tenant", "acme", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1]) == EXPECTED_SUMMARY

    cut = tmp_path / "cortado.csv.gz"
    cut.write_bytes(gzip.compress(MIXED.encode() * 50)[:-30])
    result = CliRunner().invoke(import_command, [str(cut), "--tenant", "acme", "--dry-run"])
    assert result.exit_code == 1
    assert "the gzip data is cut off or corrupt" in result.stderr


# --- §5: payment links --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "accepted"),
    [
        ("https://pagamento.exemplo.com.br/fatura/123?x=1#a", True),
        ("  https://pague.exemplo.com:8443/f  ", True),
        ("http://pagamento.exemplo.com.br/fatura/123", False),
        ("javascript:alert(1)", False),
        ('=HYPERLINK("https://evil.example/x","Pague aqui")', False),
        ("https://exemplo.com.br/a b", False),
        ("pague em https://evil.example", False),
        ("https://localhost/x", False),
    ],
)
def test_a_payment_link_must_be_a_plain_https_url(link: str, accepted: bool) -> None:
    header = REQUIRED + ";link"
    data = f"{header}\n{ROW};{link}\n".encode()
    from connectors.imports.importer import dry_run, import_rows

    for plain in (True, False):  # the column-wise path and csv.reader's
        body = data if plain else data.replace(b"c1;", b'"c1";')
        summary = dry_run(import_rows(io.BytesIO(body), tenant_id="acme"))
        assert summary.accepted == accepted, (link, plain)
        if not accepted:
            assert dict(summary.by_reason) == {"invalid_payment_url": 1}


# --- §5: the duplicate table's ceiling ----------------------------------------------------------


def test_an_import_stops_incomplete_past_its_most_distinct_clients() -> None:
    from connectors.imports.errors import TooManyClients
    from connectors.imports.importer import dry_run, import_rows

    rows = "".join(ROW.replace("c1;", f"c{n};", 1) + "\n" for n in range(20_000))
    run = import_rows(io.BytesIO((REQUIRED + "\n" + rows).encode()), tenant_id="acme")
    run.max_clients = 5_000
    with pytest.raises(TooManyClients) as raised:
        dry_run(run)
    assert "5,000" in str(raised.value) and "Split the file" in str(raised.value)
    assert 5_000 <= run.summary.accepted < 20_000  # stopped at the first block past the limit
    assert run.summary.rows == run.summary.accepted
