"""One real path through the API, end to end: log in → import a debtor → send to it through the
API → the ledger prices it, the dispatcher sends it to the WAHA simulator, its acks come back
through the webhook receiver and the normalizer → the send reads `delivered` → the balance is
lower → the usage CSV shows the debit. Only WhatsApp is simulated; the worker and the receiver
are the processes production runs, the sink is the real one, ClickHouse the real engine."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.api.credentials import write_signing_key
from connectors.api.settings import ApiSettings
from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
from connectors.clickhouse.raw_tables import RawTableWriter
from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.waha.receiver import PATH
from connectors.waha.simulator import SimulatorConfig, SimulatorThread
from streams.base.ports import free_port
from streams.base.settings import Settings
from streams.ops.api_server import running_api
from streams.runtime.tenants import apply_config
from tests.integration.api.test_api import Api, _create_admin
from tests.integration.waha.receiver_process import HMAC_KEY, ReceiverProcess
from tests.kafka_helpers import WorkerProcess, tenant_config

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

WAHA_KEY = "e2e-api-key"
PHONE = "+5511987650001"


@pytest.fixture(scope="module")
def analytics(clickhouse_settings: Settings) -> Settings:
    database = f"e2e_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    return replace(clickhouse_settings, clickhouse_database=database)


@pytest.fixture
def receiver(kafka_bootstrap: str, tmp_path: Path) -> Iterator[ReceiverProcess]:
    process = ReceiverProcess(kafka_bootstrap, tmp_path / "receiver")
    process.start()
    try:
        yield process
    finally:
        process.stop()


async def _poll(what: str, probe: Any, within_s: float = 180) -> Any:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        found = await probe()
        if found:
            return found
        assert asyncio.get_running_loop().time() < deadline, f"{what}: not within {within_s:.0f} s"
        await asyncio.sleep(0.5)


async def test_login_import_send_delivered_balance_and_usage(
    kafka_bootstrap: str, analytics: Settings, receiver: ReceiverProcess, tmp_path: Path
) -> None:
    tenant = f"e2e{uuid.uuid4().hex[:6]}"
    session = f"{tenant}-s"
    await apply_config(
        kafka_bootstrap, tenant_config(tenant, waha={"sessions": [{"name": session}]})
    )
    admin = f"admin-{tenant}@example.com"
    await _create_admin(kafka_bootstrap, admin)
    simulated = SimulatorConfig(
        api_key=WAHA_KEY,
        sessions=(session,),
        webhook_url=f"{receiver.url}{PATH}",
        hmac_key=HMAC_KEY,
        ack_delays_s=(0.05, 0.2, 0.4),
        read_rate=0.0,
        reply_rate=0.0,
        seed=5,
    )
    worker = WorkerProcess(
        kafka_bootstrap,
        tmp_path / "worker",
        app_id=f"e2e-api-{tenant}",
        env={"WAHA_API_KEY": WAHA_KEY, "COBRANCA_DISPATCH_RATE": "0"},
    )
    write_signing_key(tmp_path / "keys", "k1")
    api_settings = replace(ApiSettings(tmp_path / "keys"), port=free_port())
    settings = replace(analytics, kafka_bootstrap=kafka_bootstrap, waha_api_key=WAHA_KEY)
    sink = SinkConfig(
        bootstrap=kafka_bootstrap,
        database=analytics.clickhouse_database,
        group_id=f"sink-{tenant}",
    )
    try:
        with SimulatorThread(simulated) as sim:
            worker.env["WAHA_URL"] = sim.url
            worker.start()
            async with (
                running_api(replace(settings, waha_url=sim.url), api_settings),
                aiohttp.ClientSession() as http,
            ):
                api = Api(f"http://127.0.0.1:{api_settings.port}", http, api_settings)
                platform = (await api.login(admin))["access_token"]
                status, issued, _ = await api.call(
                    "POST",
                    f"/v1/tenants/{tenant}/keys",
                    platform,
                    {
                        "name": "erp",
                        "scopes": [
                            "imports:write",
                            "imports:read",
                            "sends:write",
                            "sends:read",
                            "tokens:read",
                            "reports:read",
                        ],
                    },
                )
                assert status == 201, issued
                key = issued["key"]
                status, _, _ = await api.call(
                    "POST",
                    f"/v1/tenants/{tenant}/tokens/credits",
                    platform,
                    {"amount": 100, "reference": "pix e2e"},
                )
                assert status == 202

                async def credited() -> bool:
                    _, balance, _ = await api.call("GET", f"/v1/tenants/{tenant}/tokens", key)
                    worker.assert_alive()
                    return bool(balance["balance"] == 100)

                await _poll("the ledger credits 100 tokens", credited)

                csv = (
                    "Código;Nome;Celular;Valor;Vencimento\n"
                    f"c1;Ana Souza;{PHONE};R$ 150,00;2027-03-01\n"
                )
                async with http.post(
                    f"{api.base}/v1/tenants/{tenant}/imports",
                    data=csv.encode(),
                    headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
                ) as r:
                    assert r.status == 202, await r.text()
                    location = r.headers["Location"]

                async def imported() -> dict[str, Any] | None:
                    _, body, _ = await api.call("GET", location, key)
                    return body if body["state"] != "running" else None

                assert (await _poll("the import ends", imported))["accepted"] == 1

                status, sent, _ = await api.call(
                    "POST",
                    f"/v1/tenants/{tenant}/messages",
                    key,
                    {
                        "to": PHONE,
                        "text": "Olá, Ana! Sua fatura de R$ 150,00 vence em 01/03.",
                        "client_id": "c1",
                    },
                    headers={"Idempotency-Key": "e2e-1"},
                )
                assert status == 202, sent
                request_id = sent["requests"][0]["request_id"]

                async def delivered() -> dict[str, Any] | None:
                    with connect(analytics) as client:
                        await ClickHouseSink(sink, client, RawTableWriter(DEV_PSEUDONYM_KEY)).run(
                            drain=True
                        )
                    worker.assert_alive()
                    status, body, _ = await api.call(
                        "GET", f"/v1/tenants/{tenant}/messages/{request_id}", key
                    )
                    return (
                        body if status == 200 and body["status"] in ("delivered", "read") else None
                    )

                await _poll("the send is delivered", delivered)

                _, balance, _ = await api.call("GET", f"/v1/tenants/{tenant}/tokens", key)
                assert 0 < balance["balance"] < 100 and balance["movements"] == 2
                price = 100 - balance["balance"]
                async with http.get(
                    f"{api.base}/v1/tenants/{tenant}/tokens/usage?format=csv",
                    headers={"Authorization": f"Bearer {key}"},
                ) as r:
                    lines = (await r.text()).splitlines()
                assert r.status == 200 and len(lines) == 2, lines
                _, credited_, debited, refunded, sends, send_tokens = lines[1].split(",")
                assert (credited_, debited, refunded) == ("100", str(price), "0")
                assert (sends, send_tokens) == ("1", str(price))
    finally:
        worker.stop()
