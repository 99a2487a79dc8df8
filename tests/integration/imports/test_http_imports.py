"""Imports through the API (`POST /v1/tenants/{tenant}/imports`) on the real broker, with tenant
API keys: happy paths, every error answer in the API's one error shape, and the counts a status
reports equal to the events on `cobranca.clients` (read back read_committed)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from connectors.api.app import create_app
from connectors.api.credentials import (
    KEY_PREFIX,
    TokenSigner,
    new_key_id,
    new_secret,
    write_signing_key,
)
from connectors.api.identity import IdentityService
from connectors.api.settings import ApiSettings
from connectors.imports.server import ImportService, ServiceSettings, TenantImportSettings
from streams.base.settings import Settings
from streams.base.topics import CLIENTS
from streams.domain.identity import Permission, record_key
from streams.domain.identity.keys import issue_key, key_hash
from streams.ops.api_server import ClickHouseReports, KafkaApiLog, WahaSessions
from streams.ops.imports_server import KafkaEventStore
from streams.runtime.log_reader import PositionReader
from tests.kafka_helpers import read_committed
from tests.unit.imports.sample import EXPECTED_ROWS, EXPECTED_SUMMARY, MIXED
from tests.unit.imports.workbooks import Cell, xlsx_bytes

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IMPORT_SCOPES = frozenset({Permission.IMPORTS_WRITE, Permission.IMPORTS_READ})

# The server runs on the fixtures' (session) loop, so the tests must run on that loop too.
pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


class Api:
    """The API running in-process on the broker, and two tenants' import keys."""

    def __init__(
        self,
        server: TestServer,
        log: KafkaApiLog,
        service: ImportService,
        tenant: str,
        other: str,
        keys: dict[str, str],
    ) -> None:
        self.server = server
        self.log = log
        self.service = service
        self.tenant = tenant
        self.other = other
        self.keys = keys

    async def issue(self, tenant: str, scopes: frozenset[Permission] = IMPORT_SCOPES) -> str:
        """A new API key of `tenant` (what `POST /v1/tenants/{tenant}/keys` records)."""
        secret = new_secret(KEY_PREFIX)
        event = issue_key(
            new_key_id(),
            tenant,
            "erp",
            scopes,
            key_hash(secret),
            actor="test",
            now=datetime.now(UTC),
        )
        await self.log.append([(event, record_key(event))])
        return secret

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    def imports(self, tenant: str | None = None) -> str:
        return self.url(f"/v1/tenants/{tenant or self.tenant}/imports")

    def auth(self, tenant: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[tenant or self.tenant]}"}

    async def post(
        self,
        body: Any,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        tenant: str | None = None,
    ) -> tuple[int, dict[str, Any], Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                self.imports(tenant),
                data=body,
                headers={**self.auth(), **(headers or {})},
                params=params,
            ) as response,
        ):
            return response.status, await response.json(), response.headers

    async def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                self.url(path), headers=self.auth() if headers is None else headers
            ) as response,
        ):
            return response.status, await response.json()

    async def wait_finished(self, location: str) -> dict[str, Any]:
        timeout = 120.0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, body = await self.get(location)
            assert status == 200, body
            if body["state"] != "running":
                return dict(body)
            await asyncio.sleep(0.2)
        raise AssertionError(f"{location} still running after {timeout:.0f}s")


async def _api(
    tmp_path: Path,
    bootstrap: str,
    *,
    store: str | None = None,
    tenant_settings: TenantImportSettings | None = None,
    **service_options: Any,
) -> AsyncIterator[Api]:
    """The API application (`connectors/api/app.py`) with its identity on `bootstrap` and its
    imports stored at `store` (default: the same broker); a tenant and another, each with a key
    holding the imports scopes."""
    folder = tmp_path / "signing"
    write_signing_key(folder, "k1")
    settings = ApiSettings(folder, rate_per_s=100_000.0, rate_burst=100_000)
    log = KafkaApiLog(bootstrap)
    await log.start(3)
    service = ImportService(
        replace(ServiceSettings(), **service_options),
        KafkaEventStore(store or bootstrap),
        tenant_settings,
    )
    identity = IdentityService(settings, log, TokenSigner(folder))
    # Never asked: no route these tests call reads analytics or WhatsApp.
    reports = ClickHouseReports(Settings.from_env({}), PositionReader(bootstrap))
    whatsapp = WahaSessions(Settings.from_env({}), log.tenants)
    app = create_app(
        settings, identity, log, log, reports, whatsapp, service, metrics=service.registry
    )
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        api = Api(
            server, log, service, f"t-{uuid.uuid4().hex[:8]}", f"o-{uuid.uuid4().hex[:8]}", {}
        )
        for tenant in (api.tenant, api.other):
            api.keys[tenant] = await api.issue(tenant)
        yield api
    finally:
        await server.close()
        service.close()
        await log.stop()


@pytest.fixture
async def api(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[Api]:
    async for value in _api(tmp_path, kafka_bootstrap, max_bytes=2_000_000):
        yield value


async def _events(bootstrap: str, import_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        ((key or b"").decode(), value)
        for key, value in await read_committed(bootstrap, CLIENTS.name)
        if value.get("import_id") == import_id
    ]


def _counts_of(events: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """What an auditor counts on the topic: row events by outcome, and the completion(s)."""
    rows = [v for _, v in events if v["header"]["event_type"] != "ImportCompleted"]
    by_reason: dict[str, int] = {}
    for value in rows:
        if value["header"]["event_type"] == "ImportRejected":
            by_reason[value["reason"]] = by_reason.get(value["reason"], 0) + 1
    accepted = sum(1 for v in rows if v["header"]["event_type"] == "ClientImported")
    return {
        "rows": len(rows),
        "accepted": accepted,
        "rejected": len(rows) - accepted,
        "by_reason": dict(sorted(by_reason.items())),
    }


def _summary(status: dict[str, Any]) -> dict[str, Any]:
    return {k: status[k] for k in ("rows", "accepted", "rejected", "by_reason")}


async def _check_against_topic(
    bootstrap: str, status: dict[str, Any], tenant: str
) -> list[tuple[str, dict[str, Any]]]:
    events = await _events(bootstrap, status["import_id"])
    completions = [v for _, v in events if v["header"]["event_type"] == "ImportCompleted"]
    assert len(completions) == 1
    assert _summary(completions[0]) == _summary(status) == _counts_of(events)
    assert status["accepted"] + status["rejected"] == status["rows"]
    assert {v["header"]["tenant_id"] for _, v in events} == {tenant}
    return events


# -- happy paths -----------------------------------------------------------------------------


async def test_a_csv_upload_is_accepted_and_its_status_matches_the_topic(
    api: Api, kafka_bootstrap: str
) -> None:
    status, body, headers = await api.post(
        MIXED.encode("cp1252"), headers={"Content-Type": "text/csv; charset=windows-1252"}
    )
    assert status == 202, body
    assert headers["Location"] == f"/v1/tenants/{api.tenant}/imports/{body['import_id']}"
    assert body["state"] in ("running", "completed")
    final = await api.wait_finished(headers["Location"])
    assert final["state"] == "completed" and final["error"] is None
    assert final["format"] == "csv"
    assert _summary(final) == EXPECTED_SUMMARY
    events = await _check_against_topic(kafka_bootstrap, final, api.tenant)
    outcomes = {
        v["row"]: "accepted" if v["header"]["event_type"] == "ClientImported" else v["reason"]
        for _, v in events
        if "row" in v
    }
    assert outcomes == EXPECTED_ROWS
    for key, value in events:  # the same keys as `cobranca import`
        if value["header"]["event_type"] == "ClientImported":
            assert key == f"{api.tenant}:{value['client_id']}"
        else:
            assert key == f"{api.tenant}:{final['import_id']}"


@pytest.mark.parametrize(
    ("headers", "params"),
    [
        ({"Content-Type": XLSX_TYPE}, None),
        ({"Content-Type": "application/vnd.ms-excel"}, None),  # the body's signature tells
        ({"Content-Type": "application/octet-stream"}, {"format": "xlsx"}),
    ],
)
async def test_an_xlsx_upload_is_read_whole_then_imported_like_its_csv(
    api: Api, kafka_bootstrap: str, headers: dict[str, str], params: dict[str, str] | None
) -> None:
    rows: list[list[Cell]] = [["Código", "Nome", "Celular", "CPF", "Valor", "Vencimento"]]
    for n in range(300):
        phone = 20987654321 if n % 10 == 3 else 11987650000 + n
        rows.append([f"c{n}", f"Cliente {n}", phone, 52998224725, 1234.56, date(2026, 12, 5)])
    status, body, response_headers = await api.post(
        xlsx_bytes(rows), headers=headers, params=params
    )
    assert status == 202, body
    final = await api.wait_finished(response_headers["Location"])
    assert final["state"] == "completed" and final["format"] == "xlsx"
    assert _summary(final) == {
        "rows": 300,
        "accepted": 270,
        "rejected": 30,
        "by_reason": {"invalid_phone": 30},
    }
    events = await _check_against_topic(kafka_bootstrap, final, api.tenant)
    first = next(v for _, v in events if v.get("row") == 1)
    assert first["amount_centavos"] == 123456 and first["phone_e164"] == "+5511987650000"


async def test_a_corrupt_xlsx_upload_is_refused_with_400(api: Api) -> None:
    status, body, _ = await api.post(
        xlsx_bytes([["codigo"]])[:-100], headers={"Content-Type": XLSX_TYPE}
    )
    assert status == 400, body
    assert body["error"]["code"] == "unreadable_body"
    assert "the workbook cannot be read" in body["error"]["message"]


def _ndjson(rows: int, bad_every: int = 10) -> bytes:
    lines = []
    for n in range(rows):
        phone = "(20) 98765-4321" if n % bad_every == 3 else f"+55 11 9{n % 10000:04d}-{n:04d}"[:19]
        lines.append(
            json.dumps(
                {
                    "client_id": f"c{n}",
                    "nome": f"Cliente {n}",
                    "celular": phone,
                    "cpf": "529.982.247-25",
                    "valor": "1.234,56",
                    "vencimento": "05/12/2026",
                },
                ensure_ascii=False,
            )
        )
    return ("\n".join(lines) + "\n").encode()


async def _chunks(payload: bytes, size: int = 8_192) -> AsyncIterator[bytes]:
    """The payload with chunked transfer encoding: no Content-Length."""
    for start in range(0, len(payload), size):
        yield payload[start : start + size]
        await asyncio.sleep(0)


async def test_an_ndjson_upload_streamed_in_chunks(api: Api, kafka_bootstrap: str) -> None:
    body = _ndjson(3_000)
    import_id = f"imp-{uuid.uuid4().hex[:8]}"
    status, answer, headers = await api.post(
        _chunks(body, 7_001),
        headers={"Content-Type": "application/x-ndjson"},
        params={"import_id": import_id},
    )
    assert status == 202, answer
    assert answer["import_id"] == import_id
    final = await api.wait_finished(headers["Location"])
    assert final["state"] == "completed" and final["format"] == "ndjson"
    assert final["bytes_received"] == len(body)
    assert final["rows"] == 3_000
    assert final["by_reason"] == {"invalid_phone": 300}
    await _check_against_topic(kafka_bootstrap, final, api.tenant)


async def test_the_format_query_parameter_wins_and_detection_without_a_type(api: Api) -> None:
    status, body, headers = await api.post(
        _ndjson(5), headers={"Content-Type": "application/octet-stream"}
    )
    assert status == 202, body
    assert (await api.wait_finished(headers["Location"]))["format"] == "ndjson"
    status, body, headers = await api.post(
        MIXED.encode(), headers={"Content-Type": "application/json"}, params={"format": "csv"}
    )
    assert status == 202, body
    assert _summary(await api.wait_finished(headers["Location"])) == EXPECTED_SUMMARY


# -- errors ----------------------------------------------------------------------------------


def _error(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The one error shape: code, message, details (and nothing else)."""
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    error = body["error"]
    return error["code"], error["message"], error["details"]


async def test_401_without_or_with_a_bad_key(api: Api) -> None:
    for headers in (
        {"Authorization": ""},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer " + new_secret(KEY_PREFIX)},  # well formed, never issued
        {"Authorization": "Bearer x"},
    ):
        status, body, answer_headers = await api.post(MIXED.encode(), headers=headers)
        assert status == 401, (headers, body)
        code, message, _ = _error(body)
        assert code == "unauthorized" and message
        assert answer_headers["WWW-Authenticate"].startswith("Bearer")
    status, body = await api.get(f"/v1/tenants/{api.tenant}/imports/x", headers={})
    assert status == 401


async def test_403_with_the_key_of_another_tenant(api: Api, kafka_bootstrap: str) -> None:
    status, body, _ = await api.post(MIXED.encode(), headers=api.auth(api.other))
    assert status == 403, body
    code, message, _ = _error(body)
    assert code == "forbidden" and api.tenant in message
    status, _, headers = await api.post(MIXED.encode())
    assert status == 202
    status, body = await api.get(headers["Location"], headers=api.auth(api.other))
    assert status == 403, body


async def test_403_for_a_key_without_the_imports_scopes(api: Api) -> None:
    reader = await api.issue(api.tenant, frozenset({Permission.IMPORTS_READ}))
    other = await api.issue(api.tenant, frozenset({Permission.REPORTS_READ}))
    status, body, _ = await api.post(MIXED.encode(), headers={"Authorization": f"Bearer {reader}"})
    assert status == 403 and "imports:write" in _error(body)[1], body
    status, _, headers = await api.post(MIXED.encode())
    assert status == 202
    status, body = await api.get(headers["Location"], headers={"Authorization": f"Bearer {reader}"})
    assert status == 200, body
    status, body = await api.get(headers["Location"], headers={"Authorization": f"Bearer {other}"})
    assert status == 403 and "imports:read" in _error(body)[1], body


async def test_404_for_an_unknown_import(api: Api) -> None:
    status, body = await api.get(f"/v1/tenants/{api.tenant}/imports/{uuid.uuid4()}")
    assert status == 404, body
    assert _error(body)[0] == "unknown_import"


async def test_415_for_an_unknown_format(api: Api) -> None:
    for headers, params in (
        ({"Content-Type": "application/xml"}, None),
        ({"Content-Type": "multipart/form-data; boundary=x"}, None),
        ({"Content-Type": "text/csv"}, {"format": "pdf"}),
    ):
        status, body, _ = await api.post(MIXED.encode(), headers=headers, params=params)
        assert status == 415, body
        code, message, _ = _error(body)
        assert code == "unsupported_format"
    assert "--data-binary" in message or "format=csv" in message


async def test_400_says_what_where_and_why(api: Api, kafka_bootstrap: str) -> None:
    status, body, _ = await api.post(b"PK\x03\x04" + b"\x00" * 100)
    assert status == 400, body
    code, message, details = _error(body)
    assert code == "unreadable_body"
    assert details["source"] == "request body" and "not a workbook" in message
    status, body, _ = await api.post(b"nome;valor\nAna;10\n", params={"format": "csv"})
    assert status == 400, body
    _, message, details = _error(body)
    assert details["line"] == 1 and "header" in message
    assert details["status"]["state"] == "failed"
    assert details["status"]["error"]["code"] == "unreadable_body"
    assert await _events(kafka_bootstrap, details["import_id"]) == []  # nothing was produced
    status, body, _ = await api.post(MIXED.encode(), params={"import_id": "no spaces please"})
    assert status == 400 and _error(body)[0] == "bad_parameter", body


async def test_400_for_a_header_past_its_limits(api: Api, kafka_bootstrap: str) -> None:
    """Issue 18: a wide header took memory in the square of its columns; now it is refused."""
    header = "codigo;nome;celular;cpf;valor;vencimento" + "".join(f";c{i}" for i in range(600))
    status, body, _ = await api.post(f"{header}\nc1;Ana\n".encode(), params={"format": "csv"})
    assert status == 400, body
    code, message, details = _error(body)
    assert code == "unreadable_body" and details["line"] == 1
    assert "606 columns" in message and "at most 500" in message
    status, body, _ = await api.post(("codigo;" + "x" * 70_000 + "\n").encode())
    assert status == 400, body
    _, message, details = _error(body)
    assert "longer than 65,536 bytes" in message
    assert await _events(kafka_bootstrap, details["import_id"]) == []


async def test_409_while_an_import_of_the_same_id_runs(api: Api) -> None:
    release = asyncio.Event()

    async def held() -> AsyncIterator[bytes]:
        yield b"codigo;nome;celular;cpf;valor;vencimento\n"
        await release.wait()

    import_id = f"imp-{uuid.uuid4().hex[:8]}"
    csv, params = {"Content-Type": "text/csv"}, {"import_id": import_id}
    first = asyncio.ensure_future(api.post(held(), headers=csv, params=params))
    deadline = time.monotonic() + 30
    while api.service.running == 0:
        assert time.monotonic() < deadline, "the first import never started"
        await asyncio.sleep(0.05)
    status, body, _ = await api.post(MIXED.encode(), headers=csv, params=params)
    assert status == 409 and _error(body)[0] == "import_running", body
    release.set()
    assert (await first)[0] == 202


async def test_413_by_content_length_and_while_streaming(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async for small in _api(tmp_path, kafka_bootstrap, max_bytes=100_000):
        status, body, _ = await small.post(_ndjson(1_000))  # Content-Length says it all
        assert status == 413, body
        code, message, _ = _error(body)
        assert code == "body_too_large" and "100,000" in message
        status, body, _ = await small.post(_chunks(_ndjson(2_000)), params={"format": "ndjson"})
        assert status == 413, body
        import_id = _error(body)[2]["import_id"]
        # The rows read before the limit are stored and answered as an incomplete import.
        final = await small.wait_finished(f"/v1/tenants/{small.tenant}/imports/{import_id}")
        assert final["state"] == "incomplete"
        assert final["error"]["code"] == "body_too_large"
        events = await _events(kafka_bootstrap, import_id)
        completions = [v for _, v in events if v["header"]["event_type"] == "ImportCompleted"]
        assert [c["incomplete"] for c in completions] == [True]
        assert _summary(completions[0]) == _summary(final) == _counts_of(events)


async def test_503_when_kafka_is_down_and_the_import_is_failed(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    # The API's identity is on the broker; the imports' store is a Kafka that does not answer.
    async for down in _api(tmp_path, kafka_bootstrap, store="127.0.0.1:1"):
        status, body, _ = await down.post(MIXED.encode(), headers={"Content-Type": "text/csv"})
        assert status == 503, body
        code, message, details = _error(body)
        assert code == "kafka_unavailable" and "127.0.0.1:1" in message
        status, polled = await down.get(f"/v1/tenants/{down.tenant}/imports/{details['import_id']}")
        assert status == 200 and polled["state"] == "failed"
        assert polled["error"]["code"] == "kafka_unavailable"
        async with (
            aiohttp.ClientSession() as session,
            session.get(down.url("/metrics")) as response,
        ):
            assert response.status == 200
            text = await response.text()
        assert 'cobranca_imports_total{state="failed"} 1.0' in text
        assert 'cobranca_import_requests_total{status="503"} 1.0' in text
        assert 'cobranca_import_requests_total{status="200"} 1.0' in text  # the GET


async def test_healthz(api: Api) -> None:
    status, body = await api.get("/healthz", headers={})
    assert status == 200 and body["status"] == "ok"
