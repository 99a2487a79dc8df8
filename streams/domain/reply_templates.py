"""Every reply the conversation agent sends, in Brazilian Portuguese, in one place.

Pure: each function takes what the debtor should read and returns the text. Money and dates
are written as a debtor reads them (streams/domain/formatting.py). Replies are short, one topic
each,
and never repeat personal data the debtor did not already have (the name, the amount and the
payment data of their own debt).
"""

from __future__ import annotations

from datetime import date

from streams.domain.brazil.calendar import format_date_br
from streams.domain.brazil.money import format_brl
from streams.domain.formatting import safe_name

__all__ = [
    "first_name",
    "handoff_notice",
    "opt_out_confirmation",
    "payment_info",
    "promise_confirmation",
    "receipt_request",
]


def first_name(name: str | None) -> str | None:
    """ "MARIA DA SILVA" → "Maria"; None or blank → None. Shown safely (`safe_name`)."""
    words = safe_name(name or "").split()
    return words[0].capitalize() if words else None


def _greeting(name: str | None) -> str:
    first = first_name(name)
    return f"{first}, " if first else ""


def payment_info(
    *,
    name: str | None,
    amount_centavos: int,
    due_date: date,
    pix_code: str | None,
    boleto_line: str | None,
    payment_url: str | None,
) -> str | None:
    """The ways to pay the debt, or None when the import carried none."""
    ways = []
    if pix_code:
        ways.append(f"Pix copia e cola:\n{pix_code}")
    if boleto_line:
        ways.append(f"Linha digitável do boleto:\n{boleto_line}")
    if payment_url:
        ways.append(f"Link para pagamento:\n{payment_url}")
    if not ways:
        return None
    head = (
        f"{_greeting(name)}segue como pagar {format_brl(amount_centavos)} "
        f"(vencimento {format_date_br(due_date)}):"
    )
    return "\n\n".join([_capitalized(head), *ways])


def promise_confirmation(
    *, name: str | None, promised: date | None, amount_centavos: int | None
) -> str:
    """Confirms a promise, with its date and amount when the debtor gave them."""
    what = f"o pagamento de {format_brl(amount_centavos)}" if amount_centavos else "o pagamento"
    if promised is not None:
        text = f"{_greeting(name)}combinado! Anotamos {what} para {format_date_br(promised)}."
    else:
        text = f"{_greeting(name)}combinado! Anotamos {what}. Qual dia você vai pagar?"
    return _capitalized(text) + " Obrigado!"


def receipt_request(*, name: str | None) -> str:
    """Asks for the receipt of a payment the debtor says was made."""
    return _capitalized(
        f"{_greeting(name)}obrigado pelo aviso! Pode enviar o comprovante por aqui? "
        "Assim que ele for conferido, a cobrança é encerrada."
    )


def opt_out_confirmation() -> str:
    """The one message after an opt-out: nothing else is sent to the number."""
    return (
        "Tudo bem. Você não receberá mais mensagens de cobrança neste número. "
        "Esta é a última mensagem."
    )


def handoff_notice(*, name: str | None) -> str:
    """Tells the debtor a person takes over; automated reminders pause meanwhile."""
    return _capitalized(
        f"{_greeting(name)}entendi. Um atendente vai continuar a conversa com você por aqui "
        "em breve."
    )


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]
