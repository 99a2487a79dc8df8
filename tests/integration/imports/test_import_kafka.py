"""Imports into the real broker, read back as an auditor would (read_committed, from the start)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from connectors.imports.importer import import_rows, send_import
from streams.base.settings import Settings
from streams.base.topics import CLIENTS
from streams.ops.imports_cli import import_command
from streams.runtime.producer import EventProducer
from tests.kafka_helpers import read_committed
from tests.unit.imports.sample import EXPECTED_ROWS, EXPECTED_SUMMARY, MIXED

pytestmark = pytest.mark.integration


def _of_import(
    records: list[tuple[bytes | None, dict[str, Any]]], import_id: str
) -> list[tuple[str, dict[str, Any]]]:
    return [
        ((key or b"").decode(), value)
        for key, value in records
        if value.get("import_id") == import_id
    ]


def _check_import(records: list[tuple[str, dict[str, Any]]], tenant: str, import_id: str) -> None:
    kinds = [value["header"]["event_type"] for _, value in records]
    assert kinds.count("ImportCompleted") == 1
    rows = [(key, value) for key, value in records if "row" in value]
    outcomes = {
        value["row"]: "accepted"
        if value["header"]["event_type"] == "ClientImported"
        else value["reason"]
        for _, value in rows
    }
    assert outcomes == EXPECTED_ROWS
    assert len(rows) == len(EXPECTED_ROWS)  # each row exactly once
    (completed,) = [v for _, v in records if v["header"]["event_type"] == "ImportCompleted"]
    assert {k: completed[k] for k in ("rows", "accepted", "rejected", "by_reason")} == (
        EXPECTED_SUMMARY
    )
    assert completed["accepted"] + completed["rejected"] == completed["rows"] == len(rows)
    for key, value in records:
        assert value["header"]["tenant_id"] == tenant
        assert value["header"]["correlation_id"] == import_id
        assert value["header"]["source"] == "connectors.imports"
        if value["header"]["event_type"] == "ClientImported":
            assert key == f"{tenant}:{value['client_id']}"
        else:
            assert key == f"{tenant}:{import_id}"


async def test_an_import_ends_with_row_events_and_one_matching_completion(
    kafka_bootstrap: str,
) -> None:
    tenant, import_id = f"t-{uuid.uuid4().hex[:8]}", f"imp-{uuid.uuid4().hex[:8]}"
    run = import_rows(io.BytesIO(MIXED.encode()), tenant_id=tenant, import_id=import_id)
    async with EventProducer(kafka_bootstrap) as producer:
        summary = await send_import(run, producer, batch_size=3)
    assert summary.as_dict() == EXPECTED_SUMMARY
    records = _of_import(await read_committed(kafka_bootstrap, CLIENTS.name), import_id)
    _check_import(records, tenant, import_id)
    accepted = {
        v["client_id"]: v for _, v in records if v["header"]["event_type"] == "ClientImported"
    }
    assert accepted["c1"]["phone_e164"] == "+5511987654321"
    assert accepted["c1"]["description"] == "=CMD()"
    assert accepted["c2"]["document_kind"] == "CNPJ"


def test_the_command_imports_into_kafka(kafka_bootstrap: str, tmp_path: Path) -> None:
    path = tmp_path / "clientes.csv"
    path.write_bytes(MIXED.encode("cp1252"))
    tenant, import_id = f"t-{uuid.uuid4().hex[:8]}", f"imp-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env({"COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap})
    result = CliRunner().invoke(
        import_command,
        [str(path), "--tenant", tenant, "--import-id", import_id, "--force"],
        obj=settings,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[-1]) == EXPECTED_SUMMARY
    records = _of_import(asyncio.run(read_committed(kafka_bootstrap, CLIENTS.name)), import_id)
    _check_import(records, tenant, import_id)


def test_a_rerun_under_the_same_import_id_repeats_the_event_ids(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    path = tmp_path / "clientes.csv"
    path.write_text(MIXED, encoding="utf-8")
    tenant, import_id = f"t-{uuid.uuid4().hex[:8]}", f"imp-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env({"COBRANCA_KAFKA_BOOTSTRAP": kafka_bootstrap})
    for _ in range(2):
        result = CliRunner().invoke(
            import_command,
            [str(path), "--tenant", tenant, "--import-id", import_id, "--force"],
            obj=settings,
        )
        assert result.exit_code == 0, result.output
    records = _of_import(asyncio.run(read_committed(kafka_bootstrap, CLIENTS.name)), import_id)
    ids = [value["header"]["event_id"] for _, value in records]
    assert len(ids) == 2 * (len(EXPECTED_ROWS) + 1)
    assert len(set(ids)) == len(EXPECTED_ROWS) + 1  # deduplicating on event_id sees one import


def test_without_a_broker_the_import_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "clientes.csv"
    path.write_text(MIXED, encoding="utf-8")
    settings = Settings.from_env({"COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
    result = CliRunner().invoke(
        import_command,
        [str(path), "--tenant", "acme", "--import-id", "imp-9", "--force"],
        obj=settings,
    )
    assert result.exit_code == 1
    assert "cobranca broker start" in result.stderr
    assert "--import-id imp-9" in result.stderr
    assert "Traceback" not in result.output


def test_cobranca_import_dry_run_from_a_shell(tmp_path: Path) -> None:
    from streams.ops.cli import main

    if "import" not in main.commands:
        pytest.skip("`import` is not registered on the cobranca group in streams/ops/cli.py yet")
    path = tmp_path / "clientes.csv"
    path.write_bytes(MIXED.encode("cp1252"))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.ops.cli",
            "import",
            str(path),
            "--tenant",
            "acme",
            "--dry-run",
        ],
        env={**os.environ, "COBRANCA_KAFKA_BOOTSTRAP": "127.0.0.1:1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == EXPECTED_SUMMARY
    assert "Traceback" not in done.stderr
    missing = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams.ops.cli",
            "import",
            str(tmp_path / "nope.csv"),
            "--tenant",
            "a",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 1
    assert "no such file" in missing.stderr and "Traceback" not in missing.stderr
