"""The pt-BR replies: what the debtor reads."""

from __future__ import annotations

from datetime import date

from streams.domain import reply_templates as t


def test_payment_info_lists_every_way_to_pay() -> None:
    text = t.payment_info(
        name="MARIA DA SILVA",
        amount_centavos=123_456,
        due_date=date(2026, 12, 5),
        pix_code="PIXCODE",
        boleto_line="23790.12345",
        payment_url="https://pague.example.com/x",
    )
    assert text == (
        "Maria, segue como pagar R$ 1.234,56 (vencimento 05/12/2026):\n\n"
        "Pix copia e cola:\nPIXCODE\n\n"
        "Linha digitável do boleto:\n23790.12345\n\n"
        "Link para pagamento:\nhttps://pague.example.com/x"
    )


def test_payment_info_with_only_a_pix_and_no_name() -> None:
    text = t.payment_info(
        name=" ",
        amount_centavos=5_000,
        due_date=date(2027, 1, 31),
        pix_code="PIX",
        boleto_line=None,
        payment_url=None,
    )
    assert text == "Segue como pagar R$ 50,00 (vencimento 31/01/2027):\n\nPix copia e cola:\nPIX"


def test_no_payment_data_means_no_payment_reply() -> None:
    none = t.payment_info(
        name="Ana",
        amount_centavos=1,
        due_date=date(2026, 1, 1),
        pix_code=None,
        boleto_line="",
        payment_url=None,
    )
    assert none is None


def test_promise_confirmation_carries_the_date_as_dd_mm_yyyy() -> None:
    assert t.promise_confirmation(
        name="joão", promised=date(2026, 12, 4), amount_centavos=None
    ) == ("João, combinado! Anotamos o pagamento para 04/12/2026. Obrigado!")
    assert t.promise_confirmation(
        name=None, promised=date(2027, 1, 10), amount_centavos=15_000
    ) == ("Combinado! Anotamos o pagamento de R$ 150,00 para 10/01/2027. Obrigado!")


def test_a_promise_without_a_date_asks_for_one() -> None:
    text = t.promise_confirmation(name="Ana", promised=None, amount_centavos=None)
    assert text == "Ana, combinado! Anotamos o pagamento. Qual dia você vai pagar? Obrigado!"


def test_the_other_replies() -> None:
    assert "comprovante" in t.receipt_request(name="Ana")
    assert t.receipt_request(name=None).startswith("Obrigado pelo aviso!")
    assert "não receberá mais mensagens" in t.opt_out_confirmation()
    assert t.handoff_notice(name="ana maria").startswith("Ana, entendi. Um atendente")
    assert t.first_name("  MARIA  da silva") == "Maria"
    assert t.first_name(None) is None
