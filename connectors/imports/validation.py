"""Validation of import rows: pure rules, no I/O, no logging, no Kafka.

A row arrives as a mapping from the source's own column names (CSV header cells, JSON keys) to
raw values and leaves as either `ClientFields` (everything a `ClientImported` event carries) or a
`Rejection` (row, field, reason, message). The same input always gives the same answer.

Rejection messages are in **Brazilian Portuguese**: they are stored in `ImportRejected` events
and read by the tenant's operators. Personal data in them is masked the way logs mask it
(``55119****21``). The machine-readable `reason` is one of `Reason`:

=================  ============================================================================
missing_field      a required field is absent or blank
invalid_phone      not a Brazilian number: unknown DDD, wrong length, foreign country code
landline           a valid landline; rejected unless the tenant allows landlines
invalid_document   CPF/CNPJ with wrong check digits, wrong length, or one digit repeated
invalid_amount     not > 0, unparsable, more than two decimal places, or ambiguous (``1.234``)
invalid_due_date   not ``DD/MM/YYYY`` or ``YYYY-MM-DD``, or no such day
duplicate          a client_id already accepted earlier in the same import (the first wins)
malformed_row      the row cannot be read as a record (set by `formats`: an unterminated quote,
                   broken JSON, more cells than the header, a JSON value that is a list/object)
field_too_long     a text value longer than `MAX_TEXT_CHARS` (it would not fit a Kafka record)
=================  ============================================================================

The last two are beyond the list in issue 3: without them an unreadable row or a 10 MB name
would have to borrow a reason that says something false.

Rules, each with its reason:

- Header names: the aliases of issue 3 (`FIELD_ALIASES`), compared after lower-casing, removing
  accents and turning runs of spaces, hyphens and dots into ``_`` (``Linha Digitável`` →
  ``linha_digitavel``). Unknown columns are ignored.
- Phone (`normalize_phone`): separators ``() .-/`` and spaces are ignored; ``+55`` / ``0055`` /
  a bare ``55`` before 10 or 11 digits is the country code, a leading ``0`` the trunk prefix.
  After the DDD (one of the 67 in `DDD_UF`): 9 digits starting with 9 are a mobile; 8 digits
  starting with 6-9 are an old-format mobile and get the 9th digit; 8 digits starting with 2-5
  are a landline. Anything else is invalid. The result is E.164: ``+5511987654321``.
- CPF/CNPJ (`normalize_document`): digits with optional ``. - /`` and spaces; 11 digits are a
  CPF, 14 a CNPJ. A bare number of 9-10 or 12-13 digits is left-padded with zeros, because
  spreadsheets drop the leading zeros of numeric cells; the check digits still decide.
- Amount (`parse_amount_centavos`): integer arithmetic only. ``1.234,56``, ``R$ 1.234,56``,
  ``1234,5``, ``1234.56``, ``1,234.56``, ``150``; JSON numbers arrive as `int` or `Decimal`.
  ``1.234`` and ``1,234`` are rejected as ambiguous (thousands or decimals?).
- Due date (`parse_due_date`): ``DD/MM/YYYY`` (one-digit day and month allowed) or ISO
  ``YYYY-MM-DD``; years 1900-2100.
- Text is kept verbatim apart from trimming (and, for the name, collapsing whitespace). A
  formula such as ``=CMD()`` is just text: nothing here evaluates anything.
"""

from __future__ import annotations

import enum
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final, NamedTuple

from connectors.imports.errors import InvalidValue
from connectors.imports.first_rows import FirstRows

__all__ = [
    "ALL_FIELDS",
    "DDD_UF",
    "FIELD_ALIASES",
    "MAX_AMOUNT_CENTAVOS",
    "MAX_TEXT_CHARS",
    "OPTIONAL_FIELDS",
    "REQUIRED_FIELDS",
    "ClientFields",
    "ColumnCheck",
    "Reason",
    "Rejection",
    "RowValidator",
    "canonical_field",
    "check_columns",
    "mask_digits",
    "normalize_document",
    "normalize_phone",
    "parse_amount_centavos",
    "parse_due_date",
    "thousands",
]


class Reason(enum.StrEnum):
    """Why a row was rejected; the value is what `ImportRejected.reason` carries."""

    MISSING_FIELD = "missing_field"
    INVALID_PHONE = "invalid_phone"
    LANDLINE = "landline"
    INVALID_DOCUMENT = "invalid_document"
    INVALID_AMOUNT = "invalid_amount"
    INVALID_DUE_DATE = "invalid_due_date"
    DUPLICATE = "duplicate"
    MALFORMED_ROW = "malformed_row"
    FIELD_TOO_LONG = "field_too_long"
    INVALID_PAYMENT_URL = "invalid_payment_url"


#: Every Brazilian area code (DDD) in use, with its state: 67 codes.
DDD_UF: Final[Mapping[str, str]] = MappingProxyType(
    {
        **dict.fromkeys(("11", "12", "13", "14", "15", "16", "17", "18", "19"), "SP"),
        **dict.fromkeys(("21", "22", "24"), "RJ"),
        **dict.fromkeys(("27", "28"), "ES"),
        **dict.fromkeys(("31", "32", "33", "34", "35", "37", "38"), "MG"),
        **dict.fromkeys(("41", "42", "43", "44", "45", "46"), "PR"),
        **dict.fromkeys(("47", "48", "49"), "SC"),
        **dict.fromkeys(("51", "53", "54", "55"), "RS"),
        "61": "DF",
        **dict.fromkeys(("62", "64"), "GO"),
        "63": "TO",
        **dict.fromkeys(("65", "66"), "MT"),
        "67": "MS",
        "68": "AC",
        "69": "RO",
        **dict.fromkeys(("71", "73", "74", "75", "77"), "BA"),
        "79": "SE",
        **dict.fromkeys(("81", "87"), "PE"),
        "82": "AL",
        "83": "PB",
        "84": "RN",
        **dict.fromkeys(("85", "88"), "CE"),
        **dict.fromkeys(("86", "89"), "PI"),
        **dict.fromkeys(("91", "93", "94"), "PA"),
        **dict.fromkeys(("92", "97"), "AM"),
        "95": "RR",
        "96": "AP",
        **dict.fromkeys(("98", "99"), "MA"),
    }
)

#: Canonical field -> accepted header names (issue 3), after `canonical_field`'s normalization.
FIELD_ALIASES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "client_id": ("client_id", "codigo"),
        "name": ("name", "nome"),
        "phone": ("phone", "telefone", "celular", "whatsapp"),
        "document": ("document", "cpf", "cnpj", "documento"),
        "amount": ("amount", "valor"),
        "due_date": ("due_date", "vencimento"),
        "invoice_id": ("invoice_id", "fatura"),
        "description": ("description", "descricao"),
        "email": ("email",),
        "uf": ("uf", "state"),
        "pix_code": ("pix_code", "pix"),
        "boleto_line": ("boleto_line", "linha_digitavel"),
        "payment_url": ("payment_url", "link"),
    }
)
_ALIAS_TO_FIELD: Final = MappingProxyType(
    {alias: field for field, aliases in FIELD_ALIASES.items() for alias in aliases}
)

REQUIRED_FIELDS: Final = ("client_id", "name", "phone", "document", "amount", "due_date")
OPTIONAL_FIELDS: Final = (
    "invoice_id",
    "description",
    "email",
    "uf",
    "pix_code",
    "boleto_line",
    "payment_url",
)
#: Every field, in the order rows are validated in (`RowValidator`).
ALL_FIELDS: Final = REQUIRED_FIELDS + OPTIONAL_FIELDS

#: Longest accepted text value. 15 text fields of this size, 4 UTF-8 bytes per character at
#: worst, stay well under Kafka's default 1 MB record limit.
MAX_TEXT_CHARS: Final = 10_000
#: Largest amount: what an Avro `long` holds.
MAX_AMOUNT_CENTAVOS: Final = 2**63 - 1
#: Years of the due dates accepted: outside them a date is taken for a typo (0026, 2206).
MIN_DUE_YEAR, MAX_DUE_YEAR = 1900, 2100

_PT_FIELD: Final = MappingProxyType(
    {
        "client_id": "código do cliente (client_id)",
        "name": "nome",
        "phone": "telefone",
        "document": "CPF/CNPJ",
        "amount": "valor",
        "due_date": "vencimento",
        "invoice_id": "fatura",
        "description": "descrição",
        "email": "e-mail",
        "uf": "UF",
        "pix_code": "código Pix",
        "boleto_line": "linha digitável",
        "payment_url": "link de pagamento",
    }
)


class ClientFields(NamedTuple):
    """An accepted row: the fields of a `ClientImported` event (the header aside).

    A named tuple, not a frozen dataclass: one is built per accepted row, and a frozen
    dataclass sets each of its 16 attributes through ``object.__setattr__``.
    """

    row: int
    client_id: str
    name: str
    phone_e164: str
    document: str
    document_kind: str
    """``"CPF"`` or ``"CNPJ"`` (the symbols of `schemas.events.DocumentKind`)."""
    amount_centavos: int
    due_date: date
    invoice_id: str | None = None
    description: str | None = None
    email: str | None = None
    uf: str | None = None
    pix_code: str | None = None
    boleto_line: str | None = None
    payment_url: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A rejected row: where, which field, the machine-readable reason and a pt-BR message."""

    row: int
    reason: Reason
    message: str
    field: str | None = None
    """Canonical field name (``phone``, not ``telefone``); None when the whole row is at fault."""


# --- header names --------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s.\-]+")


def canonical_field(header: str) -> str | None:
    """The canonical field a column or key name stands for, or None if it is not one of ours."""
    folded = unicodedata.normalize("NFKD", header.strip().lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _ALIAS_TO_FIELD.get(_SEPARATORS.sub("_", plain).strip("_"))


@dataclass(frozen=True, slots=True)
class ColumnCheck:
    """What a header row says about the fields: ready to import, or what is wrong with it."""

    missing: tuple[str, ...]
    """Required fields no column stands for."""
    ambiguous: Mapping[str, tuple[str, ...]]
    """Field -> two or more columns that each claim it (``telefone`` and ``celular``)."""

    @property
    def ok(self) -> bool:
        return not self.missing and not self.ambiguous

    def explain(self) -> str:
        """English, for the command line: what is wrong and which names are accepted."""
        problems = []
        for field in self.missing:
            problems.append(
                f"no column for required field {field!r} (accepted names: "
                f"{', '.join(FIELD_ALIASES[field])})"
            )
        for field, columns in self.ambiguous.items():
            problems.append(
                f"columns {', '.join(repr(c) for c in columns)} all mean {field!r}; keep one"
            )
        return "; ".join(problems)


def check_columns(columns: Iterable[str]) -> ColumnCheck:
    """Check a header row (CSV) before any data row is read."""
    claimed: dict[str, list[str]] = {}
    for column in columns:
        field = canonical_field(column)
        if field is not None:
            claimed.setdefault(field, []).append(column)
    missing = tuple(f for f in REQUIRED_FIELDS if f not in claimed)
    ambiguous = {f: tuple(cols) for f, cols in claimed.items() if len(cols) > 1}
    return ColumnCheck(missing=missing, ambiguous=MappingProxyType(ambiguous))


# --- masking -------------------------------------------------------------------------------


def mask_digits(value: str) -> str:
    """Mask a phone or document the way logs do: 10+ digits keep the first 5 and the last 2."""
    digits = "".join(c for c in value if c.isdigit())
    if len(digits) < 10:
        return _excerpt(value)
    return f"{digits[:5]}****{digits[-2:]}"


def thousands(number: int) -> str:
    """``1234567`` → ``"1.234.567"``: how a number reads in Portuguese."""
    return f"{number:,}".replace(",", ".")


def _shown(what: str, value: str) -> str:
    """The start of a message about a personal value: ``telefone '11987****21'``."""
    return f"{what} {mask_digits(value)!r}"


def _excerpt(value: str, limit: int = 40) -> str:
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


# --- phone ---------------------------------------------------------------------------------

_PHONE_SHAPE = re.compile(r"\+?[\d\s().\-/]+")
_NON_DIGITS = re.compile(r"\D")
# What `\s` matches among ASCII characters, for the fast paths below (str.isspace's set).
_ASCII_SPACES: Final = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_PHONE_SEPARATORS: Final = str.maketrans("", "", _ASCII_SPACES + "().-/")
_DOCUMENT_SEPARATORS: Final = str.maketrans("", "", _ASCII_SPACES + "./-")


def _ascii_digits(value: str, separators: dict[int, int | None]) -> str | None:
    r"""The digits of an ASCII `value` made of digits and `separators` only, else None.

    The common case without a regex: what the shape pattern and ``re.sub(r"\D", ...)`` give
    for such a value. Anything else (Unicode digits or spaces, letters) takes the patterns."""
    if not value.isascii():
        return None
    digits = value.translate(separators)
    return digits if digits.isdigit() else None


def normalize_phone(text: str, *, allow_landlines: bool = False) -> str:
    """A Brazilian phone number in any usual form → E.164; raises `InvalidValue` otherwise."""
    value = text.strip()
    plus = value.startswith("+")
    digits = _digits_of(
        value,
        value[1:] if plus else value,
        _PHONE_SEPARATORS,
        _PHONE_SHAPE,
        Reason.INVALID_PHONE,
        _shown("telefone", text),
    )
    if plus or digits.startswith("00"):
        international = digits[2:] if digits.startswith("00") else digits
        if not international.startswith("55"):
            raise InvalidValue(
                Reason.INVALID_PHONE,
                _shown("telefone", text)
                + " não é do Brasil: só números com código +55 são aceitos",
            )
        national = international[2:]
        if len(national) in (11, 12) and national.startswith("0"):
            national = national[1:]  # +55 (011) 98765-4321
    else:
        if digits.startswith("0"):
            digits = digits[1:]  # trunk prefix: 011 98765 4321
        national = digits[2:] if len(digits) in (12, 13) and digits.startswith("55") else digits
    if len(national) not in (10, 11):
        raise InvalidValue(
            Reason.INVALID_PHONE,
            _shown("telefone", text)
            + f" tem {len(national)} dígitos; esperado DDD + 8 ou 9 dígitos",
        )
    ddd, subscriber = national[:2], national[2:]
    if ddd not in DDD_UF:
        raise InvalidValue(
            Reason.INVALID_PHONE, _shown("telefone", text) + f": DDD {ddd} não existe"
        )
    if len(subscriber) == 9:
        if subscriber[0] != "9":
            raise InvalidValue(
                Reason.INVALID_PHONE,
                _shown("telefone", text) + ": número de 9 dígitos deve começar com 9 (celular)",
            )
        return f"+55{ddd}{subscriber}"
    first = subscriber[0]
    if first in "6789":
        return f"+55{ddd}9{subscriber}"  # old-format mobile: add the 9th digit
    if first in "2345":
        if allow_landlines:
            return f"+55{ddd}{subscriber}"
        raise InvalidValue(
            Reason.LANDLINE,
            _shown("telefone", text) + " é fixo; fixos só são aceitos se o credor os permitir",
        )
    raise InvalidValue(
        Reason.INVALID_PHONE,
        _shown("telefone", text) + f": número de 8 dígitos não pode começar com {first}",
    )


# --- CPF / CNPJ ----------------------------------------------------------------------------

_DOCUMENT_SHAPE = re.compile(r"[\d\s./\-]+")
_CNPJ_WEIGHTS: Final = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


def _cpf_valid(digits: str) -> bool:
    # Weights 10..2 for the first check digit, 11..2 for the second, written out: this runs
    # once per imported row, and the generator form was a tenth of an import's time. The
    # digits are taken as their ASCII codes (no int() per digit): each weighted sum is then
    # off by 48 times the sum of its weights (54 and 65), which the constants take back.
    data = digits.encode()
    if len(data) != 11:  # other scripts' digits (the shape pattern's \\d takes them)
        data = bytes(48 + int(c) for c in digits)
    a, b, c, d, e, f, g, h, i, j, k = data
    first = 10 * a + 9 * b + 8 * c + 7 * d + 6 * e + 5 * f + 4 * g + 3 * h + 2 * i - 48 * 54
    if first * 10 % 11 % 10 != j - 48:
        return False
    second = (
        11 * a + 10 * b + 9 * c + 8 * d + 7 * e + 6 * f + 5 * g + 4 * h + 3 * i + 2 * j - 48 * 65
    )
    return second * 10 % 11 % 10 == k - 48


def _cnpj_valid(digits: str) -> bool:
    numbers = [int(c) for c in digits]
    for size in (12, 13):
        weights = _CNPJ_WEIGHTS[13 - size :]
        remainder = sum(n * w for n, w in zip(numbers[:size], weights, strict=True)) % 11
        if (0 if remainder < 2 else 11 - remainder) != numbers[size]:
            return False
    return True


def _digits_of(
    value: str,
    bare: str,
    separators: dict[int, int | None],
    shape: re.Pattern[str],
    reason: Reason,
    shown: str,
) -> str:
    """The digits of `value`: fast when `bare` is digits and `separators` only, else by its
    `shape` (any other character is `reason`)."""
    digits = _ascii_digits(bare, separators)
    if digits is not None:
        return digits
    if not shape.fullmatch(value):
        raise InvalidValue(reason, shown + " contém caracteres que não são dígitos")
    return _NON_DIGITS.sub("", value)


def normalize_document(text: str) -> tuple[str, str]:
    """A CPF or CNPJ, formatted or bare → (digits, ``"CPF"`` | ``"CNPJ"``); or `InvalidValue`."""
    value = text.strip()
    digits = _digits_of(
        value,
        value,
        _DOCUMENT_SEPARATORS,
        _DOCUMENT_SHAPE,
        Reason.INVALID_DOCUMENT,
        _shown("CPF/CNPJ", text),
    )
    if digits == value and len(digits) in (9, 10, 12, 13):
        digits = digits.zfill(11 if len(digits) < 11 else 14)  # leading zeros a sheet dropped
    if len(digits) == 11:
        kind, valid = "CPF", _cpf_valid
    elif len(digits) == 14:
        kind, valid = "CNPJ", _cnpj_valid
    else:
        raise InvalidValue(
            Reason.INVALID_DOCUMENT,
            _shown("CPF/CNPJ", text) + f" tem {len(digits)} dígitos; CPF tem 11 e CNPJ tem 14",
        )
    if digits == digits[0] * len(digits):
        raise InvalidValue(
            Reason.INVALID_DOCUMENT, _shown(kind, text) + " inválido: todos os dígitos iguais"
        )
    if not valid(digits):
        raise InvalidValue(
            Reason.INVALID_DOCUMENT,
            _shown(kind, text) + " inválido: dígitos verificadores não conferem",
        )
    return digits, kind


# --- amount --------------------------------------------------------------------------------

# The accepted forms as one alternation, tried in this order (the first that matches the
# whole text wins); each has a group for the reais and, after a decimal mark, one for the
# centavos. `_AMOUNT_GROUPS` maps the match's last group to (reais group, centavos group or
# None, thousands separator or None).
_AMOUNT_FORM: Final = re.compile(
    r"(\d+)"  # 150
    r"|(\d+),(\d{1,2})"  # 1234,56
    r"|(\d{1,3}(?:\.\d{3})+),(\d{1,2})"  # 1.234,56
    r"|(\d{1,3}(?:\.\d{3}){2,})"  # 1.234.567
    r"|(\d+)\.(\d{1,2})"  # 1234.56
    r"|(\d{1,3}(?:,\d{3})+)\.(\d{1,2})"  # 1,234.56
    r"|(\d{1,3}(?:,\d{3}){2,})"  # 1,234,567
)
_AMOUNT_GROUPS: Final[Mapping[int, tuple[int, int | None, str | None]]] = MappingProxyType(
    {
        1: (1, None, None),
        3: (2, 3, None),
        5: (4, 5, "."),
        6: (6, None, "."),
        8: (7, 8, None),
        10: (9, 10, ","),
        11: (11, None, ","),
    }
)
_PLAIN_AMOUNT = re.compile(r"[\d.,]+")  # no currency, spaces or sign: nothing to strip
_AMBIGUOUS_AMOUNT = re.compile(r"\d{1,3}[.,]\d{3}")  # 1.234 / 1,234: thousands or decimals?
_CURRENCY = re.compile(r"^R\$", re.IGNORECASE)
_AMOUNT_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_MAX_AMOUNT_DIGITS = len(str(MAX_AMOUNT_CENTAVOS))


def parse_amount_centavos(value: object) -> int:
    """An amount in reais → integer centavos, > 0; raises `InvalidValue` otherwise."""
    if type(value) is str:  # CSV: always; the other types below are JSON's
        return _text_centavos(value)
    if isinstance(value, bool):
        raise InvalidValue(Reason.INVALID_AMOUNT, f"valor {value!r} não é um número")
    if isinstance(value, int):
        return _positive_centavos(value * 100, str(value))
    if isinstance(value, float):
        value = Decimal(repr(value))  # the shortest text of the float; no float arithmetic
    if isinstance(value, Decimal):
        return _decimal_centavos(value)
    if not isinstance(value, str):
        raise InvalidValue(Reason.INVALID_AMOUNT, "valor deve ser um número ou um texto")
    return _text_centavos(value)


def _text_centavos(value: str) -> int:
    text = value.strip()
    if not _PLAIN_AMOUNT.fullmatch(text):  # digits and marks only: nothing to strip or check
        text = _AMOUNT_SPACES.sub("", _CURRENCY.sub("", text))
        if text.startswith("-") or text.endswith("-") or (text[:1] == "(" and text[-1:] == ")"):
            raise InvalidValue(
                Reason.INVALID_AMOUNT, f"valor {_excerpt(value)!r} é negativo; deve ser > 0"
            )
    if len(text) > _MAX_AMOUNT_DIGITS + 8:
        raise InvalidValue(Reason.INVALID_AMOUNT, f"valor {_excerpt(value)!r} é grande demais")
    # No ambiguous text (below) fits a form, so the forms are tried first: the common case
    # costs one match.
    if form := _AMOUNT_FORM.fullmatch(text):
        assert form.lastindex is not None
        reais_at, cents_at, thousands_mark = _AMOUNT_GROUPS[form.lastindex]
        reais = form.group(reais_at)
        if thousands_mark:
            reais = reais.replace(thousands_mark, "")
        cents = form.group(cents_at).ljust(2, "0") if cents_at else "0"
        centavos = int(reais) * 100 + int(cents)
        if 0 < centavos <= MAX_AMOUNT_CENTAVOS:
            return centavos
        return _positive_centavos(centavos, _excerpt(value))  # raises
    if _AMBIGUOUS_AMOUNT.fullmatch(text):
        raise InvalidValue(
            Reason.INVALID_AMOUNT,
            f"valor {_excerpt(value)!r} é ambíguo (milhar ou decimal?); use vírgula nos "
            "centavos: 1.234,00 ou 1,23",
        )
    raise InvalidValue(
        Reason.INVALID_AMOUNT,
        f"valor {_excerpt(value)!r} não é um valor em reais (use 1.234,56, R$ 1.234,56 ou 1234.56)",
    )


def _decimal_centavos(value: Decimal) -> int:
    if not value.is_finite():
        raise InvalidValue(Reason.INVALID_AMOUNT, f"valor {value} não é um número")
    if value.adjusted() >= _MAX_AMOUNT_DIGITS:
        raise InvalidValue(Reason.INVALID_AMOUNT, f"valor {value:.3g} é grande demais")
    sign, digit_tuple, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite, checked above
    digits = "".join(map(str, digit_tuple))
    shift = exponent + 2  # centavos = digits * 10**(exponent + 2)
    if shift >= 0:
        centavos = int(digits) * 10**shift
    else:
        whole, fraction = digits[:shift] or "0", digits[shift:]
        if fraction.strip("0"):
            raise InvalidValue(
                Reason.INVALID_AMOUNT, f"valor {value} tem mais de duas casas decimais"
            )
        centavos = int(whole)
    return _positive_centavos(-centavos if sign else centavos, str(value))


def _positive_centavos(centavos: int, shown: str) -> int:
    if centavos <= 0:
        raise InvalidValue(Reason.INVALID_AMOUNT, f"valor {shown!r} deve ser maior que zero")
    if centavos > MAX_AMOUNT_CENTAVOS:
        raise InvalidValue(Reason.INVALID_AMOUNT, f"valor {shown!r} é grande demais")
    return centavos


# --- due date ------------------------------------------------------------------------------

_DATE_BR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


#: Texts already parsed as dates: a file repeats a few hundred due dates over its rows.
_DATES: dict[str, date] = {}
_DATES_KEPT: Final = 4096


def parse_due_date(value: object) -> date:
    """``DD/MM/YYYY`` or ``YYYY-MM-DD`` → a date; raises `InvalidValue` otherwise."""
    if type(value) is str and (known := _DATES.get(value)) is not None:
        return known
    if not isinstance(value, str):
        raise InvalidValue(
            Reason.INVALID_DUE_DATE, "vencimento deve ser um texto DD/MM/AAAA ou AAAA-MM-DD"
        )
    text = value.strip()
    shown = _excerpt(text)
    if match := _DATE_BR.fullmatch(text):
        day, month, year = map(int, match.groups())
    elif match := _DATE_ISO.fullmatch(text):
        year, month, day = map(int, match.groups())
    else:
        raise InvalidValue(
            Reason.INVALID_DUE_DATE,
            f"vencimento {shown!r} não está no formato DD/MM/AAAA nem AAAA-MM-DD",
        )
    if not MIN_DUE_YEAR <= year <= MAX_DUE_YEAR:
        raise InvalidValue(
            Reason.INVALID_DUE_DATE,
            f"vencimento {shown!r}: ano fora do intervalo {MIN_DUE_YEAR}-{MAX_DUE_YEAR}",
        )
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise InvalidValue(
            Reason.INVALID_DUE_DATE, f"vencimento {shown!r} não é uma data que existe"
        ) from None
    if len(_DATES) >= _DATES_KEPT:
        _DATES.clear()
    _DATES[value] = parsed
    return parsed


# --- rows ----------------------------------------------------------------------------------

#: Column names of JSON rows resolved and kept: a file repeats a few dozen, but nothing stops
#: each row from bringing new ones, and the import must not keep them all.
_NAMES_KEPT: Final = 1024


class RowValidator:
    """Validates the rows of one import, in order; remembers accepted client_ids (duplicates).

    The first *accepted* row of a client_id wins: a later row with the same id is rejected as
    ``duplicate`` if it is otherwise valid, or with its own reason if it is not, so every
    rejection names the row's real problem.

    Rows come as a mapping of the source's own names (`validate`: JSON objects) or as CSV cells
    in the header's order (`for_columns`: the columns are resolved once, not per row); both
    end in the same checks, on the values in `ALL_FIELDS` order.
    """

    def __init__(self, *, allow_landlines: bool = False) -> None:
        self.allow_landlines = allow_landlines
        self._first_rows = FirstRows()
        self._fields: dict[str, str | None] = {}  # column name -> canonical field (cache)

    def validate(self, row: int, values: Mapping[str, object]) -> ClientFields | Rejection:
        """One row's values, keyed by the source's column names → accepted fields or rejection."""
        try:
            return self._first(self._validate(row, self._canonical(values)))
        except _Rejected as rejected:
            return Rejection(row, rejected.reason, rejected.message, rejected.field)

    def for_columns(
        self, columns: Sequence[str], *, duplicates: bool = True
    ) -> Callable[[int, Sequence[str]], ClientFields | Rejection]:
        """A validator of rows given as cells under `columns`, a header `check_columns` accepted.

        A row may have fewer cells than the header (the missing columns are absent), not more.
        With `duplicates` False the rows are not checked against the ids already accepted:
        the caller does it for a batch of rows, in order, with `firsts`.
        """
        at = {canonical_field(column): i for i, column in reversed(list(enumerate(columns)))}
        # Cells are read behind one leading None, where absent fields point; a short row is
        # padded only up to the last column a field reads, so nothing here grows with the
        # header's width (a padding per row length took memory in its square: issue 18).
        positions = [at[field] + 1 if field in at else 0 for field in ALL_FIELDS]
        pick = operator.itemgetter(*positions)
        need = max(positions) + 1
        pad = (None,) * need
        validate, first = self._validate, self._first

        def validate_cells(row: int, cells: Sequence[str]) -> ClientFields | Rejection:
            values: list[str | None] = [None, *cells]
            if len(values) < need:
                values += pad[len(values) :]
            try:
                fields = validate(row, pick(values))
                return first(fields) if duplicates else fields
            except _Rejected as rejected:
                return Rejection(row, rejected.reason, rejected.message, rejected.field)

        return validate_cells

    @property
    def accepted_ids(self) -> int:
        """Distinct client ids accepted so far."""
        return len(self._first_rows)

    def firsts(self, client_ids: Sequence[bytes], rows: Sequence[int]) -> list[int]:
        """For accepted rows in order (client_ids as UTF-8): the row that first had each id,
        recording the ids not seen before; a row whose first is another is a `duplicate`."""
        return self._first_rows.setdefault_many(client_ids, rows)

    @staticmethod
    def duplicate(row: int, client_id: str, first: int) -> Rejection:
        """The rejection of an otherwise valid `row` whose client_id `first` already had."""
        return Rejection(
            row,
            Reason.DUPLICATE,
            f"código do cliente {_excerpt(client_id)!r} repetido: já foi aceito no registro "
            f"{first} desta importação, e vale o primeiro",
            "client_id",
        )

    def _first(self, fields: ClientFields) -> ClientFields:
        first = self._first_rows.setdefault(fields.client_id, fields.row)
        if first != fields.row:
            duplicate = self.duplicate(fields.row, fields.client_id, first)
            raise _Rejected(duplicate.reason, duplicate.message, duplicate.field)
        return fields

    def _canonical(self, values: Mapping[str, object]) -> tuple[object, ...]:
        fields: dict[str, object] = {}
        cache = self._fields
        for column, value in values.items():
            try:
                field = cache[column]
            except KeyError:
                if len(cache) >= _NAMES_KEPT:  # JSON rows may each bring new names
                    cache.clear()
                field = cache[column] = canonical_field(column)
            if field is None:
                continue
            if field in fields:
                raise _Rejected(
                    Reason.MALFORMED_ROW,
                    f"mais de uma coluna para {_PT_FIELD[field]} ({field}); deixe apenas uma",
                    field,
                )
            fields[field] = value
        return tuple(fields.get(field) for field in ALL_FIELDS)

    def _validate(self, row: int, values: tuple[object, ...]) -> ClientFields:
        try:  # the common case in C: six texts, none blank (None or a number: TypeError)
            complete = "" not in map(str.strip, values[:6])  # type: ignore[arg-type]
        except TypeError:
            complete = False
        if not complete:
            for field, value in zip(REQUIRED_FIELDS, values, strict=False):
                if value is None or (isinstance(value, str) and not value.strip()):
                    raise _Rejected(
                        Reason.MISSING_FIELD,
                        f"campo obrigatório {_PT_FIELD[field]} ({field}) ausente ou vazio",
                        field,
                    )
        client_id = _text("client_id", values[0])
        name = _text("name", values[1])
        if client_id is None or name is None:  # a blank number-like value, e.g. Decimal(" ")
            raise _Rejected(Reason.MISSING_FIELD, "campo obrigatório vazio", None)
        field = "phone"
        try:
            phone = normalize_phone(
                _raw_text(field, values[2]), allow_landlines=self.allow_landlines
            )
            field = "document"
            document, kind = normalize_document(_raw_text(field, values[3]))
            field = "amount"
            amount = parse_amount_centavos(values[4])
            field = "due_date"
            due = parse_due_date(values[5])
        except InvalidValue as exc:
            raise _Rejected(Reason(exc.reason), exc.message, field) from None
        invoice_id, description, email, uf, pix_code, boleto_line, payment_url = _optional(
            values[6:]
        )
        if payment_url is not None and not _PAYMENT_URL.fullmatch(payment_url):
            # It goes verbatim into WhatsApp messages: only a plain https link to a host, never
            # another scheme (javascript:, a formula, a phishing http:) or text around a link.
            raise _Rejected(
                Reason.INVALID_PAYMENT_URL,
                f"link de pagamento {_excerpt(payment_url)!r} não é um endereço https:// "
                "(exemplo: https://pagamento.exemplo.com.br/fatura/123)",
                "payment_url",
            )
        return ClientFields(
            row,
            client_id,
            " ".join(name.split()),
            phone,
            document,
            kind,
            amount,
            due,
            invoice_id,
            description,
            email,
            uf.upper() if uf else None,
            pix_code,
            boleto_line,
            payment_url,
        )


#: A payment link: https, a host name, an optional port, then a path with no spaces.
_PAYMENT_URL: Final = re.compile(
    r"https://[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+"
    r"(?::[0-9]{1,5})?(?:[/?#][!-~]*)?",
    re.ASCII,
)


class _Rejected(Exception):
    """Internal: stops validating a row at its first problem."""

    def __init__(self, reason: Reason, message: str, field: str | None) -> None:
        super().__init__(message)
        self.reason, self.message, self.field = reason, message, field


_REASON_OF_FIELD: Final = MappingProxyType(
    {
        "phone": Reason.INVALID_PHONE,
        "document": Reason.INVALID_DOCUMENT,
        "amount": Reason.INVALID_AMOUNT,
        "due_date": Reason.INVALID_DUE_DATE,
    }
)


def _raw_text(field: str, value: object) -> str:
    """A phone or document as text: JSON numbers are accepted, other types are not."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Rejected(
        _REASON_OF_FIELD[field],
        f"{_PT_FIELD[field]} deve ser um texto, não {_type_pt(value)}",
        field,
    )


def _text(field: str, value: object) -> str | None:
    """A text field, trimmed; None when blank. Numbers become their text; other types fail."""
    if type(value) is str and len(value) <= MAX_TEXT_CHARS:  # the common case, first
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _Rejected(
            Reason.MALFORMED_ROW,
            f"{_PT_FIELD[field]} ({field}) deve ser um texto, não {_type_pt(value)}",
            field,
        )
    text = str(value).strip()
    if len(text) > MAX_TEXT_CHARS:
        raise _Rejected(
            Reason.FIELD_TOO_LONG,
            f"{_PT_FIELD[field]} ({field}) tem {thousands(len(text))} caracteres; o máximo é "
            f"{thousands(MAX_TEXT_CHARS)}",
            field,
        )
    return text or None


def _optional(values: tuple[object, ...]) -> list[str | None]:
    """`_text` of each optional field, with the common case (a short str, or None) inline."""
    texts: list[str | None] = []
    for field, value in zip(OPTIONAL_FIELDS, values, strict=True):
        if value is None:
            texts.append(None)
        elif type(value) is str and len(value) <= MAX_TEXT_CHARS:
            texts.append(value.strip() or None)
        else:
            texts.append(_text(field, value))
    return texts


def _type_pt(value: object) -> str:
    if isinstance(value, bool):
        return "verdadeiro/falso"
    if isinstance(value, list):
        return "uma lista"
    if isinstance(value, dict):
        return "um objeto"
    return type(value).__name__
