"""What simulated debtors answer, in Brazilian Portuguese, for the demo.

Each reply has the intent it was written for, so a demo can show the classifier's guess beside
the truth. Dates are written the way people write them on WhatsApp ("dia 15", "sexta", "20/12").
Pure: the caller passes the random generator and today's date.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

__all__ = ["DebtorReply", "ReplyIntent", "debtor_reply"]


class ReplyIntent(enum.StrEnum):
    """What a simulated debtor means."""

    PROMISE_TO_PAY = "promise_to_pay"
    ALREADY_PAID = "already_paid"
    ASKS_PAYMENT_INFO = "asks_payment_info"
    NEGOTIATE = "negotiate"
    DISPUTE = "dispute"
    OPT_OUT = "opt_out"
    TALK_TO_HUMAN = "talk_to_human"
    WRONG_PERSON = "wrong_person"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class DebtorReply:
    intent: ReplyIntent
    text: str
    promised_date: date | None = None


_WEEKDAYS: Final = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")

# {dia}: day of the month; {data}: dd/mm; {semana}: weekday name. Spelling mistakes and missing
# accents are on purpose: that is how people write.
_TEXTS: Final[dict[ReplyIntent, tuple[str, ...]]] = {
    ReplyIntent.PROMISE_TO_PAY: (
        "Vou pagar dia {dia}, pode ficar tranquilo",
        "consigo pagar na {semana}",
        "Pago até {data} sem falta",
        "recebo dia {dia} e já faço o pagamento",
        "semana que vem eu pago, dia {data}",
        "Pode deixar que {semana} eu acerto",
    ),
    ReplyIntent.ALREADY_PAID: (
        "Já paguei ontem, vou mandar o comprovante",
        "ja foi pago isso ai",
        "Paguei no pix hoje de manhã",
        "Essa conta já está quitada, paguei semana passada",
    ),
    ReplyIntent.ASKS_PAYMENT_INFO: (
        "Me manda o pix por favor",
        "pode enviar o boleto atualizado?",
        "Qual a chave pix?",
        "manda a segunda via do boleto",
        "Tem como pagar no cartão? me passa o link",
    ),
    ReplyIntent.NEGOTIATE: (
        "Consigo pagar metade agora e o resto mês que vem",
        "tem desconto pra pagar à vista?",
        "Dá pra parcelar em 3 vezes?",
        "to sem condições agora, podemos negociar?",
    ),
    ReplyIntent.DISPUTE: (
        "Não reconheço essa dívida",
        "esse valor está errado, eu paguei menos que isso",
        "Nunca fiz compra com vocês",
        "isso já foi cancelado, não devo nada",
    ),
    ReplyIntent.OPT_OUT: (
        "Pare de me mandar mensagem",
        "não quero mais receber isso",
        "SAIR",
        "Me tira dessa lista por favor",
    ),
    ReplyIntent.TALK_TO_HUMAN: (
        "Quero falar com um atendente",
        "tem alguém de verdade aí?",
        "Prefiro falar com uma pessoa, me liga",
    ),
    ReplyIntent.WRONG_PERSON: (
        "Número errado, não conheço essa pessoa",
        "aqui não é a Maria não",
        "Esse telefone é meu faz 2 anos, vocês estão procurando outra pessoa",
    ),
    ReplyIntent.OTHER: (
        "ok",
        "Bom dia",
        "quem é?",
        "👍",
        "Recebi",
    ),
}

#: How often each intent comes up: promises and payment questions dominate real traffic.
_WEIGHTS: Final[dict[ReplyIntent, int]] = {
    ReplyIntent.PROMISE_TO_PAY: 26,
    ReplyIntent.ALREADY_PAID: 12,
    ReplyIntent.ASKS_PAYMENT_INFO: 18,
    ReplyIntent.NEGOTIATE: 10,
    ReplyIntent.DISPUTE: 6,
    ReplyIntent.OPT_OUT: 6,
    ReplyIntent.TALK_TO_HUMAN: 6,
    ReplyIntent.WRONG_PERSON: 5,
    ReplyIntent.OTHER: 11,
}


def debtor_reply(rng: random.Random, today: date, intent: ReplyIntent | None = None) -> DebtorReply:
    """One reply; `intent` picks the kind, otherwise it is drawn with realistic weights."""
    if intent is None:
        intents = list(_WEIGHTS)
        intent = rng.choices(intents, weights=[_WEIGHTS[i] for i in intents])[0]
    template = rng.choice(_TEXTS[intent])
    promised: date | None = None
    if "{" in template:
        promised = today + timedelta(days=rng.randint(1, 20))
    text = template.format(
        dia=promised.day if promised else "",
        data=promised.strftime("%d/%m") if promised else "",
        semana=_WEEKDAYS[promised.weekday()] if promised else "",
    )
    return DebtorReply(intent, text, promised)
