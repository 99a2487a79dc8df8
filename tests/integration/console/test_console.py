"""The operator console's flows in chromium, each on the real API process: logging in and out
and living through expired access tokens; inviting a user who sets a first password; keys shown
once; WhatsApp sessions; an import's counts; what a viewer cannot reach; and the overview's
charts holding the numbers of the events seeded on the log. axe-core runs on every page."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from streams.runtime.tenants import apply_config
from tests import factories as f
from tests.integration.console.conftest import (
    ACCESS_TTL_S,
    PASSWORD,
    WAHA_KEY,
    Served,
    audit,
    drain,
    run,
)
from tests.kafka_helpers import produce, tenant_config

pytestmark = pytest.mark.integration

TIMEOUT_MS = 30_000


def _tenant() -> str:
    return f"c{uuid.uuid4().hex[:6]}"


def _heading(page: Any, text: str) -> None:
    page.get_by_role("heading", level=1, name=text).wait_for(timeout=TIMEOUT_MS)


def _stored(page: Any) -> dict[str, str] | None:
    found: dict[str, str] | None = page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('cobranca.session'))"
    )
    return found


def _log_in_with_the_keyboard(page: Any, base: str, email: str) -> None:
    page.goto(base + "/")
    _heading(page, "Entrar no console")
    # Tab from the top of the page to the email field: skip link, then the form.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement?.type") == "email":
            break
    else:
        pytest.fail("the email field is not reachable with Tab")
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")


def _nav(page: Any) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#nav a", "links => links.map(a => a.textContent.trim())"
    )
    return names


def test_log_in_log_out_and_recover_from_an_expired_access_token(served: Served, page: Any) -> None:
    tenant = _tenant()
    email = served.user(tenant, "tenant_admin")
    page.goto(served.base + "/")
    _heading(page, "Entrar no console")
    audit(page, "entrar")

    # A wrong password is said in Portuguese, and nothing is stored.
    page.get_by_label("Email").fill(email)
    page.get_by_label("Senha").fill("not the password at all")
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("alert").filter(has_text="Email ou senha incorretos.").wait_for()
    assert _stored(page) is None

    _log_in_with_the_keyboard(page, served.base, email)
    _heading(page, "Visão geral")
    assert "Usuários e chaves" in _nav(page)
    assert page.locator("#who").inner_text().startswith(email)

    page.get_by_role("link", name="Tokens").click()
    _heading(page, "Tokens")
    page.get_by_text("Saldo: 0 tokens").wait_for(timeout=TIMEOUT_MS)
    audit(page, "tokens")

    # The access token expires; the next page refreshes it once and carries on.
    before = _stored(page)
    assert before is not None
    refreshes: list[int] = []
    page.on(
        "response",
        lambda r: refreshes.append(r.status) if r.url.endswith("/v1/auth/refresh") else None,
    )
    time.sleep(ACCESS_TTL_S + 1.5)
    status = requests.get(
        served.base + "/v1/auth/me",
        headers={"Authorization": f"Bearer {before['access']}"},
        timeout=10,
    )
    assert status.status_code == 401  # it did expire
    page.get_by_role("link", name="Usuários e chaves").click()
    _heading(page, "Usuários e chaves")
    page.get_by_role("cell", name=email, exact=True).wait_for(timeout=TIMEOUT_MS)
    after = _stored(page)
    assert refreshes == [200], refreshes  # one refresh, though the page made two calls
    assert after is not None and after["access"] != before["access"]
    assert after["refresh"] != before["refresh"]

    page.get_by_role("link", name="Régua e mensagens").click()
    _heading(page, "Régua e mensagens")
    page.get_by_text("Este tenant ainda não tem configuração.").wait_for(timeout=TIMEOUT_MS)
    audit(page, "regua-sem-configuracao")

    # Log out: the login ends on the server too (its refresh token is refused).
    page.get_by_role("button", name="Sair").click()
    _heading(page, "Entrar no console")
    page.get_by_text("Você saiu.").wait_for()
    assert _stored(page) is None
    refused = requests.post(
        served.base + "/v1/auth/refresh", json={"refresh_token": after["refresh"]}, timeout=10
    )
    assert refused.status_code == 401
    page.goto(served.base + "/#/tokens")
    _heading(page, "Entrar no console")


def test_an_invited_operator_sets_a_password_and_a_key_is_shown_once(
    served: Served, page: Any
) -> None:
    tenant = _tenant()
    admin = served.user(tenant, "tenant_admin")
    page.goto(served.base + "/")
    page.get_by_label("Email").fill(admin)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("link", name="Usuários e chaves").click()
    _heading(page, "Usuários e chaves")
    page.get_by_role("cell", name=admin, exact=True).wait_for(timeout=TIMEOUT_MS)

    operator = f"operadora-{uuid.uuid4().hex[:4]}@{tenant}.example.com"
    invite = page.get_by_role("form", name="Convidar usuário")
    invite.get_by_label("Email da pessoa").fill(operator)
    invite.get_by_label("Operador", exact=True).check()
    invite.get_by_role("button", name="Convidar").click()
    link = page.locator("#invite-link").inner_text(timeout=TIMEOUT_MS)
    assert link.startswith(served.base + "/#/convite?token=")
    page.get_by_role("cell", name=operator, exact=True).wait_for()

    issue = page.get_by_role("form", name="Emitir chave de API")
    issue.get_by_label("Nome da chave (ex.: ERP)").fill("erp")
    issue.get_by_label("Importar devedores").check()
    issue.get_by_label("Ler relatórios").check()
    issue.get_by_role("button", name="Emitir chave").click()
    key = page.locator("#new-key").inner_text(timeout=TIMEOUT_MS)
    assert key.startswith("cbk_")
    balance = requests.get(
        f"{served.base}/v1/tenants/{tenant}/analytics/billing",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert balance.status_code == 200  # the key shown is the real one, with its scopes
    page.get_by_role("cell", name="erp", exact=True).wait_for()
    audit(page, "usuarios-e-chaves")
    page.reload()  # shown once: not on the page again
    _heading(page, "Usuários e chaves")
    page.get_by_role("cell", name="erp", exact=True).wait_for(timeout=TIMEOUT_MS)
    assert key not in page.content()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revogar a chave erp").click()
    page.get_by_role("cell", name="Revogada").wait_for(timeout=TIMEOUT_MS)
    revoked = requests.get(
        f"{served.base}/v1/tenants/{tenant}/analytics/billing",
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert revoked.status_code == 401

    page.get_by_role("button", name="Sair").click()
    _heading(page, "Entrar no console")
    page.goto(link)
    _heading(page, "Definir a primeira senha")
    audit(page, "convite")
    page.get_by_label("Nova senha (mínimo 12 caracteres)").fill(PASSWORD)
    page.get_by_label("Repita a nova senha").fill(PASSWORD + "x")
    page.get_by_role("button", name="Definir senha e entrar").click()
    page.get_by_role("alert").filter(has_text="não são iguais").wait_for()
    page.get_by_label("Repita a nova senha").fill(PASSWORD)
    page.get_by_role("button", name="Definir senha e entrar").click()
    _heading(page, "Visão geral")
    assert page.locator("#who").inner_text().startswith(operator)
    nav = _nav(page)
    assert "Devedores e importações" in nav and "Usuários e chaves" not in nav


def test_whatsapp_sessions_qr_start_and_stop(served: Served, page: Any) -> None:
    tenant = _tenant()
    session = f"{tenant}-waha"
    run(apply_config(served.bootstrap, tenant_config(tenant)))
    sim = requests.Session()
    sim.headers["X-Api-Key"] = WAHA_KEY
    answer = sim.post(
        f"{served.waha_url}/_sim/sessions/{session}/status",
        json={"status": "SCAN_QR_CODE"},
        timeout=10,
    )
    assert answer.status_code == 200
    admin = served.user(tenant, "tenant_admin")
    page.goto(served.base + "/")
    page.get_by_label("Email").fill(admin)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    _heading(page, "Visão geral")
    page.get_by_role("link", name="WhatsApp").click()
    _heading(page, "WhatsApp")
    for _ in range(50):  # the API follows the tenants topic
        if page.get_by_role("cell", name=session, exact=True).count():
            break
        page.get_by_role("button", name="Atualizar estado").click()
        page.wait_for_timeout(200)
    page.get_by_role("cell", name="Aguardando leitura do QR code").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name=f"Mostrar QR code de {session}").click()
    qr = page.get_by_role("img", name=f"QR code para parear a sessão {session}")
    qr.wait_for(timeout=TIMEOUT_MS)
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")
    audit(page, "whatsapp")
    page.get_by_role("button", name=f"Parar {session}").click()
    page.get_by_role("cell", name="Parada").wait_for(timeout=TIMEOUT_MS)

    # The same tenant admin sets the low-balance threshold on the Tokens page.
    page.get_by_role("link", name="Tokens").click()
    _heading(page, "Tokens")
    threshold = page.get_by_label("Avisar quando o saldo ficar abaixo de (tokens)")
    # `?.`: the page renders the form after its heading; until then the predicate is false.
    page.wait_for_function(
        "() => document.querySelector('form[aria-label=\"Limite de saldo baixo\"] input')?.value",
        timeout=TIMEOUT_MS,
    )
    threshold.fill("250")
    page.get_by_role("button", name="Salvar limite").click()
    page.get_by_text("Limite de saldo baixo: 250 tokens.").wait_for(timeout=TIMEOUT_MS)
    page.reload()
    _heading(page, "Tokens")
    page.wait_for_function(
        "() => document.querySelector('form[aria-label=\"Limite de saldo baixo\"] input')"
        "?.value === '250'",
        timeout=TIMEOUT_MS,
    )


def test_an_import_is_uploaded_and_its_counts_are_shown(
    served: Served, page: Any, tmp_path: Path
) -> None:
    tenant = _tenant()
    operator = served.user(tenant, "operator")
    upload = tmp_path / "devedores.csv"
    upload.write_text(
        "Código;Nome;Celular;Valor;Vencimento\n"
        "c1;Ana Souza;+5511987650001;R$ 150,00;2027-03-01\n"
        "c2;Bruno Lima;123;R$ 90,00;2027-03-01\n"
        "c3;Carla Dias;+5511987650003;R$ 10,00;2027-03-01\n",
        encoding="utf-8",
    )
    page.goto(served.base + "/")
    page.get_by_label("Email").fill(operator)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    _heading(page, "Visão geral")
    page.get_by_role("link", name="Devedores e importações").click()
    _heading(page, "Devedores e importações")
    page.get_by_label("Arquivo de devedores (CSV, JSON, NDJSON, XLSX, XLS, ODS)").set_input_files(
        str(upload)
    )
    page.get_by_role("button", name="Importar").click()
    page.locator("#import-state").get_by_text("Concluída").wait_for(timeout=60_000)
    assert page.locator("#import-rows .value").inner_text() == "3"
    assert page.locator("#import-accepted .value").inner_text() == "2"
    assert page.locator("#import-rejected .value").inner_text() == "1"
    page.get_by_role("cell", name="Telefone inválido").wait_for()
    assert page.locator("progress").evaluate("p => p.value") == 100
    audit(page, "devedores-e-importacoes")


def test_a_viewer_cannot_reach_the_users_page(served: Served, page: Any) -> None:
    tenant = _tenant()
    viewer = served.user(tenant, "viewer")
    page.goto(served.base + "/")
    page.get_by_label("Email").fill(viewer)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    _heading(page, "Visão geral")
    nav = _nav(page)
    assert "Usuários e chaves" not in nav
    assert "Tokens" in nav and "WhatsApp" in nav and "Devedores e importações" in nav
    page.goto(served.base + "/#/usuarios")
    _heading(page, "Sem permissão")
    page.get_by_text("Seu papel não permite abrir “Usuários e chaves”").wait_for()
    audit(page, "sem-permissao")


def _seed(served: Served, tenant: str) -> dict[str, Any]:
    """A day of the pipeline's events for `tenant`, as the agents write them, sunk into
    ClickHouse: what the overview must show."""
    start = datetime.now(UTC) - timedelta(hours=1)
    events: list[Any] = [f.tokens_credited(tenant, 100, balance_after=100, at=start)]
    reached = ["replied", "replied", "read", "delivered", "dispatched"]
    for i, stage in enumerate(reached):
        events += f.send_story(
            tenant,
            f"r{i}",
            at=start + timedelta(seconds=i),
            phone=f"+55119876500{i:02d}",
            client_id=f"c{i}",
            reached=stage,
            balance_after=99 - i,
        )
    labels = ["promise_to_pay", "promise_to_pay", "already_paid"]
    for i, label in enumerate(labels):
        events.append(
            f.intent_classified(
                tenant, label=label, message_id=f"false_in_{i}", client_id=f"c{i}", at=start
            )
        )
    events += [
        f.payment_promised(tenant, "c0", amount=15_000, message_id="false_p0", at=start),
        f.payment_promised(tenant, "c1", amount=5_050, message_id="false_p1", at=start),
        f.payment_claimed(tenant, "c0", message_id="false_k0", at=start + timedelta(minutes=30)),
    ]
    run(produce(served.bootstrap, events, tenant))
    drain(served, tenant)
    return {
        "funnel": [5, 4, 3, 2],
        "intents": (["Promessa de pagamento", "Já pagou"], [2, 1]),
        "promises": (2, 1),
        "used": 5,
        "balance": 95,
    }


def _option(page: Any, chart: str) -> dict[str, Any]:
    option: dict[str, Any] = page.evaluate(
        "id => { const o = echarts.getInstanceByDom(document.getElementById(id)).getOption();"
        " return {series: o.series.map(s => ({name: s.name, data: s.data})),"
        " xAxis: o.xAxis.map(a => a.data || null), yAxis: o.yAxis.map(a => a.data || null)}; }",
        chart,
    )
    return option


def test_the_overview_charts_show_the_seeded_data(served: Served, page: Any) -> None:
    tenant = _tenant()
    expected = _seed(served, tenant)
    viewer = served.user(tenant, "viewer")
    for _ in range(100):  # the API folds the ledger topic it follows
        balance = served.call("GET", f"/v1/tenants/{tenant}/tokens", served.login(viewer))
        if balance["balance"] == expected["balance"]:
            break
        time.sleep(0.1)
    page.goto(served.base + "/")
    page.get_by_label("Email").fill(viewer)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    _heading(page, "Visão geral")
    page.locator("#updated").get_by_text("Atualizado às").wait_for(timeout=TIMEOUT_MS)

    funnel = _option(page, "chart-funnel")
    assert funnel["xAxis"][0] == ["Enviadas", "Entregues", "Lidas", "Respondidas"]
    assert funnel["series"][0]["data"] == expected["funnel"]
    intents = _option(page, "chart-intents")
    assert (intents["yAxis"][0], intents["series"][0]["data"]) == expected["intents"]
    promises = _option(page, "chart-promises")
    made, kept = (sum(v or 0 for v in s["data"]) for s in promises["series"])
    assert (made, kept) == expected["promises"]
    tokens = _option(page, "chart-tokens")
    assert sum(tokens["series"][0]["data"]) == expected["used"]
    burn = _option(page, "chart-burndown")
    history = [v for v in burn["series"][0]["data"] if v is not None]
    assert history[-1] == expected["balance"] and history[0] == 0  # nothing before the credit
    projection = [v for v in burn["series"][1]["data"] if v is not None]
    assert projection[0] == expected["balance"] and projection[-1] == 0
    response = _option(page, "chart-response")
    read_to_reply = [v for v in response["series"][1]["data"] if v is not None]
    assert read_to_reply == [5.0]  # minutes: the stories' replies come 5 min after the read

    kpis = {
        k: page.locator(f"#kpi-{k} .value").inner_text()
        for k in ("sent", "replied", "promises", "kept", "median", "balance", "days-left")
    }
    assert kpis["sent"] == "5" and kpis["replied"] == "2" and kpis["kept"] == "1"
    assert kpis["promises"].replace("\xa0", " ") == "2 (R$ 200,50)"
    assert kpis["median"] == "5 min 00 s" and kpis["balance"] == "95"
    # 5 tokens used over the last 7 days: 5/7 a day, so 95 tokens last 133 days.
    assert kpis["days-left"] == "133"
    audit(page, "visao-geral")

    # The page refreshes itself: new events show without a click within 30 s.
    another = f.send_story(
        tenant,
        "r9",
        at=datetime.now(UTC),
        phone="+5511987650099",
        reached="dispatched",
        balance_after=94,
    )
    run(produce(served.bootstrap, another, tenant))
    drain(served, tenant)
    page.locator("#kpi-sent .value").get_by_text("6", exact=True).wait_for(timeout=40_000)
    assert _option(page, "chart-funnel")["series"][0]["data"][0] == 6

    # The same events on the Tokens page (the sixth send spent one more token): the balance,
    # the ledger's movements, the usage CSV.
    page.get_by_role("link", name="Tokens").click()
    _heading(page, "Tokens")
    page.get_by_text("Saldo: 94 tokens").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("cell", name="Crédito", exact=True).wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_role("cell", name="Débito", exact=True).count() == 6
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Baixar CSV de uso").click()
    csv = Path(downloading.value.path()).read_text("utf-8").splitlines()
    assert csv[0] == "day,credited,debited,refunded,sends,send_tokens"
    assert sum(int(line.split(",")[1]) for line in csv[1:]) == 100
    assert sum(int(line.split(",")[2]) for line in csv[1:]) == 6
    audit(page, "tokens")
