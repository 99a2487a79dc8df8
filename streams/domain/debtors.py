"""A tenant's debtors as the console finds and follows them: what a search asks for, whether a
debtor answers it, and a debtor's history as a time-ordered list of pt-BR entries.

Pure: the search runs in ClickHouse (`connectors/clickhouse/debtors.py`), which holds no name,
phone or CPF/CNPJ in clear (only keyed pseudonyms, name trigram hashes and a phone's last four
digits, migration 0015); these rules say what a query is and check the candidates it returns
against the imported values read back from the log.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from streams.domain.brazil.calendar import format_date_br
from streams.domain.brazil.documents import normalize_document
from streams.domain.brazil.errors import InvalidValue
from streams.domain.brazil.money import format_brl
from streams.domain.brazil.phones import normalize_phone
from streams.domain.errors import InvalidDebtorQuery

__all__ = [
    "MIN_NAME_CHARS",
    "MIN_PHONE_DIGITS",
    "DebtorQuery",
    "InvalidDebtorQuery",
    "QueryKind",
    "TimelineEntry",
    "fold_timeline",
    "matches",
    "normalize_name",
    "parse_debtor_query",
]

MIN_NAME_CHARS: Final = 3
"""A name search looks for every trigram of the text: shorter texts have none."""
MIN_PHONE_DIGITS: Final = 4
"""A phone search by its end needs at least the last four digits (what ClickHouse holds)."""
MAX_QUERY_CHARS: Final = 100
_SAO_PAULO: Final = ZoneInfo("America/Sao_Paulo")
_SPACES: Final = re.compile(r"\s+")
_DIGITS_ONLY: Final = re.compile(r"^[\d\s().+/-]+$")
_NON_DIGITS: Final = re.compile(r"\D")


class QueryKind(enum.StrEnum):
    NAME = "name"
    NUMBER = "number"
    """Digits: a phone (whole or its end) or a CPF/CNPJ."""


def normalize_name(text: str) -> str:
    """Lower case, accents off, runs of spaces as one: `  José  da CONCEIÇÃO` → `jose da
    conceicao`. ClickHouse computes the same (`connectors/clickhouse/debtors.NAME_NORMALIZED`)."""
    decomposed = unicodedata.normalize("NFD", text)
    bare = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return _SPACES.sub(" ", bare.lower()).strip()


@dataclass(frozen=True, slots=True)
class DebtorQuery:
    """What a search text asks for."""

    kind: QueryKind
    text: str
    """NAME: the normalized name; NUMBER: the digits (a CNPJ's letters upper-cased)."""
    phone_e164: str | None = None
    """The whole phone the digits spell, when they spell one."""
    document: str | None = None
    """The CPF/CNPJ the digits spell, when they spell a valid one."""

    @property
    def phone_suffix(self) -> str:
        """The last four digits, which ClickHouse holds per import (NUMBER only)."""
        return self.text[-MIN_PHONE_DIGITS:]


def parse_debtor_query(text: str) -> DebtorQuery:
    """A name (3+ letters, any case or accents), a phone in any formatting (whole, or at least
    its last 4 digits), or a CPF/CNPJ (digits, with or without punctuation)."""
    raw = text.strip()
    if not raw or len(raw) > MAX_QUERY_CHARS:
        raise InvalidDebtorQuery(
            f"a busca tem de 1 a {MAX_QUERY_CHARS} caracteres: um nome, um telefone ou um CPF/CNPJ"
        )
    document = _document(raw)
    if _DIGITS_ONLY.match(raw):
        digits = _NON_DIGITS.sub("", raw)
        if len(digits) < MIN_PHONE_DIGITS:
            raise InvalidDebtorQuery(
                f"para buscar por número, digite ao menos os {MIN_PHONE_DIGITS} últimos dígitos"
            )
        return DebtorQuery(QueryKind.NUMBER, digits, _phone(raw), document)
    if document is not None:  # an alphanumeric CNPJ
        return DebtorQuery(QueryKind.NUMBER, document, None, document)
    name = normalize_name(raw)
    if len(name) < MIN_NAME_CHARS:
        raise InvalidDebtorQuery(f"para buscar por nome, digite ao menos {MIN_NAME_CHARS} letras")
    return DebtorQuery(QueryKind.NAME, name)


def _phone(text: str) -> str | None:
    try:
        return normalize_phone(text, allow_landlines=True)
    except InvalidValue:
        return None


def _document(text: str) -> str | None:
    try:
        return normalize_document(text)[0]
    except InvalidValue:
        return None


def matches(query: DebtorQuery, name: str, phone_e164: str, document: str | None) -> bool:
    """Whether an imported debtor answers `query`: the name contains the text (case and accents
    aside), or the phone ends with the digits or is the phone they spell, or the CPF/CNPJ is
    the one they spell."""
    if query.kind is QueryKind.NAME:
        return query.text in normalize_name(name)
    if query.document is not None and document == query.document:
        return True
    if query.phone_e164 is not None and phone_e164 == query.phone_e164:
        return True
    return _NON_DIGITS.sub("", phone_e164).endswith(query.text)


# --- the timeline ------------------------------------------------------------------------------

_INTENTS: Final[Mapping[str, str]] = {
    "promise_to_pay": "promessa de pagamento",
    "already_paid": "já pagou",
    "request_payment_info": "pediu dados para pagamento",
    "negotiate": "quer negociar",
    "dispute": "contesta a dívida",
    "opt_out": "não quer mais receber mensagens",
    "talk_to_human": "quer falar com uma pessoa",
    "wrong_person": "pessoa errada",
    "other": "outro assunto",
}
_ACKS: Final[Mapping[str, tuple[str, str]]] = {
    "SERVER": ("enviada", "Mensagem chegou ao WhatsApp"),
    "DEVICE": ("entregue", "Mensagem entregue"),
    "READ": ("lida", "Mensagem lida"),
    "PLAYED": ("lida", "Mensagem ouvida"),
    "ERROR": ("falha_na_entrega", "Falha na entrega"),
}
_REJECTIONS: Final[Mapping[str, str]] = {
    "insufficient_tokens": "saldo de tokens insuficiente",
    "opted_out": "devedor descadastrado",
    "wrong_number": "número errado",
    "outside_contact_window": "fora da janela de contato",
    "duplicate": "envio repetido",
    "paused": "cobrança pausada",
}


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One thing that happened to a debtor, as the console shows it."""

    occurred_at: datetime
    kind: str
    """A stable pt-BR code: `importado`, `lembrete_solicitado`, `resposta`, `promessa`, …"""
    label: str
    """What happened, in pt-BR, ready to show."""
    event_type: str
    position: str
    """`topic[partition]@offset`: where the log holds the event."""
    details: dict[str, Any]
    text: str | None = None
    """A reply's text, for callers that may read it (filled by the caller from the log)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "occurred_at": self.occurred_at.isoformat(),
            "kind": self.kind,
            "label": self.label,
            "event_type": self.event_type,
            "position": self.position,
            "details": self.details,
            **({"text": self.text} if self.text is not None else {}),
        }


def _local(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(_SAO_PAULO).strftime("%d/%m/%Y %H:%M")


def _day(value: Any) -> str | None:
    try:
        return format_date_br(date.fromisoformat(str(value))) if value else None
    except ValueError:
        return None


def _money(value: Any) -> str | None:
    return format_brl(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _entry(event_type: str, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    """(kind, label) of one event, or None for events a debtor's history leaves out."""
    match event_type:
        case "ClientImported":
            amount, due = _money(fields.get("amount_centavos")), _day(fields.get("due_date"))
            return "importado", f"Dívida importada: {amount or '—'}, vencimento {due or '—'}"
        case "SendRequested":
            step = fields.get("step") or ""
            if step == "api":
                return "mensagem_solicitada", "Mensagem pedida pela API"
            if not step:  # the conversation's replies have no step
                return "resposta_automatica", "Resposta automática ao devedor"
            return "lembrete_solicitado", f"Lembrete {step} da régua"
        case "SendDeferred":
            until = _local(fields.get("until"))
            return "lembrete_adiado", f"Envio adiado para {until or 'a próxima janela'}"
        case "SendApproved":
            return "envio_aprovado", "Envio aprovado"
        case "SendRejected":
            reason = str(fields.get("reason") or "")
            return "envio_recusado", f"Envio recusado: {_REJECTIONS.get(reason, reason)}"
        case "TokensDebited":
            return "debito", f"{fields.get('amount')} token(s) debitado(s)"
        case "TokensRefunded":
            return "estorno", f"{fields.get('amount')} token(s) devolvido(s)"
        case "MessageDispatched":
            return "mensagem_enviada", "Mensagem enviada ao WhatsApp"
        case "DispatchFailed":
            return "falha_no_envio", "O WhatsApp não aceitou a mensagem"
        case "DeliveryStatusChanged":
            return _ACKS.get(str(fields.get("ack_name") or "").upper())
        case "InboundMessage":
            if fields.get("from_me"):  # written on the tenant's phone itself
                return "mensagem_do_atendente", "Mensagem escrita no aparelho do tenant"
            return "resposta", "Resposta do devedor"
        case "IntentClassified":
            label = str(fields.get("label") or "")
            return "intencao", f"Intenção lida: {_INTENTS.get(label, label)}"
        case "PaymentPromised":
            day, amount = _day(fields.get("promised_date")), _money(fields.get("amount_centavos"))
            said = " ".join(x for x in (f"para {day}" if day else None, amount) if x)
            return "promessa", f"Promessa de pagamento {said}".strip()
        case "PaymentClaimed":
            return "pagamento_informado", "Devedor diz que já pagou"
        case "OptedOut":
            return "descadastro", "Devedor pediu para não receber mais mensagens"
        case "WrongNumberReported":
            return "numero_errado", "Número errado informado"
        case "HandoffRequested":
            reason = str(fields.get("reason") or "")
            return "transferido_para_humano", f"Encaminhado a um atendente ({reason})"
        case "HandoffResolved":
            return "atendimento_resolvido", "Atendimento humano concluído"
        case "CollectionPaused":
            return "cobranca_pausada", "Cobrança pausada"
    return None


_DETAILS: Final = (
    "request_id",
    "step",
    "kind",
    "reason",
    "amount",
    "amount_centavos",
    "due_date",
    "promised_date",
    "label",
    "confidence",
    "ack_name",
    "until",
    "import_id",
    "invoice_id",
)


def fold_timeline(
    events: Iterable[tuple[datetime, str, str, Mapping[str, Any]]],
) -> list[TimelineEntry]:
    """A debtor's history from `(occurred_at, event_type, position, fields)` (fields as analytics
    keeps them): the events that say something about the debt, oldest first, each once."""
    seen: set[str] = set()
    entries = []
    for occurred_at, event_type, position, fields in sorted(events, key=lambda e: (e[0], e[2])):
        if position in seen:
            continue
        seen.add(position)
        described = _entry(event_type, fields)
        if described is None:
            continue
        kind, label = described
        details = {k: fields[k] for k in _DETAILS if fields.get(k) not in (None, "")}
        entries.append(TimelineEntry(occurred_at, kind, label, event_type, position, details))
    return entries
