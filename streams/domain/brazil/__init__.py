"""Brazil's rules, in one pure home: phones, area codes, CPF/CNPJ, money, states and calendar.

Every rule here is about how things are in Brazil, not about cobranca's machinery, and does no
I/O: importers, the régua and the conversation agent all ask here. Modules, one concern each:

- `ddd`: the 67 area codes (DDD) and the state (UF) of each;
- `phones`: any usual spelling of a phone number to E.164 with the 9th digit;
- `documents`: CPF/CNPJ (alphanumeric CNPJ too) lengths, check-digit weights and validation;
- `money`: amounts in reais read strictly, and written (``R$ 1.234,56``);
- `states`: the 27 UFs and the time zone of each;
- `calendar`: national and state holidays, dates as Brazilians write them (due dates);
- `text`: reading typed digits, and masking personal values in messages;
- `errors`: `InvalidValue`, a value one of the rules refuses (with a pt-BR message).
"""

from __future__ import annotations

from streams.domain.brazil.calendar import (
    MAX_DUE_YEAR,
    MIN_DUE_YEAR,
    format_date_br,
    holiday_calendar,
    parse_due_date,
)
from streams.domain.brazil.ddd import DDD_UF
from streams.domain.brazil.documents import (
    CNPJ,
    CNPJ_DIGITS,
    CNPJ_MARKS,
    CNPJ_VALUES,
    CNPJ_WEIGHTS,
    CPF,
    CPF_DIGITS,
    CPF_WEIGHTS,
    DOCUMENT_SEPARATORS,
    normalize_document,
)
from streams.domain.brazil.errors import BrazilError, InvalidValue, Problem
from streams.domain.brazil.money import (
    MAX_AMOUNT_CENTAVOS,
    format_brl,
    parse_amount_centavos,
    thousands,
)
from streams.domain.brazil.phones import (
    LANDLINE_STARTS,
    OLD_MOBILE_STARTS,
    PHONE_SEPARATORS,
    ninth_digit_added,
    normalize_phone,
)
from streams.domain.brazil.states import UF_ZONES, zone_for
from streams.domain.brazil.text import excerpt, mask_digits

__all__ = [
    "CNPJ",
    "CNPJ_DIGITS",
    "CNPJ_MARKS",
    "CNPJ_VALUES",
    "CNPJ_WEIGHTS",
    "CPF",
    "CPF_DIGITS",
    "CPF_WEIGHTS",
    "DDD_UF",
    "DOCUMENT_SEPARATORS",
    "LANDLINE_STARTS",
    "MAX_AMOUNT_CENTAVOS",
    "MAX_DUE_YEAR",
    "MIN_DUE_YEAR",
    "OLD_MOBILE_STARTS",
    "PHONE_SEPARATORS",
    "UF_ZONES",
    "BrazilError",
    "InvalidValue",
    "Problem",
    "excerpt",
    "format_brl",
    "format_date_br",
    "holiday_calendar",
    "mask_digits",
    "ninth_digit_added",
    "normalize_document",
    "normalize_phone",
    "parse_amount_centavos",
    "parse_due_date",
    "thousands",
    "zone_for",
]
