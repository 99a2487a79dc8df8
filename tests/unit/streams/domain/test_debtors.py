"""Debtor search texts, whether a debtor answers one, the timeline's fold, and the threshold
change (streams/domain/debtors.py, tenant_config.with_low_balance_threshold)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from streams.domain.debtors import (
    QueryKind,
    fold_timeline,
    matches,
    normalize_name,
    parse_debtor_query,
)
from streams.domain.errors import InvalidDebtorQuery, TenantConfigError
from streams.domain.tenant_config import (
    TenantConfig,
    config_from_event,
    parse_tenant_text,
    to_event,
    with_low_balance_threshold,
)


def test_names_are_compared_without_case_accents_or_extra_spaces() -> None:
    assert normalize_name("  José  da CONCEIÇÃO ") == "jose da conceicao"
    query = parse_debtor_query("conceiçao")
    assert query.kind is QueryKind.NAME and query.text == "conceicao"
    assert matches(query, "Maria José da Conceição", "+5511987654321", None)
    assert not matches(query, "Maria José da Silva", "+5511987654321", None)


@pytest.mark.parametrize("text", ["(11) 98765-4321", "+55 11 98765 4321", "11987654321"])
def test_a_whole_phone_in_any_formatting_is_that_phone(text: str) -> None:
    query = parse_debtor_query(text)
    assert query.kind is QueryKind.NUMBER and query.phone_e164 == "+5511987654321"
    assert matches(query, "Ana", "+5511987654321", None)
    assert not matches(query, "Ana", "+5521987654321", None)


def test_the_end_of_a_phone_finds_the_phones_ending_so() -> None:
    query = parse_debtor_query("4321")
    assert query.phone_e164 is None and query.phone_suffix == "4321"
    assert matches(query, "Ana", "+5511987654321", None)
    assert matches(parse_debtor_query("54321"), "Ana", "+5511987654321", None)
    assert not matches(parse_debtor_query("64321"), "Ana", "+5511987654321", None)


def test_a_cpf_or_cnpj_with_or_without_punctuation() -> None:
    query = parse_debtor_query("529.982.247-25")
    assert query.document == "52998224725"
    assert matches(query, "Ana", "+5511987654321", "52998224725")
    assert not matches(query, "Ana", "+5511987654321", "11144477735")
    cnpj = parse_debtor_query("12.ABC.345/01DE-35")
    assert cnpj.kind is QueryKind.NUMBER and cnpj.document == "12ABC34501DE35"


@pytest.mark.parametrize("text", ["", "   ", "ab", "123", "x" * 101])
def test_texts_too_short_or_long_are_refused_in_portuguese(text: str) -> None:
    with pytest.raises(InvalidDebtorQuery, match=r"busca|digite"):
        parse_debtor_query(text)


T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_the_timeline_keeps_what_concerns_the_debt_in_time_order_each_once() -> None:
    def at(minutes: int, event_type: str, position: str, **fields: object) -> tuple:  # type: ignore[type-arg]
        return (T0 + timedelta(minutes=minutes), event_type, position, fields)

    request = "cobranca.sends.requested[0]@4"
    events = [
        at(5, "InboundMessage", "cobranca.conversations[0]@9"),
        at(0, "ClientImported", "cobranca.clients[1]@3", amount_centavos=123456,
           due_date="2026-12-05"),
        at(1, "SendRequested", request, step="D-3", request_id="r1"),
        at(1, "SendRequested", request, step="D-3", request_id="r1"),
        at(2, "TokensDebited", "cobranca.ledger[0]@7", amount=1, request_id="r1"),
        at(3, "DeliveryStatusChanged", "cobranca.conversations[0]@8", ack_name="READ"),
        at(3, "SessionStatusChanged", "cobranca.conversations[0]@2"),
        at(6, "IntentClassified", "cobranca.intents[0]@1", label="promise_to_pay", confidence=0.9),
        at(7, "PaymentPromised", "cobranca.actions[0]@1", promised_date="2026-12-10",
           amount_centavos=5000),
        at(8, "OptedOut", "cobranca.actions[0]@2"),
        at(9, "HandoffRequested", "cobranca.actions[0]@3", reason="dispute"),
    ]  # fmt: skip
    entries = fold_timeline(events)
    assert [e.kind for e in entries] == [
        "importado",
        "lembrete_solicitado",
        "debito",
        "lida",
        "resposta",
        "intencao",
        "promessa",
        "descadastro",
        "transferido_para_humano",
    ]
    assert entries[0].label == "Dívida importada: R$ 1.234,56, vencimento 05/12/2026"
    assert entries[1].label == "Lembrete D-3 da régua" and entries[1].details["request_id"] == "r1"
    assert entries[5].label == "Intenção lida: promessa de pagamento"
    assert entries[6].label == "Promessa de pagamento para 10/12/2026 R$ 50,00"
    assert entries[4].as_dict()["position"] == "cobranca.conversations[0]@9"
    assert "text" not in entries[4].as_dict()
    [own] = fold_timeline([at(1, "InboundMessage", "cobranca.conversations[0]@1", from_me=True)])
    assert own.kind == "mensagem_do_atendente"


EXAMPLE = Path(__file__).resolve().parents[4] / "infra" / "tenants" / "acme-cobrancas.yaml"


def _config() -> TenantConfig:
    return parse_tenant_text(EXAMPLE.read_text(), source=EXAMPLE.name)


def test_the_threshold_changes_alone_and_round_trips_through_the_event() -> None:
    config = _config()
    changed = with_low_balance_threshold(config, 250)
    assert changed.low_balance_threshold == 250 and changed.source_file is None
    again = config_from_event(to_event(changed))
    assert again.low_balance_threshold == 250
    assert (again.prices, again.steps, again.sessions, again.contact) == (
        config.prices,
        config.steps,
        config.sessions,
        config.contact,
    )
    assert again.ledger_policy.low_balance_threshold == 250


@pytest.mark.parametrize("bad", [-1, 1.5, True, "100", None, 10**12 + 1])
def test_a_threshold_that_is_not_a_whole_number_of_tokens_is_refused(bad: object) -> None:
    with pytest.raises(TenantConfigError, match="low_balance_threshold"):
        with_low_balance_threshold(_config(), bad)
