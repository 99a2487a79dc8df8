"""A tenant's configuration through the HTTP API on the real broker and ClickHouse: read it,
replace it (the validation of `cobranca tenants apply`, every problem with its field path and a
Portuguese message, If-Match), preview a régua message for a debtor imported through the API;
and a login through one replica right after the user was made through another."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml

from connectors.api.credentials import write_signing_key
from connectors.api.http import IDENTITY
from connectors.api.routes.config import MAX_CONFIG_BYTES
from connectors.api.settings import ApiSettings
from connectors.clickhouse import apply_migrations, connect
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.base.topics import API_AUDIT, TENANTS
from streams.domain.errors import TenantConfigError
from streams.domain.tenant_config import config_document, parse_tenant_text
from streams.ops.api_server import running_api
from tests.integration.api.test_api import (
    PASSWORD,
    Api,
    Tenant,
    _create_admin,
    _settings,
    _tenant,
    _user,
)
from tests.kafka_helpers import read_committed, tenant_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]


@pytest.fixture(scope="module")
def analytics(clickhouse_settings: Settings) -> Settings:
    """The session's local ClickHouse, with a migrated database of this module's own."""
    database = f"config_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    return replace(clickhouse_settings, clickhouse_database=database)


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signing")
    write_signing_key(folder, "k1")
    return folder


@asynccontextmanager
async def _replica(
    bootstrap: str, analytics: Settings, signing_keys: Path
) -> AsyncIterator[tuple[Api, Any]]:
    """One API replica, listening; yields it and its aiohttp application."""
    api_settings = replace(
        ApiSettings(signing_keys), port=free_port(), rate_burst=10_000, rate_per_s=10_000.0
    )
    async with (
        running_api(_settings(bootstrap, analytics), api_settings) as (runner, _),
        aiohttp.ClientSession() as session,
    ):
        yield Api(f"http://127.0.0.1:{api_settings.port}", session, api_settings), runner.app


@pytest.fixture(scope="module")
async def api(
    kafka_bootstrap: str, analytics: Settings, signing_keys: Path
) -> AsyncIterator[tuple[Api, str]]:
    email = f"admin-{uuid.uuid4().hex[:6]}@example.com"
    await _create_admin(kafka_bootstrap, email)
    async with _replica(kafka_bootstrap, analytics, signing_keys) as (running, _):
        platform = (await running.login(email))["access_token"]
        yield running, platform


def _document(tenant: str, **extra: Any) -> dict[str, Any]:
    config = tenant_config(tenant)
    document = config_document(config)
    document["waha"]["sessions"][0]["webhook_hmac_key"] = "env:ACME_WAHA_HMAC_KEY"
    document["regua"]["steps"].append(
        {
            "when": "D-3",
            "at": "10:00",
            "template": "Olá, {first_name}! Sua fatura {due_relative}, dia {due_date}.",
        }
    )
    return document | extra


async def test_read_replace_and_refuse_configurations(
    api: tuple[Api, str], kafka_bootstrap: str
) -> None:
    client, platform = api
    tenant, other = await _tenant(client, platform), await _tenant(client, platform)
    path = f"/v1/tenants/{tenant.name}/config"
    status, body, _ = await client.call("GET", path, tenant.admin)
    assert status == 404 and body["error"]["code"] == "not_found"

    document = _document(tenant.name)
    status, stored, headers = await client.call("PUT", path, tenant.admin, document)
    assert status == 200, stored
    first_etag = headers["ETag"]
    assert [s["when"] for s in stored["regua"]["steps"]] == ["D-30", "D-3"]
    assert stored["tenant"] == tenant.name
    # What GET answers is what PUT takes: putting it back changes nothing.
    status, read, headers = await client.call("GET", path, tenant.admin)
    assert status == 200 and headers["ETag"] == first_etag
    assert read == stored
    status, same, headers = await client.call("PUT", path, tenant.admin, read)
    assert status == 200 and headers["ETag"] == first_etag and same == stored
    # The operator and the viewer read it without where the secrets are.
    for reader in (tenant.operator, tenant.viewer):
        status, seen, headers = await client.call("GET", path, reader)
        assert status == 200 and headers["ETag"] == first_etag
        assert seen["waha"]["sessions"] == [{"name": f"{tenant.name}-waha"}]
        assert seen | {"waha": stored["waha"]} == stored
    assert stored["waha"]["sessions"][0]["webhook_hmac_key"] == "env:ACME_WAHA_HMAC_KEY"

    # On the log: one TenantConfigured, whatever the identical PUT; the call audited.
    configured = [
        e
        for _, e in await read_committed(kafka_bootstrap, TENANTS.name)
        if e["header"]["tenant_id"] == tenant.name
    ]
    assert len(configured) == 1 and configured[0]["display_name"] == f"Credora {tenant.name}"
    audited = [
        e
        for _, e in await read_committed(kafka_bootstrap, API_AUDIT.name)
        if e["operation"] == "putTenantConfig" and e["header"]["tenant_id"] == tenant.name
    ]
    assert [e["status"] for e in audited] == [200, 200]

    # If-Match: the version read, or 412.
    renamed = stored | {"name": "Credora Renomeada"}
    status, body, headers = await client.call(
        "PUT", path, tenant.admin, renamed, headers={"If-Match": first_etag}
    )
    assert status == 200 and body["name"] == "Credora Renomeada"
    second_etag = headers["ETag"]
    assert second_etag != first_etag
    status, body, _ = await client.call(
        "PUT", path, tenant.admin, stored, headers={"If-Match": first_etag}
    )
    assert status == 412 and body["error"]["code"] == "precondition_failed"
    assert body["error"]["details"]["current"] == second_etag
    status, read, _ = await client.call("GET", path, tenant.viewer)
    assert read["name"] == "Credora Renomeada"

    # Every problem at once, each with its path and a Portuguese message.
    broken = stored | {"prices": {"text": 0, "file": 2, "per_extra_recipient": 1}}
    broken["regua"] = {
        "steps": [
            {"when": "D-3", "template": "Olá"},
            {"when": "D0", "template": "Oi"},
            {"when": "D+3", "template": "Olá {nome}, pague {amount}"},
        ]
    }
    broken["contact"] = {"windows": {"XX": {"weekdays": "08:00-20:00"}}}
    status, body, _ = await client.call("PUT", path, tenant.admin, broken)
    assert status == 422 and body["error"]["code"] == "invalid_config"
    errors = body["error"]["details"]["errors"]
    assert [e["field"] for e in errors] == [
        "prices.text",
        "contact.windows.XX",
        "regua.steps[2].template",
    ]
    template_error = errors[2]
    assert template_error["message"].startswith("linha 1: campo desconhecido {nome}")
    assert "unknown field {nome}" in template_error["message_en"]
    assert errors[0]["message"] == "0 é menor que o mínimo, 1"
    # The same validation as `cobranca tenants apply` of the same file.
    with pytest.raises(TenantConfigError) as caught:
        parse_tenant_text(yaml.safe_dump(broken, allow_unicode=True), source="t.yaml")
    assert [p.path for p in caught.value.problems] == [e["field"] for e in errors]

    # Another tenant's session, another tenant's id, not an object, too large.
    await client.call("PUT", f"/v1/tenants/{other.name}/config", other.admin, _document(other.name))
    taken = stored | {"waha": {"sessions": [{"name": f"{other.name}-waha"}]}}
    status, body, _ = await client.call("PUT", path, tenant.admin, taken)
    assert status == 422
    assert [e["field"] for e in body["error"]["details"]["errors"]] == ["waha.sessions[0].name"]
    status, body, _ = await client.call("PUT", path, tenant.admin, stored | {"tenant": other.name})
    assert status == 422 and body["error"]["details"]["errors"][0]["field"] == "tenant"
    status, body, _ = await client.call("PUT", path, tenant.admin, ["not", "a", "table"])
    assert status == 422 and body["error"]["details"]["errors"][0]["field"] == ""
    huge = stored | {"name": "x" * (MAX_CONFIG_BYTES + 1)}
    status, body, _ = await client.call("PUT", path, tenant.admin, huge)
    assert status == 413 and body["error"]["code"] == "body_too_large"
    status, read, headers = await client.call("GET", path, tenant.admin)
    assert headers["ETag"] == second_etag  # nothing refused was stored

    # Who may write: the tenant's admin and the platform admin, no one else.
    for token in (tenant.operator, tenant.viewer, tenant.key, other.admin):
        status, _, _ = await client.call("PUT", path, token, read)
        assert status == 403
    status, _, _ = await client.call("PUT", path, platform, read)
    assert status == 200


async def _import(client: Api, tenant: Tenant, csv: str) -> None:
    async with client.session.post(
        f"{client.base}/v1/tenants/{tenant.name}/imports",
        data=csv.encode(),
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "text/csv"},
    ) as r:
        assert r.status == 202, await r.text()
        location = r.headers["Location"]
    for _ in range(100):
        _, body, _ = await client.call("GET", location, tenant.admin)
        if body["state"] != "running":
            break
        await asyncio.sleep(0.1)
    assert body["state"] == "completed" and body["accepted"] == csv.count("\n") - 1, body


async def _sink(kafka_bootstrap: str, analytics: Settings) -> None:
    from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
    from connectors.clickhouse.raw_tables import RawTableWriter
    from connectors.clickhouse.sink import ClickHouseSink, SinkConfig

    config = SinkConfig(
        bootstrap=kafka_bootstrap,
        database=analytics.clickhouse_database,
        group_id=f"sink-{uuid.uuid4().hex[:6]}",
    )
    with connect(analytics) as ch:
        await ClickHouseSink(config, ch, RawTableWriter(DEV_PSEUDONYM_KEY)).run(drain=True)


async def test_preview_renders_a_step_for_a_debtor_imported_through_the_api(
    api: tuple[Api, str], kafka_bootstrap: str, analytics: Settings
) -> None:
    client, platform = api
    tenant = await _tenant(client, platform)
    preview = f"/v1/tenants/{tenant.name}/config/preview"
    template = "Olá, {first_name}! {amount} vence em {due_date}.\nPix: {pix_code}\n{company}"
    status, body, _ = await client.call("POST", preview, tenant.admin, {"template": template})
    assert status == 404 and body["error"]["code"] == "no_debtor"

    status, _, _ = await client.call(
        "PUT", f"/v1/tenants/{tenant.name}/config", tenant.admin, _document(tenant.name)
    )
    assert status == 200
    await _import(
        client,
        tenant,
        "Código;Nome;Celular;Valor;Vencimento;Fatura\n"
        "m1;maria  da silva;(11) 98765-4321;R$ 1.234,56;05/12/2026;NF-1\n"
        "j2;João Souza;(21) 99876-5432;150;2026-12-20;NF-2\n",
    )
    await _sink(kafka_bootstrap, analytics)

    status, shown, _ = await client.call(
        "POST", preview, tenant.admin, {"template": template, "client_id": "m1"}
    )
    assert status == 200, shown
    # The régua's own rendering: the line with a field the debtor lacks (Pix) is left out.
    assert shown["text"] == (f"Olá, Maria! R$ 1.234,56 vence em 05/12/2026.\nCredora {tenant.name}")
    assert shown["client_id"] == "m1" and shown["step"] is None
    status, shown, _ = await client.call(
        "POST", preview, platform, {"step": "d-3", "client_id": "j2"}
    )
    assert status == 200 and shown["step"] == "D-3"
    # As on the day D-3 goes out, whatever the day of the preview.
    assert shown["text"] == "Olá, João! Sua fatura vence em 3 dias, dia 20/12/2026."
    status, shown, _ = await client.call("POST", preview, tenant.admin, {"step": "D-3"})
    assert status == 200 and shown["client_id"] in ("m1", "j2")

    status, body, _ = await client.call(
        "POST", preview, tenant.admin, {"template": "Olá {valor}", "client_id": "m1"}
    )
    assert status == 422 and body["error"]["code"] == "invalid_template"
    assert body["error"]["details"]["errors"][0]["field"] == "template"
    assert "campo desconhecido {valor}" in body["error"]["details"]["errors"][0]["message"]
    status, body, _ = await client.call("POST", preview, tenant.admin, {"step": "D+30"})
    assert status == 422 and body["error"]["code"] == "unknown_step"
    status, body, _ = await client.call(
        "POST", preview, tenant.admin, {"template": template, "client_id": "nobody"}
    )
    assert status == 404 and body["error"]["code"] == "no_debtor"
    status, body, _ = await client.call("POST", preview, tenant.admin, {})
    assert status == 400
    for token in (tenant.operator, tenant.viewer, tenant.key):
        status, _, _ = await client.call("POST", preview, token, {"template": template})
        assert status == 403


async def test_a_login_through_one_replica_right_after_another_writer_made_the_user(
    api: tuple[Api, str], kafka_bootstrap: str, analytics: Settings, signing_keys: Path
) -> None:
    """Replica B sees other writers' identity events within a fetch; a lookup that misses
    catches up and looks again. A second producer writes each UserChanged and B's login is
    called in-process right after the acknowledgement: when B was behind at that moment, its
    first lookup surely missed (nothing awaits between the check and the lookup)."""
    from connectors.api.credentials import Passwords
    from streams.domain.identity import accounts, record_key
    from streams.runtime.producer import EventProducer

    a, platform = api
    hashed = await asyncio.to_thread(Passwords().hash, PASSWORD)
    async with (
        _replica(kafka_bootstrap, analytics, signing_keys) as (b, b_app),
        EventProducer(kafka_bootstrap) as producer,
    ):
        identity = b_app[IDENTITY]
        behind = 0
        for trial in range(10):
            email = f"fresh-{trial}-{uuid.uuid4().hex[:6]}@example.com"
            event = accounts.create_platform_admin(
                email, hashed, actor="test", now=datetime.now(UTC), existing=None
            )
            await producer.send(event, record_key(event))
            if identity.directory.account_by_email(email) is None:
                behind += 1
            tokens = await identity.login(email, PASSWORD, "127.0.0.1", datetime.now(UTC))
            assert tokens.access_token
        assert behind > 0, "B was never behind the other writer: the trials proved nothing"
        assert identity.catch_ups.runs > 0

        # Over HTTP: a user invited, accepted and logged in through A a moment ago is known to B
        # (its login family was written through A), and logs in through B.
        for _ in range(3):
            tenant = f"t{uuid.uuid4().hex[:6]}"
            viewer = await _user(a, platform, tenant, "viewer")
            status, me, _ = await b.call("GET", "/v1/auth/me", viewer)
            assert status == 200 and me["tenant"] == tenant
            await b.login(me["email"])
