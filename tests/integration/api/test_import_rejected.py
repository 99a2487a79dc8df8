"""An import's rejected rows as CSV (`GET /v1/tenants/{t}/imports/{id}/rejected`) on the real
broker and ClickHouse: a file with bad rows imported through the API, the rows its ImportRejected
events carry, unmasked for an admin and masked for a viewer and a key without personal data."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest

from connectors.api.credentials import write_signing_key
from connectors.api.settings import ApiSettings
from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
from connectors.clickhouse.raw_tables import RawTableWriter
from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.api_server import running_api
from tests.integration.api.test_api import (
    Api,
    Tenant,
    _create_admin,
    _settings,
    _tenant,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

GOOD = "m1;Maria da Silva;(11) 98765-4321;R$ 1.234,56;05/12/2026;NF-1\n"
BAD_PHONE = "b2;Beto Lima;12345;150;2026-12-20;NF-2\n"
BAD_AMOUNT = "c3;Carla Dias;(21) 99876-5432;muito;2026-12-20;NF-3\n"
HEADER = "Código;Nome;Celular;Valor;Vencimento;Fatura\n"


@pytest.fixture(scope="module")
async def api(
    kafka_bootstrap: str, clickhouse_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[Api, str, Settings]]:
    database = f"rejected_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    analytics = replace(clickhouse_settings, clickhouse_database=database)
    keys: Path = tmp_path_factory.mktemp("signing")
    write_signing_key(keys, "k1")
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    await _create_admin(kafka_bootstrap, email)
    api_settings = replace(
        ApiSettings(keys), port=free_port(), rate_burst=10_000, rate_per_s=10_000.0
    )
    async with (
        running_api(_settings(kafka_bootstrap, analytics), api_settings),
        aiohttp.ClientSession() as session,
    ):
        running = Api(f"http://127.0.0.1:{api_settings.port}", session, api_settings)
        platform = (await running.login(email))["access_token"]
        yield running, platform, analytics


async def _import(client: Api, tenant: Tenant, text: str) -> dict[str, object]:
    async with client.session.post(
        f"{client.base}/v1/tenants/{tenant.name}/imports",
        data=text.encode(),
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "text/csv"},
    ) as r:
        assert r.status == 202, await r.text()
        location = r.headers["Location"]
    for _ in range(100):
        _, body, _ = await client.call("GET", location, tenant.admin)
        if body["state"] != "running":
            break
        await asyncio.sleep(0.1)
    assert body["state"] == "completed", body
    return dict(body)


async def _sink(kafka_bootstrap: str, analytics: Settings) -> None:
    config = SinkConfig(
        bootstrap=kafka_bootstrap,
        database=analytics.clickhouse_database,
        group_id=f"sink-{uuid.uuid4().hex[:6]}",
    )
    with connect(analytics) as ch:
        await ClickHouseSink(config, ch, RawTableWriter(DEV_PSEUDONYM_KEY)).run(drain=True)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_the_rejected_rows_of_an_import_as_csv(
    api: tuple[Api, str, Settings], kafka_bootstrap: str
) -> None:
    client, platform, analytics = api
    tenant, other = await _tenant(client, platform), await _tenant(client, platform)
    status = await _import(client, tenant, HEADER + GOOD + BAD_PHONE + BAD_AMOUNT)
    assert status["accepted"] == 1 and status["rejected"] == 2
    clean = await _import(client, tenant, HEADER + GOOD)
    path = f"/v1/tenants/{tenant.name}/imports/{status['import_id']}/rejected"

    # Before the sink stored them, the store lags this server's own count: try again later.
    code, body, headers = await client.call("GET", path, tenant.admin)
    assert code == 503 and body["error"]["code"] == "not_yet_stored", body
    assert headers["Retry-After"] == "2"

    await _sink(kafka_bootstrap, analytics)
    code, text, headers = await client.call("GET", path, tenant.admin)
    assert code == 200, text
    assert headers["Content-Type"].startswith("text/csv")
    assert f'filename="rejeitadas-{status["import_id"]}.csv"' in headers["Content-Disposition"]
    assert text.splitlines()[0] == "row,reason,message,field,raw_row"
    rows = _rows(text)
    assert [(r["row"], r["reason"], r["field"]) for r in rows] == [
        ("2", "invalid_phone", "phone"),
        ("3", "invalid_amount", "amount"),
    ], rows
    # The row as the file had it, for the operator to fix and send again; the reason in pt-BR.
    assert [r["raw_row"] for r in rows] == [BAD_PHONE.strip(), BAD_AMOUNT.strip()]
    assert rows[1]["message"].startswith("valor 'muito' não é um valor em reais")

    # Without personal_data:read (a viewer, the key), phones and documents are masked.
    for token in (tenant.viewer, tenant.key):
        code, text, _ = await client.call("GET", path, token)
        assert code == 200
        masked = _rows(text)
        assert "99876-5432" not in text and "(21) 99876" not in text
        assert masked[1]["raw_row"].startswith("c3;Carla Dias;21998****32;muito")
        assert [r["reason"] for r in masked] == ["invalid_phone", "invalid_amount"]
    code, text, _ = await client.call("GET", path, tenant.operator)
    assert code == 200 and "(21) 99876-5432" in text

    # An import without rejections: the header only. Unknown imports and other tenants: refused.
    code, text, _ = await client.call(
        "GET", f"/v1/tenants/{tenant.name}/imports/{clean['import_id']}/rejected", tenant.admin
    )
    assert code == 200 and _rows(text) == [] and text.startswith("row,reason")
    code, body, _ = await client.call(
        "GET", f"/v1/tenants/{tenant.name}/imports/nope/rejected", tenant.admin
    )
    assert code == 404 and body["error"]["code"] == "not_found"
    code, body, _ = await client.call("GET", path, other.admin)
    assert code == 403
    code, body, _ = await client.call(
        "GET", f"/v1/tenants/{other.name}/imports/{status['import_id']}/rejected", other.admin
    )
    assert code == 404
