"""Brazilian phone numbers: E.164 with the 9th digit.

Since 2016 every Brazilian mobile number has 9 digits after the area code (DDD), the first
being 9; mobiles that had 8 (starting 6-9) got a 9 in front. People still type, and WhatsApp
still names many chats with, the old 8 digits; landlines kept 8 (starting 2-5) and never got
a 9th digit. cobranca writes every phone as E.164 with the 9th digit (``+5511987654321``), so
one number has one spelling wherever it is compared.
"""

from __future__ import annotations

import re
from typing import Final

from streams.domain.brazil.ddd import DDD_UF
from streams.domain.brazil.errors import InvalidValue, Problem
from streams.domain.brazil.text import ASCII_SPACES, digits_of, shown

__all__ = [
    "LANDLINE_STARTS",
    "OLD_MOBILE_STARTS",
    "PHONE_SEPARATORS",
    "ninth_digit_added",
    "normalize_phone",
]

#: First digits of an 8-digit number (after the DDD) that is a mobile from before the 9th digit.
OLD_MOBILE_STARTS: Final = "6789"
#: First digits of an 8-digit number that is a landline.
LANDLINE_STARTS: Final = "2345"
#: Characters a typed phone number may have between its digits.
PHONE_SEPARATORS: Final = ASCII_SPACES + "().-/"
_SEPARATORS: Final = str.maketrans("", "", PHONE_SEPARATORS)
_SHAPE: Final = re.compile(r"\+?[\d\s().\-/]+")


def ninth_digit_added(digits: str) -> str:
    """``55`` + DDD + an old-format mobile (8 digits starting 6-9) → the same number with its
    9th digit; any other digits as they are."""
    if len(digits) == 12 and digits.startswith("55") and digits[4] in OLD_MOBILE_STARTS:
        return f"{digits[:4]}9{digits[4:]}"
    return digits


def normalize_phone(text: str, *, allow_landlines: bool = False) -> str:
    """A Brazilian phone number in any usual form → E.164; raises `InvalidValue` otherwise.

    Separators ``() .-/`` and spaces are ignored; ``+55`` / ``0055`` / a bare ``55`` before 10
    or 11 digits is the country code, a leading ``0`` the trunk prefix. After the DDD (one of
    `DDD_UF`): 9 digits starting with 9 are a mobile; 8 digits starting with 6-9 are an
    old-format mobile and get the 9th digit; 8 digits starting with 2-5 are a landline, refused
    (`Problem.LANDLINE`) unless `allow_landlines`. Anything else is `Problem.INVALID_PHONE`.
    """
    value = text.strip()
    plus = value.startswith("+")
    digits = digits_of(
        value,
        value[1:] if plus else value,
        _SEPARATORS,
        _SHAPE,
        Problem.INVALID_PHONE,
        shown("telefone", text),
    )
    if plus or digits.startswith("00"):
        international = digits[2:] if digits.startswith("00") else digits
        if not international.startswith("55"):
            raise InvalidValue(
                Problem.INVALID_PHONE,
                shown("telefone", text) + " não é do Brasil: só números com código +55 são aceitos",
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
            Problem.INVALID_PHONE,
            shown("telefone", text)
            + f" tem {len(national)} dígitos; esperado DDD + 8 ou 9 dígitos",
        )
    ddd, subscriber = national[:2], national[2:]
    if ddd not in DDD_UF:
        raise InvalidValue(
            Problem.INVALID_PHONE, shown("telefone", text) + f": DDD {ddd} não existe"
        )
    if len(subscriber) == 9:
        if subscriber[0] != "9":
            raise InvalidValue(
                Problem.INVALID_PHONE,
                shown("telefone", text) + ": número de 9 dígitos deve começar com 9 (celular)",
            )
        return f"+55{ddd}{subscriber}"
    first = subscriber[0]
    if first in OLD_MOBILE_STARTS:
        return f"+55{ddd}9{subscriber}"  # old-format mobile: add the 9th digit
    if first in LANDLINE_STARTS:
        if allow_landlines:
            return f"+55{ddd}{subscriber}"
        raise InvalidValue(
            Problem.LANDLINE,
            shown("telefone", text) + " é fixo; fixos só são aceitos se o credor os permitir",
        )
    raise InvalidValue(
        Problem.INVALID_PHONE,
        shown("telefone", text) + f": número de 8 dígitos não pode começar com {first}",
    )
