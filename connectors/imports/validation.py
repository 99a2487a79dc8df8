"""Validation of import rows: pure rules, no I/O, no logging, no Kafka.

A row arrives as a mapping from the source's own column names (CSV header cells, JSON keys) to
raw values and leaves as either `ClientFields` (everything a `ClientImported` event carries) or a
`Rejection` (row, field, reason, message). The same input always gives the same answer.

Rejection messages are in **Brazilian Portuguese**: they are stored in `ImportRejected` events
and read by the tenant's operators. Personal data in them is masked the way logs mask it
(``55119****21``). The machine-readable `reason` is one of `Reason`:

=================  ============================================================================
missing_field      a required field is absent or blank (CPF/CNPJ only when the tenant requires it)
invalid_phone      not a Brazilian number: unknown DDD, wrong length, foreign country code
landline           a valid landline; rejected unless the tenant allows landlines
invalid_document   CPF/CNPJ with wrong check digits, wrong length, or one digit repeated; letters
                   other than an alphanumeric CNPJ's (``12.ABC.345/01DE-35``)
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

- CPF/CNPJ is optional (issue 15): many creditors (gyms, schools, condominiums) keep none. An
  absent column or key, JSON null, or a blank cell (spaces only too) is a row without a
  document: `document` and `document_kind` are None. A document that is there is validated as
  ever (``000.000.000-00`` is `invalid_document`, not absent). A tenant that wants it sets
  ``imports: {require_document: true}`` (`require_document` here): then a blank or absent
  document is `missing_field`, and a CSV header without the column is refused as for any
  required field.
- Header names: the aliases of issue 3 (`FIELD_ALIASES`), compared after lower-casing, removing
  accents and turning runs of spaces, hyphens and dots into ``_`` (``Linha Digitável`` →
  ``linha_digitavel``). Unknown columns are ignored.
- Phone, CPF/CNPJ, amount and due date are Brazil's rules, read by `streams.domain.brazil`
  (`normalize_phone`: E.164 with the 9th digit; `normalize_document`; `parse_amount_centavos`;
  `parse_due_date`). A value one of them refuses (`InvalidValue`) becomes a rejection with the
  same reason and its pt-BR message.
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

from connectors.imports.first_rows import FirstRows
from streams.domain.brazil.calendar import parse_due_date
from streams.domain.brazil.documents import normalize_document
from streams.domain.brazil.errors import InvalidValue
from streams.domain.brazil.money import parse_amount_centavos, thousands
from streams.domain.brazil.phones import normalize_phone
from streams.domain.brazil.text import excerpt

__all__ = [
    "ALL_FIELDS",
    "DOCUMENT_FIELD",
    "FIELD_ALIASES",
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
    "required_fields",
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

#: Fields every row must have. The document is not among them: `DOCUMENT_FIELD`.
REQUIRED_FIELDS: Final = ("client_id", "name", "phone", "amount", "due_date")
#: CPF/CNPJ: validated when present, required only with `require_document`.
DOCUMENT_FIELD: Final = "document"
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
ALL_FIELDS: Final = (
    "client_id",
    "name",
    "phone",
    DOCUMENT_FIELD,
    "amount",
    "due_date",
    *OPTIONAL_FIELDS,
)
_DOCUMENT_AT: Final = ALL_FIELDS.index(DOCUMENT_FIELD)

#: Longest accepted text value. 15 text fields of this size, 4 UTF-8 bytes per character at
#: worst, stay well under Kafka's default 1 MB record limit.
MAX_TEXT_CHARS: Final = 10_000

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
    document: str | None
    """Normalized CPF/CNPJ; None when the row had none."""
    document_kind: str | None
    """``"CPF"`` or ``"CNPJ"`` (the symbols of `schemas.events.DocumentKind`); None with no
    document."""
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
    """Required fields no column stands for (the document only when required)."""
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


def required_fields(*, require_document: bool = False) -> tuple[str, ...]:
    """The fields a row must have, in `ALL_FIELDS` order."""
    return tuple(
        f
        for f in ALL_FIELDS[:6]
        if f in REQUIRED_FIELDS or (require_document and f == DOCUMENT_FIELD)
    )


def check_columns(columns: Iterable[str], *, require_document: bool = False) -> ColumnCheck:
    """Check a header row (CSV) before any data row is read."""
    claimed: dict[str, list[str]] = {}
    for column in columns:
        field = canonical_field(column)
        if field is not None:
            claimed.setdefault(field, []).append(column)
    missing = tuple(
        f for f in required_fields(require_document=require_document) if f not in claimed
    )
    ambiguous = {f: tuple(cols) for f, cols in claimed.items() if len(cols) > 1}
    return ColumnCheck(missing=missing, ambiguous=MappingProxyType(ambiguous))


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

    With `require_document` (the tenant's ``imports.require_document``) a row without CPF/CNPJ
    is `missing_field`; without it, such a row is accepted with no document.
    """

    def __init__(self, *, allow_landlines: bool = False, require_document: bool = False) -> None:
        self.allow_landlines = allow_landlines
        self.require_document = require_document
        self._required = tuple(
            (ALL_FIELDS.index(f), f) for f in required_fields(require_document=require_document)
        )
        self._pick_required = operator.itemgetter(*(at for at, _ in self._required))
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
            f"código do cliente {excerpt(client_id)!r} repetido: já foi aceito no registro "
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
        try:  # the common case in C: the required texts, none blank (None or a number: TypeError)
            complete = "" not in map(str.strip, self._pick_required(values))
        except TypeError:
            complete = False
        if not complete:
            for at, field in self._required:
                value = values[at]
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
            raw_document = values[_DOCUMENT_AT]
            document: str | None = None
            kind: str | None = None
            if not (
                raw_document is None or (isinstance(raw_document, str) and not raw_document.strip())
            ):  # blank: no document (a required one was refused above)
                document, kind = normalize_document(_raw_text(field, raw_document))
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
                f"link de pagamento {excerpt(payment_url)!r} não é um endereço https:// "
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
