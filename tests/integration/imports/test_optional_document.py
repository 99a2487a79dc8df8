"""Issue 15 on the real broker: files without CPF/CNPJ are imported, row by row, unless the
tenant's configuration says ``imports: {require_document: true}``; then every such row is
`missing_field document`. Through `cobranca import` and the API's imports, both of which learn
the setting from the tenant's TenantConfigured on the tenants topic."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from streams.base.settings import Settings
from streams.base.topics import CLIENTS
from streams.ops.imports_cli import import_command
from streams.ops.imports_server import KafkaTenantImportSettings
from streams.runtime.tenants import apply_config
from tests.integration.imports.test_http_imports import Api, _api
from tests.kafka_helpers import configure_tenant, read_committed, tenant_config

pytestmark = pytest.mark.integration

REQUIRED = {"imports": {"require_document": True}}

#: Debtors of a gym: no CPF, in the spellings a JSON export uses.
ROWS: list[dict[str, object]] = [
    {
        "client_id": f"aluno-{n}",
        "name": f"Aluno {n}",
        "phone": f"(11) 9{8765_4300 + n:08d}",
        "amount": "129,90",
        "due_date": "05/12/2026",
        "description": "Mensalidade dezembro",
    }
    for n in range(1, 8)
]
ROWS[1] = {"codigo": "aluno-2", "nome": "Aluno 2", "celular": 11987654302, "valor": 129.9}
ROWS[1]["vencimento"] = "2026-12-05"


def json_array() -> bytes:
    return json.dumps(ROWS, ensure_ascii=False).encode()


def ndjson() -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in ROWS).encode()


def _events(bootstrap: str, import_id: str) -> list[dict[str, Any]]:
    records = asyncio.run(read_committed(bootstrap, CLIENTS.name))
    return [value for _, value in records if value.get("import_id") == import_id]


def _import(bootstrap: str, path: Path, tenant: str, *options: str) -> tuple[int, str, str]:
    import_id = f"imp-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env({"COBRANCA_KAFKA_BOOTSTRAP": bootstrap})
    result = CliRunner().invoke(
        import_command,
        [str(path), "--tenant", tenant, "--import-id", import_id, *options],
        obj=settings,
    )
    return result.exit_code, result.output, import_id


@pytest.mark.parametrize(
    ("name", "content"), [("alunos.json", json_array), ("alunos.ndjson", ndjson)]
)
def test_a_file_without_documents_is_accepted_row_by_row(
    kafka_bootstrap: str, tmp_path: Path, name: str, content: Any
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, tenant)  # the default: the document is optional
    path = tmp_path / name
    path.write_bytes(content())

    code, output, import_id = _import(kafka_bootstrap, path, tenant)

    assert code == 0, output
    summary = json.loads(output.splitlines()[-1])
    assert summary == {"rows": 7, "accepted": 7, "rejected": 0, "by_reason": {}}
    events = _events(kafka_bootstrap, import_id)
    clients = [e for e in events if e["header"]["event_type"] == "ClientImported"]
    assert sorted(c["client_id"] for c in clients) == [f"aluno-{n}" for n in range(1, 8)]
    for client in clients:
        assert client["header"]["schema_version"] == 2
        assert client["document"] is None and client["document_kind"] is None
        assert client["phone_e164"].startswith("+55119")
    assert [e["accepted"] for e in events if "accepted" in e] == [7]


@pytest.mark.parametrize(
    ("name", "content"), [("alunos.json", json_array), ("alunos.ndjson", ndjson)]
)
def test_a_tenant_that_requires_the_document_gets_missing_field_per_row(
    kafka_bootstrap: str, tmp_path: Path, name: str, content: Any
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, tenant, **REQUIRED)
    path = tmp_path / name
    path.write_bytes(content())

    code, output, import_id = _import(kafka_bootstrap, path, tenant)

    assert code == 0, output
    assert "CPF/CNPJ required" in output
    summary = json.loads(output.splitlines()[-1])
    assert summary == {"rows": 7, "accepted": 0, "rejected": 7, "by_reason": {"missing_field": 7}}
    rejected = [
        e
        for e in _events(kafka_bootstrap, import_id)
        if e["header"]["event_type"] == "ImportRejected"
    ]
    assert sorted(r["row"] for r in rejected) == list(range(1, 8))
    assert {(r["reason"], r["field"]) for r in rejected} == {("missing_field", "document")}


def test_csv_documents_blank_invalid_and_required(kafka_bootstrap: str, tmp_path: Path) -> None:
    optional, required = f"t-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    configure_tenant(kafka_bootstrap, optional)
    configure_tenant(kafka_bootstrap, required, **REQUIRED)
    lines = [
        "codigo;nome;celular;cpf;valor;vencimento",
        "c1;Ana;11987654321;;10;05/12/2026",  # empty cell: no document
        "c2;Bia;11987654322;   ;10;05/12/2026",  # spaces: no document
        "c3;Caio;11987654323;000.000.000-00;10;05/12/2026",  # there, and invalid
        "c4;Duda;11987654324;529.982.247-25;10;05/12/2026",
        "c5;Edu;11987654325;12.ABC.345/01DE-35;10;05/12/2026",  # alphanumeric CNPJ
    ]
    path = tmp_path / "clientes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    code, output, import_id = _import(kafka_bootstrap, path, optional)
    assert code == 0, output
    assert json.loads(output.splitlines()[-1])["by_reason"] == {"invalid_document": 1}
    clients = {
        e["client_id"]: e
        for e in _events(kafka_bootstrap, import_id)
        if e["header"]["event_type"] == "ClientImported"
    }
    assert {k: (v["document"], v["document_kind"]) for k, v in clients.items()} == {
        "c1": (None, None),
        "c2": (None, None),
        "c4": ("52998224725", "CPF"),
        "c5": ("12ABC34501DE35", "CNPJ"),
    }

    code, output, _ = _import(kafka_bootstrap, path, required)
    assert code == 0, output
    assert json.loads(output.splitlines()[-1])["by_reason"] == {
        "invalid_document": 1,
        "missing_field": 2,
    }

    no_column = tmp_path / "sem-cpf.csv"
    no_column.write_text("codigo;nome;celular;valor;vencimento\nc1;Ana;11987654321;10;05/12/2026\n")
    code, output, _ = _import(kafka_bootstrap, no_column, required)
    assert code == 1
    assert "no column for required field 'document'" in output
    code, output, _ = _import(kafka_bootstrap, no_column, optional)
    assert code == 0 and json.loads(output.splitlines()[-1])["accepted"] == 1


def test_a_dry_run_requires_the_document_only_when_told(tmp_path: Path) -> None:
    path = tmp_path / "alunos.ndjson"
    path.write_bytes(ndjson())
    runner = CliRunner()
    tenant = "sem-kafka"

    plain = runner.invoke(import_command, [str(path), "--tenant", tenant, "--dry-run"])
    told = runner.invoke(
        import_command, [str(path), "--tenant", tenant, "--dry-run", "--require-document"]
    )

    assert json.loads(plain.stdout.splitlines()[-1])["accepted"] == 7
    assert json.loads(told.stdout.splitlines()[-1])["by_reason"] == {"missing_field": 7}


# --- the API's imports ---------------------------------------------------------------------


@pytest.fixture
async def api(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Api]:
    """The API with the imports reading each tenant's settings from the tenants topic, as
    `cobranca api serve` runs them."""
    async for value in _api(
        tmp_path, kafka_bootstrap, tenant_settings=KafkaTenantImportSettings(kafka_bootstrap)
    ):
        yield value


@pytest.mark.asyncio(loop_scope="session")
async def test_the_api_imports_follow_the_tenants_setting(api: Api, kafka_bootstrap: str) -> None:
    optional, required = api.tenant, api.other
    await apply_config(kafka_bootstrap, tenant_config(optional))
    await apply_config(kafka_bootstrap, tenant_config(required, **REQUIRED))
    finished = {}
    for tenant in (optional, required):
        status, body, headers = await api.post(
            ndjson(), params={"format": "ndjson"}, headers=api.auth(tenant), tenant=tenant
        )
        assert status == 202, body
        for _ in range(600):
            status, polled = await api.get(headers["Location"], headers=api.auth(tenant))
            assert status == 200, polled
            if polled["state"] != "running":
                break
            await asyncio.sleep(0.1)
        finished[tenant] = polled

    assert finished[optional]["state"] == "completed", finished[optional]
    assert (finished[optional]["accepted"], finished[optional]["rejected"]) == (7, 0)
    assert finished[required]["state"] == "completed", finished[required]
    assert finished[required]["by_reason"] == {"missing_field": 7}
