"""The console's Régua e mensagens and Conversas pages, and the rejected rows' download, in
chromium on the real API process: a template edited with its live preview for a debtor imported
through the API, errors shown beside their field, a save that someone else's change refuses;
a hand-off resolved with the keyboard leaving the queue, a label corrected, a reply sent; the
rejected rows of an import downloaded as CSV. axe-core on every page."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from streams.base.topics import CONVERSATIONS
from streams.domain.chat_keys import record_key
from streams.runtime.log_reader import read_events
from streams.runtime.tenants import apply_config
from tests import factories as f
from tests.integration.console.conftest import PASSWORD, Served, audit, drain, run
from tests.kafka_helpers import produce_keyed, tenant_config

pytestmark = pytest.mark.integration

TIMEOUT_MS = 30_000
DEBTORS = (
    "Código;Nome;Celular;Valor;Vencimento\n"
    "m1;Maria da Silva;(11) 98765-4321;R$ 1.234,56;05/12/2026\n"
    "j2;João Souza;(21) 99876-5432;150;2026-12-20\n"
    "x3;Xavier Bento;123;R$ 10,00;2026-12-20\n"
)


def _tenant() -> str:
    return f"p{uuid.uuid4().hex[:6]}"


def _heading(page: Any, text: str) -> None:
    page.get_by_role("heading", level=1, name=text).wait_for(timeout=TIMEOUT_MS)


def _log_in(page: Any, served: Served, email: str) -> None:
    page.goto(served.base + "/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Senha").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    _heading(page, "Visão geral")


def _nav(page: Any) -> list[str]:
    names: list[str] = page.eval_on_selector_all(
        "#nav a", "links => links.map(a => a.textContent.trim())"
    )
    return names


def _import(served: Served, tenant: str, token: str) -> None:
    """The debtors, imported through the API, then sunk into ClickHouse (where the preview
    finds the latest one)."""
    answer = requests.post(
        f"{served.base}/v1/tenants/{tenant}/imports",
        data=DEBTORS.encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    for _ in range(100):
        status = served.call("GET", answer.headers["Location"], token)
        if status["state"] != "running":
            break
        time.sleep(0.1)
    assert status["state"] == "completed" and status["accepted"] == 2, status
    drain(served, tenant)


def _tab_to(page: Any, selector: str, limit: int = 80) -> None:
    """Press Tab until the element `selector` has the focus: it is reachable by keyboard."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement === document.querySelector(s)", selector):
            return
    pytest.fail(f"{selector} is not reachable with Tab")


def test_a_template_is_edited_with_its_preview_and_errors_beside_their_fields(
    served: Served, page: Any
) -> None:
    tenant = _tenant()
    run(apply_config(served.bootstrap, tenant_config(tenant)))
    admin = served.user(tenant, "tenant_admin")
    _import(served, tenant, served.login(admin))
    _log_in(page, served, admin)
    page.get_by_role("link", name="Régua e mensagens").click()
    _heading(page, "Régua e mensagens")

    # The step's template as the API renders it for the latest imported debtor, as typed.
    template = page.get_by_label("Mensagem", exact=True).first
    template.fill("Olá, {first_name}! Pague {amount} até {due_date}.\n{company}")
    preview = page.locator("#preview")
    maria = "Olá, Maria! Pague R$ 1.234,56 até 05/12/2026."
    joao = "Olá, João! Pague R$ 150,00 até 20/12/2026."
    page.wait_for_function(
        "texts => texts.some(t => document.getElementById('preview').textContent.startsWith(t))",
        arg=[maria, joao],
        timeout=TIMEOUT_MS,
    )
    assert preview.inner_text().endswith(f"Credora {tenant}")
    page.get_by_label("Código do cliente (vazio: o último importado)").fill("j2")
    preview.get_by_text(joao).wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Código do cliente (vazio: o último importado)").fill("m1")
    preview.get_by_text(maria).wait_for(timeout=TIMEOUT_MS)
    assert page.locator("#preview-note").inner_text() == "Etapa D-30, para o cliente m1."
    audit(page, "regua")

    # A field the régua does not know: the preview says so beside the template.
    template.fill("Olá {valor}")
    error = page.locator(f"#{template.get_attribute('id')}-error")
    error.get_by_text("campo desconhecido {valor}").wait_for(timeout=TIMEOUT_MS)
    assert template.get_attribute("aria-invalid") == "true"

    # Saving: the API's 422 errors beside the fields they name.
    template.fill("Olá, {first_name}! Sua fatura vence em {due_date}.")
    when = page.get_by_label("Quando (D-N, D0 ou D+N)").first
    when.fill("D+abc")
    page.get_by_label("Segunda a sexta — Padrão").fill("25:00-08:00")
    page.get_by_role("button", name="Salvar configuração").click()
    page.locator(f"#{when.get_attribute('id')}-error").get_by_text(
        "escreva D-N, D0 ou D+N"
    ).wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_label("Segunda a sexta — Padrão").get_attribute("aria-invalid") == "true"
    page.get_by_text("A configuração tem problemas").wait_for()
    assert page.evaluate("() => document.activeElement.name") == "when"  # the first problem
    preview.get_by_text("Olá, Maria! Sua fatura vence em 05/12/2026.").wait_for(timeout=TIMEOUT_MS)
    audit(page, "regua-erros")

    # Fixed, and saved with the keyboard; then GET answers what the form showed.
    when.fill("D-5")
    page.get_by_label("Segunda a sexta — Padrão").fill("08:00-20:00")
    page.get_by_label("Avisar quando o saldo de tokens ficar abaixo de").fill("250")
    page.get_by_label("Avisar quando o saldo de tokens ficar abaixo de").focus()
    _tab_to(page, "#save")
    page.keyboard.press("Enter")
    page.get_by_text("Configuração salva.").wait_for(timeout=TIMEOUT_MS)
    stored = served.call("GET", f"/v1/tenants/{tenant}/config", served.login(admin))
    assert stored["regua"]["steps"][0]["when"] == "D-5"
    assert stored["regua"]["steps"][0]["template"].startswith("Olá, {first_name}! Sua fatura")
    assert stored["low_balance_threshold"] == 250

    # Someone else saves meanwhile: this form's save is refused, and says how to go on.
    served.call(
        "PUT",
        f"/v1/tenants/{tenant}/config",
        served.login(admin),
        stored | {"low_balance_threshold": 300},
    )
    page.get_by_label("Avisar quando o saldo de tokens ficar abaixo de").fill("400")
    page.get_by_role("button", name="Salvar configuração").click()
    page.get_by_text("Outra pessoa mudou a configuração").wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Recarregar a configuração").click()
    page.wait_for_function(
        "() => document.querySelector('input[type=number]')?.value === '300'", timeout=TIMEOUT_MS
    )


def test_an_operator_reads_the_regua_read_only_and_a_viewer_has_no_conversations(
    served: Served, page: Any
) -> None:
    tenant = _tenant()
    run(apply_config(served.bootstrap, tenant_config(tenant)))
    viewer = served.user(tenant, "viewer")
    _log_in(page, served, viewer)
    assert "Conversas" not in _nav(page) and "Régua e mensagens" in _nav(page)
    page.get_by_role("link", name="Régua e mensagens").click()
    _heading(page, "Régua e mensagens")
    page.get_by_text("Somente leitura").wait_for()
    assert page.get_by_label("Mensagem", exact=True).first.get_attribute("readonly") == ""
    assert page.get_by_role("button", name="Salvar configuração").count() == 0
    page.goto(served.base + "/#/conversas")
    _heading(page, "Sem permissão")


def _story(tenant: str) -> tuple[list[tuple[Any, str]], str]:
    """A debt disputed and handed off half an hour ago, and a promise since: the events the
    agents write, each on its topic and key."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    disputed = f.inbound_message(
        tenant,
        phone="+5531987654321",
        message_id="in-dispute",
        body="não reconheço essa dívida",
        at=t0,
    )
    intent = f.intent_classified(
        tenant, label="dispute", confidence=0.93, phone="+5531987654321", message_id="in-dispute"
    )
    handoff = f.handoff_requested(tenant, reason="dispute", phone="+5531987654321", at=t0)
    handoff.waha_message_id = "in-dispute"
    promise = f.inbound_message(
        tenant, phone="+5511912345678", message_id="in-promise", body="pago sexta", at=t0
    )
    promise.timestamp = t0 + timedelta(minutes=5)
    promised = f.intent_classified(
        tenant,
        label="promise_to_pay",
        confidence=0.61,
        phone="+5511912345678",
        message_id="in-promise",
    )

    def chat(event: Any) -> str:
        return record_key(tenant, event.chat_id).decode()

    events = [
        (disputed, chat(disputed)),
        (intent, chat(intent)),
        (handoff, tenant),
        (promise, chat(promise)),
        (promised, chat(promised)),
    ]
    return events, handoff.header.event_id


def test_a_hand_off_is_resolved_with_the_keyboard_and_leaves_the_queue(
    served: Served, page: Any
) -> None:
    tenant = _tenant()
    run(apply_config(served.bootstrap, tenant_config(tenant)))
    operator = served.user(tenant, "operator")
    events, handoff_id = _story(tenant)
    run(produce_keyed(served.bootstrap, events))
    _log_in(page, served, operator)
    page.get_by_role("link", name="Conversas").click()
    _heading(page, "Conversas")
    queue, inbox = page.locator("#handoffs"), page.locator("#inbox")
    # The API follows each topic on its own: reload until the story is all there.
    deadline = time.monotonic() + 30
    while not (
        queue.get_by_role("link", name="+5531987654321").count()
        and inbox.get_by_text("61%").count()
    ):
        assert time.monotonic() < deadline, "the seeded story is not listed in 30 s"
        page.reload()
        _heading(page, "Conversas")
    assert "30 min" in queue.locator(".age").inner_text()
    assert inbox.get_by_role("cell", name="Promessa de pagamento").count() == 1
    assert inbox.get_by_role("cell", name="Esperando pessoa").count() == 1
    audit(page, "conversas")

    # The thread: what the bot understood of each message; correcting a label.
    page.get_by_role("link", name="+5511912345678").first.click()
    page.get_by_role("heading", name="Conversa com +5511912345678").wait_for(timeout=TIMEOUT_MS)
    understood = page.locator(".understood").first
    assert "O robô entendeu: Promessa de pagamento (61%)" in understood.inner_text()
    picker = page.get_by_label("Intenção para a mensagem", exact=False).first
    picker.select_option("already_paid")
    page.get_by_role("button", name="Corrigir a mensagem", exact=False).first.click()
    page.get_by_text("corrigida para Já pagou").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Resposta (enviada como pessoa, pelo WhatsApp do tenant)").fill(
        "Obrigado, vamos conferir o pagamento."
    )
    page.get_by_role("button", name="Enviar resposta").click()
    page.get_by_text("Resposta enviada para a fila de envio").wait_for(timeout=TIMEOUT_MS)
    audit(page, "conversa")

    # Back to the queue; the hand-off resolved with Tab and Enter leaves it.
    page.get_by_role("link", name="← Voltar para a fila e as conversas").click()
    queue.get_by_role("link", name="+5531987654321").wait_for(timeout=TIMEOUT_MS)
    page.locator("#main").focus()
    resolve = "#handoffs button"
    _tab_to(page, resolve)
    page.keyboard.press("Enter")
    page.get_by_text("Atendimento de +5531987654321 resolvido").wait_for(timeout=TIMEOUT_MS)
    queue.get_by_text("Ninguém esperando atendimento.").wait_for(timeout=TIMEOUT_MS)
    page.reload()
    _heading(page, "Conversas")
    queue.get_by_text("Ninguém esperando atendimento.").wait_for(timeout=TIMEOUT_MS)

    # What the console did is on the log: the resolution (its label), the correction.
    written = [p.event for p in run(read_events(served.bootstrap, CONVERSATIONS.name))]
    mine = [e for e in written if e.header.tenant_id == tenant]
    resolved = [e for e in mine if e.header.event_type == "HandoffResolved"]
    assert [(e.handoff_id, e.label) for e in resolved] == [(handoff_id, "dispute")]
    corrected = [e for e in mine if e.header.event_type == "IntentCorrected"]
    assert [(e.waha_message_id, e.label) for e in corrected] == [("in-promise", "already_paid")]


def test_the_rejected_rows_of_an_import_are_downloaded(
    served: Served, page: Any, tmp_path: Path
) -> None:
    tenant = _tenant()
    operator = served.user(tenant, "operator")
    upload = tmp_path / "devedores.csv"
    upload.write_text(DEBTORS, encoding="utf-8")
    _log_in(page, served, operator)
    page.get_by_role("link", name="Devedores e importações").click()
    _heading(page, "Devedores e importações")
    page.get_by_label("Arquivo de devedores (CSV, JSON, NDJSON, XLSX, XLS, ODS)").set_input_files(
        str(upload)
    )
    page.get_by_role("button", name="Importar").click()
    page.locator("#import-state").get_by_text("Concluída").wait_for(timeout=60_000)
    drain(served, tenant)  # what `cobranca sink` does all the time
    with page.expect_download(timeout=TIMEOUT_MS) as info:
        page.get_by_role("button", name="Baixar linhas rejeitadas (CSV)").click()
    download = info.value
    assert download.suggested_filename.startswith("rejeitadas-")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert [(r["row"], r["reason"], r["field"]) for r in rows] == [("3", "invalid_phone", "phone")]
    assert rows[0]["raw_row"] == "x3;Xavier Bento;123;R$ 10,00;2026-12-20"
    assert rows[0]["message"].startswith("telefone '123'")
    audit(page, "devedores-e-importacoes")
