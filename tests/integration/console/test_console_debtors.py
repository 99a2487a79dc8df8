"""The console's debtor search and a debtor's timeline (Devedores e importações) in chromium on
the real API process: debtors imported through the API and sunk into ClickHouse, found by a
piece of their name (with "Mais resultados" following next_cursor) and by their phone, a
search the API refuses said beside the box, a timeline opened with the keyboard showing the
import; a viewer finds the same debtors with phone and CPF masked. axe-core on each view."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from tests import factories as f
from tests.integration.console.conftest import Served, audit, drain, run
from tests.integration.console.test_console_pages import _heading, _log_in, _tab_to
from tests.kafka_helpers import produce

pytestmark = pytest.mark.integration

TIMEOUT_MS = 30_000
MARIA_PHONE = "+5511987654321"
MARIA_CPF = "52998224725"
SILVAS = 21
"""With Maria, one more "silva" than the console's page of 20: "Mais resultados" is needed."""


def _debtors() -> str:
    rows = [
        "Código;Nome;Celular;CPF;Valor;Vencimento",
        "m1;Maria da Silva;(11) 98765-4321;529.982.247-25;R$ 1.234,56;05/12/2026",
        "j2;João Souza;(21) 99876-5432;;150;2026-12-20",
    ]
    rows += [
        f"s{n:02d};Pedro Silva {n:02d};(31) 98888-{n:04d};;R$ 10,00;2026-12-20"
        for n in range(SILVAS)
    ]
    return "\n".join(rows) + "\n"


def _import(served: Served, tenant: str, token: str) -> None:
    """The debtors, imported through the API, then sunk into ClickHouse (where the search
    finds its candidates)."""
    answer = requests.post(
        f"{served.base}/v1/tenants/{tenant}/imports",
        data=_debtors().encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "text/csv"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    for _ in range(200):
        status = served.call("GET", answer.headers["Location"], token)
        if status["state"] != "running":
            break
        time.sleep(0.1)
    assert status["state"] == "completed" and status["accepted"] == 2 + SILVAS, status
    drain(served, tenant)


def _reminded(served: Served, tenant: str) -> None:
    """After her import, a reminder to Maria with its whole story up to her reply, the intent
    read and a promise, as the agents write them; sunk into ClickHouse."""
    at = datetime.now(UTC).replace(microsecond=0)
    story = f.send_story(tenant, "r-maria-1", at=at, phone=MARIA_PHONE, client_id="m1")
    reply_id = f"false_{f.chat_of(MARIA_PHONE)}_r-maria-1"
    later = at + timedelta(minutes=20)  # the reply comes 10 minutes after the request
    understood = [
        f.intent_classified(
            tenant, phone=MARIA_PHONE, message_id=reply_id, client_id="m1", at=later
        ),
        f.payment_promised(tenant, "m1", message_id=reply_id, at=later + timedelta(seconds=30)),
    ]
    run(produce(served.bootstrap, [*story, *understood], tenant))
    drain(served, tenant)


def _search(page: Any, text: str) -> None:
    box = page.get_by_label("Nome, telefone ou CPF/CNPJ")
    box.fill(text)
    box.press("Enter")  # the form submits with Enter: no click needed


def _rows(page: Any) -> list[list[str]]:
    rows: list[list[str]] = page.eval_on_selector_all(
        "#debtor-results tbody tr",
        "rows => rows.map(r => [...r.cells].map(c => c.textContent.replace(/\\s+/g, ' ').trim()))",
    )
    return rows


def _open_devedores(page: Any) -> None:
    page.get_by_role("link", name="Devedores e importações").click()
    _heading(page, "Devedores e importações")
    page.get_by_role("search", name="Buscar devedores").wait_for()


def test_debtors_are_searched_by_name_and_phone_and_a_timeline_opened_with_the_keyboard(
    served: Served, page: Any
) -> None:
    tenant = f"d{uuid.uuid4().hex[:6]}"
    operator = served.user(tenant, "operator")
    _import(served, tenant, served.login(operator))
    _reminded(served, tenant)
    _log_in(page, served, operator)
    _open_devedores(page)

    # Two letters: the API refuses (400 invalid_query) and the console says why, by the box.
    _search(page, "ma")
    error = page.locator("#debtor-search-error")
    error.get_by_text("ao menos 3 letras").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_label("Nome, telefone ou CPF/CNPJ").get_attribute("aria-invalid") == "true"

    # A piece of a name, any case: a page of 20, then the rest by "Mais resultados".
    _search(page, "SILVA")
    page.get_by_role("button", name="Mais resultados").wait_for(timeout=TIMEOUT_MS)
    assert error.inner_text() == ""
    assert page.get_by_label("Nome, telefone ou CPF/CNPJ").get_attribute("aria-invalid") is None
    assert len(_rows(page)) == 20
    page.get_by_role("button", name="Mais resultados").click()
    page.locator("#debtor-count").get_by_text(f"{SILVAS + 1} devedores encontrados").wait_for()
    assert page.get_by_role("button", name="Mais resultados").count() == 0
    names = {row[0] for row in _rows(page)}
    assert "Maria da Silva" in names and "Pedro Silva 20" in names and "João Souza" not in names
    audit(page, "devedores-busca")

    # By phone, as people type it: Maria alone, in Brazilian formats, unmasked for an operator.
    _search(page, "98765-4321")
    page.locator("#debtor-count").get_by_text("1 devedor encontrado").wait_for(timeout=TIMEOUT_MS)
    [maria] = _rows(page)
    assert maria[:6] == [
        "Maria da Silva",
        "m1",
        MARIA_PHONE,
        MARIA_CPF,
        "R$ 1.234,56",
        "05/12/2026",
    ]
    assert maria[6][:2].isdigit() and maria[6][2] == "/"  # DD/MM/AAAA HH:mm, São Paulo

    # The debtor's link is reached with Tab and opened with Enter.
    _tab_to(page, "#debtor-results tbody a")
    page.keyboard.press("Enter")
    page.get_by_role("heading", level=2, name="Linha do tempo de Maria da Silva (m1)").wait_for(
        timeout=TIMEOUT_MS
    )
    imported = page.locator("#timeline li[data-kind='importado']")
    imported.get_by_text("Dívida importada: R$ 1.234,56, vencimento 05/12/2026").wait_for(
        timeout=TIMEOUT_MS
    )
    assert imported.locator("time").inner_text()[2] == "/"
    assert "Importação:" in imported.inner_text()
    kinds = page.eval_on_selector_all("#timeline li", "items => items.map(i => i.dataset.kind)")
    assert kinds[0] == "importado" and kinds[-3:] == ["resposta", "intencao", "promessa"], kinds
    reply = page.locator("#timeline li[data-kind='resposta']")
    assert reply.locator("blockquote").inner_text() == "vou pagar sexta"
    assert (
        "Intenção: Promessa de pagamento"
        in page.locator("#timeline li[data-kind='intencao']").inner_text()
    )
    audit(page, "devedor-linha-do-tempo")

    # Back to the search it came from, searched again.
    page.get_by_role("link", name="← Voltar para a busca de devedores").click()
    page.locator("#debtor-count").get_by_text("1 devedor encontrado").wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_label("Nome, telefone ou CPF/CNPJ").input_value() == "98765-4321"


def test_a_viewer_finds_debtors_with_phone_and_document_masked(served: Served, page: Any) -> None:
    tenant = f"d{uuid.uuid4().hex[:6]}"
    operator = served.user(tenant, "operator")
    viewer = served.user(tenant, "viewer")
    _import(served, tenant, served.login(operator))
    _log_in(page, served, viewer)
    _open_devedores(page)
    # A viewer reads (imports:read) and does not upload (imports:write).
    assert page.get_by_role("button", name="Importar").count() == 0

    _search(page, "maria")
    page.locator("#debtor-count").get_by_text("1 devedor encontrado").wait_for(timeout=TIMEOUT_MS)
    [maria] = _rows(page)
    assert maria[0] == "Maria da Silva"
    assert "****" in maria[2] and maria[2].endswith("21") and maria[3] == "52998****25"
    assert MARIA_PHONE not in page.content() and MARIA_CPF not in page.content()

    page.get_by_role("link", name="Linha do tempo de Maria da Silva").click()
    page.locator("#timeline li[data-kind='importado']").wait_for(timeout=TIMEOUT_MS)
    page.get_by_text("O texto das respostas não é mostrado ao seu papel.").wait_for()
    audit(page, "devedor-linha-do-tempo-leitor")
