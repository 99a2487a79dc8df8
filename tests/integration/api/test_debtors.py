"""The debtor routes on the real broker and the local ClickHouse: search by name, phone and
CPF/CNPJ (masked per caller), a debtor's timeline (reply texts per caller), and the low-balance
threshold written as a new tenant configuration (connectors/api/routes/debtors.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from connectors.api.credentials import write_signing_key
from connectors.clickhouse import apply_migrations, connect
from connectors.clickhouse.privacy import DEV_PSEUDONYM_KEY
from connectors.clickhouse.raw_tables import RawTableWriter
from connectors.clickhouse.sink import ClickHouseSink, SinkConfig
from schemas.events import ClientImported, DocumentKind, TenantConfigured
from streams.base.settings import Settings
from streams.base.topics import TENANTS
from streams.domain.tenant_config import WahaSession, parse_tenant_text
from streams.runtime.tenants import apply_config
from tests import factories as f
from tests.integration.api.test_api import Api, Tenant, _create_admin, _running, _tenant
from tests.kafka_helpers import produce, read_committed

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="session")]

EXAMPLE = Path(__file__).resolve().parents[3] / "infra" / "tenants" / "acme-cobrancas.yaml"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
JOSE = "+5511987650001"
ANA = "+5521912340001"  # the same last four digits as José's


@pytest.fixture(scope="module")
def analytics(clickhouse_settings: Settings) -> Settings:
    """The session's local ClickHouse, with a migrated database of this module's own."""
    database = f"debtors_{uuid.uuid4().hex[:8]}"
    with connect(clickhouse_settings) as client:
        apply_migrations(client, database)
    return replace(clickhouse_settings, clickhouse_database=database)


@pytest.fixture(scope="module")
def signing_keys(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("signing")
    write_signing_key(folder, "k1")
    return folder


@pytest.fixture(scope="module")
def admin_email() -> str:
    return f"admin-{uuid.uuid4().hex[:6]}@example.com"


@pytest.fixture(scope="module")
async def api(
    kafka_bootstrap: str, analytics: Settings, signing_keys: Path, admin_email: str
) -> AsyncIterator[Api]:
    await _create_admin(kafka_bootstrap, admin_email)
    async for running in _running(
        kafka_bootstrap, analytics, signing_keys, rate_burst=10_000, rate_per_s=10_000.0
    ):
        yield running


def _debtor(
    tenant: str, n: int, name: str, phone: str, document: str | None, *, at: datetime = T0
) -> ClientImported:
    base = f.client_imported(tenant, n, phone=phone, document=document, at=at)
    return ClientImported(
        header=base.header,
        import_id=base.import_id,
        row=base.row,
        client_id=base.client_id,
        name=name,
        phone_e164=phone,
        amount_centavos=base.amount_centavos,
        due_date=date(2026, 12, 5),
        document=document,
        document_kind=None if document is None else DocumentKind.CPF,
    )


async def _sink(kafka_bootstrap: str, analytics: Settings) -> None:
    config = SinkConfig(
        bootstrap=kafka_bootstrap,
        database=analytics.clickhouse_database,
        group_id=f"sink-{uuid.uuid4().hex[:6]}",
    )
    with connect(analytics) as client:
        await ClickHouseSink(config, client, RawTableWriter(DEV_PSEUDONYM_KEY)).run(drain=True)


@pytest.fixture(scope="module")
async def tenants(
    api: Api, admin_email: str, kafka_bootstrap: str, analytics: Settings
) -> tuple[Tenant, Tenant, str]:
    """Two tenants; the first's debtors imported (José twice), one reminder's whole story with
    a reply, a promise and an opt-out; all sunk into ClickHouse."""
    platform = (await api.login(admin_email))["access_token"]
    own, other = await _tenant(api, platform), await _tenant(api, platform)
    debtors = [
        _debtor(own.name, 1, "José da Conceição", JOSE, "52998224725"),
        _debtor(own.name, 2, "MARIA CONCEICAO Souza", "+5511987650002", None),
        _debtor(own.name, 3, "Ana Lima", ANA, "11144477735"),
        _debtor(own.name, 1, "José da Conceição", JOSE, "52998224725", at=T0 + timedelta(days=1)),
        # Another tenant's debtor with the same name: never in the first tenant's answers.
        _debtor(other.name, 9, "José da Conceição", "+5511987650009", None),
    ]
    story = f.send_story(
        own.name, "r-jose-1", at=T0 + timedelta(days=2), phone=JOSE, client_id="c000001"
    )
    later = T0 + timedelta(days=2, minutes=20)
    reply_id = f"false_{f.chat_of(JOSE)}_r-jose-1"
    actions = [
        f.intent_classified(
            own.name, phone=JOSE, message_id=reply_id, client_id="c000001", at=later
        ),
        f.payment_promised(
            own.name, "c000001", message_id=reply_id, at=later + timedelta(seconds=30)
        ),
        f.opted_out(own.name, phone=JOSE, client_id="c000001", at=later + timedelta(minutes=1)),
    ]
    await produce(kafka_bootstrap, [*debtors[:4], *story, *actions], own.name)
    await produce(kafka_bootstrap, debtors[4:], other.name)
    await _sink(kafka_bootstrap, analytics)
    return own, other, platform


async def test_search_by_name_phone_and_document_masked_per_caller(
    api: Api, tenants: tuple[Tenant, Tenant, str]
) -> None:
    own, other, _ = tenants
    base = f"/v1/tenants/{own.name}/debtors"

    status, found, _ = await api.call("GET", f"{base}?q=conceicao", own.operator)
    assert status == 200, found
    assert found["query"] == {"kind": "name"} and found["masked"] is False
    assert [(d["client_id"], d["name"]) for d in found["debtors"]] == [
        ("c000001", "José da Conceição"),
        ("c000002", "MARIA CONCEICAO Souza"),
    ]
    jose = found["debtors"][0]
    assert jose["phone"] == JOSE and jose["document"] == "52998224725"
    assert jose["imports"] == 2 and jose["amount_centavos"] == 123_457
    assert jose["due_date"] == "2026-12-05"
    assert jose["last_imported_at"].startswith("2026-12-02T12:00:00")

    # A viewer and a key without personal_data:read see them masked; names are shown.
    for token in (own.viewer, own.key):
        status, masked, _ = await api.call("GET", f"{base}?q=CONCEIÇÃO", token)
        assert status == 200 and masked["masked"] is True
        first = masked["debtors"][0]
        assert first["name"] == "José da Conceição"
        assert first["phone"] == "55119****01" and first["document"] == "52998****25"
        assert masked["debtors"][1]["document"] is None

    async def ids(q: str) -> list[str]:
        status, body, _ = await api.call("GET", f"{base}?q={q}", own.admin)
        assert status == 200, body
        return [d["client_id"] for d in body["debtors"]]

    assert await ids("(11)%2098765-0001") == ["c000001"]  # the whole phone
    assert await ids("0001") == ["c000001", "c000003"]  # its end: José's and Ana's
    assert await ids("50001") == ["c000001"]  # Ana's number has 40001 there
    assert await ids("529.982.247-25") == ["c000001"]
    assert await ids("111.444.777-35") == ["c000003"]
    assert await ids("silva") == []
    assert await ids("da%20conc") == ["c000001"]
    assert await ids("conceicao%20da") == []  # its pieces are there, not in that order

    # Pages in client id order; the cursor continues.
    status, page, _ = await api.call("GET", f"{base}?q=conceicao&limit=1", own.operator)
    assert [d["client_id"] for d in page["debtors"]] == ["c000001"] and page["next_cursor"]
    cursor = page["next_cursor"]
    status, rest, _ = await api.call(
        "GET", f"{base}?q=conceicao&limit=1&cursor={cursor}", own.operator
    )
    assert [d["client_id"] for d in rest["debtors"]] == ["c000002"]

    # The other tenant sees only its own José; it may not ask about the first tenant's.
    status, theirs, _ = await api.call(
        "GET", f"/v1/tenants/{other.name}/debtors?q=conceicao", other.operator
    )
    assert [d["client_id"] for d in theirs["debtors"]] == ["c000009"]
    status, body, _ = await api.call("GET", f"{base}?q=conceicao", other.admin)
    assert status == 403 and body["error"]["code"] == "forbidden"

    for bad in ("", "ab", "12", "x" * 101):
        status, body, _ = await api.call("GET", f"{base}?q={bad}", own.viewer)
        assert status == 400 and body["error"]["details"]["parameter"] == "q", bad
    status, body, _ = await api.call("GET", f"{base}?q=ana&limit=0", own.viewer)
    assert status == 400 and body["error"]["details"]["parameter"] == "limit"
    status, _, _ = await api.call("GET", f"{base}?q=ana", None)
    assert status == 401


async def test_a_debtors_timeline_in_time_order_with_texts_per_caller(
    api: Api, tenants: tuple[Tenant, Tenant, str]
) -> None:
    own, other, _ = tenants
    path = f"/v1/tenants/{own.name}/debtors/c000001/timeline"
    status, body, _ = await api.call("GET", path, own.operator)
    assert status == 200, body
    assert body["texts_shown"] is True
    kinds = [e["kind"] for e in body["entries"]]
    assert kinds == [
        "importado",
        "importado",
        "lembrete_solicitado",
        "debito",
        "envio_aprovado",
        "mensagem_enviada",
        "entregue",
        "lida",
        "resposta",
        "intencao",
        "promessa",
        "descadastro",
    ], kinds
    times = [e["occurred_at"] for e in body["entries"]]
    assert times == sorted(times)
    reply = body["entries"][kinds.index("resposta")]
    assert reply["text"] == "vou pagar sexta" and reply["position"].startswith(
        "cobranca.conversations["
    )
    assert body["entries"][2]["label"] == "Lembrete D-3 da régua"
    assert body["entries"][3]["details"]["amount"] == 1

    # A viewer sees the same history without the reply's text.
    status, seen, _ = await api.call("GET", path, own.viewer)
    assert status == 200 and seen["texts_shown"] is False
    assert [e["kind"] for e in seen["entries"]] == kinds
    assert all("text" not in e for e in seen["entries"])
    assert "vou pagar" not in str(seen) and JOSE not in str(seen)

    status, _, _ = await api.call("GET", path, other.admin)
    assert status == 403
    # A key reads reports (imports:read) but not personal data: the history, without texts.
    status, by_key, _ = await api.call("GET", path, own.key)
    assert status == 200 and by_key["texts_shown"] is False
    assert [e["kind"] for e in by_key["entries"]] == kinds
    status, body, _ = await api.call(
        "GET", f"/v1/tenants/{other.name}/debtors/c000001/timeline", other.operator
    )
    assert status == 404 and body["error"]["code"] == "not_found"


async def test_the_low_balance_threshold_is_a_new_configuration_with_only_it_changed(
    api: Api, tenants: tuple[Tenant, Tenant, str], kafka_bootstrap: str
) -> None:
    own, other, platform = tenants
    path = f"/v1/tenants/{own.name}/tokens/threshold"
    status, body, _ = await api.call("GET", path, own.viewer)
    assert status == 404  # no configuration yet

    config = parse_tenant_text(EXAMPLE.read_text(), source=EXAMPLE.name)
    config = replace(config, tenant_id=own.name, sessions=(WahaSession(f"s-{own.name}"),))
    await apply_config(kafka_bootstrap, config)
    for _ in range(100):
        status, body, _ = await api.call("GET", path, own.viewer)
        if status == 200:
            break
        await asyncio.sleep(0.05)
    assert body == {"tenant": own.name, "threshold_tokens": config.low_balance_threshold}

    for who in (own.operator, own.viewer, own.key, other.admin):
        status, _, _ = await api.call("PUT", path, who, {"threshold_tokens": 10})
        assert status == 403
    for bad in (
        {},
        {"threshold_tokens": -1},
        {"threshold_tokens": 2.5},
        {"threshold_tokens": True},
    ):
        status, error, _ = await api.call("PUT", path, own.admin, bad)
        assert status == 400 and error["error"]["details"]["field"] == "threshold_tokens", bad

    status, body, _ = await api.call("PUT", path, own.admin, {"threshold_tokens": 250})
    assert status == 200, body
    assert body == {
        "tenant": own.name,
        "threshold_tokens": 250,
        "previous": config.low_balance_threshold,
    }
    status, body, _ = await api.call("GET", path, own.key)  # read your write
    assert status == 200 and body["threshold_tokens"] == 250
    status, body, _ = await api.call("PUT", path, platform, {"threshold_tokens": 300})
    assert status == 200 and body["previous"] == 250

    stored = [
        TenantConfigured.from_data(e)
        for _, e in await read_committed(kafka_bootstrap, TENANTS.name)
        if e["header"]["tenant_id"] == own.name
    ]
    assert [e.low_balance_threshold for e in stored] == [
        config.low_balance_threshold,
        250,
        300,
    ]
    first, last = stored[0], stored[-1]
    assert (last.steps, last.prices, last.sessions, last.display_name) == (
        first.steps,
        first.prices,
        first.sessions,
        first.display_name,
    )
