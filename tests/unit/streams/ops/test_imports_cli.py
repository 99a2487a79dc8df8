"""`cobranca import` through click's test runner (dry runs and errors: no broker needed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from streams.base.settings import Settings
from streams.ops.imports_cli import import_command
from tests.unit.imports.sample import EXPECTED_ROWS, EXPECTED_SUMMARY, MIXED


def invoke(*args: str, bootstrap: str = "127.0.0.1:1") -> Result:
    settings = Settings.from_env({"COBRANCA_KAFKA_BOOTSTRAP": bootstrap})
    return CliRunner().invoke(import_command, list(args), obj=settings)


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    path = tmp_path / "clientes.csv"
    path.write_bytes(MIXED.encode("cp1252"))  # as Excel on Windows saves it
    return path


def test_dry_run_prints_the_summary_as_the_last_line(mixed: Path) -> None:
    result = invoke(str(mixed), "--tenant", "acme", "--dry-run")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1]) == EXPECTED_SUMMARY
    assert result.output.rstrip("\n").splitlines()[-1] == result.stdout.splitlines()[-1]
    assert "as csv for tenant acme (dry run" in result.stderr
    assert "read as Windows-1252" in result.stderr


def test_rejects_out_writes_ndjson(mixed: Path, tmp_path: Path) -> None:
    out = tmp_path / "rejeitados.ndjson"
    result = invoke(str(mixed), "--tenant", "acme", "--dry-run", "--rejects-out", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert {line["row"]: line["reason"] for line in lines} == {
        row: reason for row, reason in EXPECTED_ROWS.items() if reason != "accepted"
    }
    assert all(set(line) == {"row", "field", "reason", "message"} for line in lines)
    landline = next(line for line in lines if line["reason"] == "landline")
    assert landline["field"] == "phone" and "fixo" in landline["message"]


def test_allow_landlines(mixed: Path) -> None:
    result = invoke(str(mixed), "--tenant", "acme", "--dry-run", "--allow-landlines")
    summary = json.loads(result.stdout.splitlines()[-1])
    assert summary["accepted"] == 3 and "landline" not in summary["by_reason"]


def test_explicit_format(tmp_path: Path) -> None:
    path = tmp_path / "clientes.txt"
    path.write_text(
        '{"client_id": "c1", "name": "Ana", "phone": "11987654321", "document": "52998224725", '
        '"amount": "10,00", "due_date": "05/12/2026"}\n'
    )
    result = invoke(str(path), "--tenant", "acme", "--dry-run", "--format", "ndjson")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1])["accepted"] == 1


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        (b"", "empty"),
        (b"PK\x03\x04" + bytes(64), "a ZIP archive that is not a workbook"),
        (b"codigo;nome\nc1;Ana\n", "no column for required field 'phone'"),
    ],
)
def test_bad_input_exits_1_with_one_message(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    path = tmp_path / "clientes.csv"
    if content is not None:
        path.write_bytes(content)
    result = invoke(str(path), "--tenant", "acme", "--dry-run")
    assert result.exit_code == 1
    assert says in result.stderr
    assert str(path) in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_a_directory_or_a_bad_tenant_exits_1(tmp_path: Path, mixed: Path) -> None:
    result = invoke(str(tmp_path), "--tenant", "acme", "--dry-run")
    assert result.exit_code == 1 and "is a directory" in result.stderr
    result = invoke(str(mixed), "--tenant", "ac:me", "--dry-run")
    assert result.exit_code == 1 and "tenant_id 'ac:me'" in result.stderr
