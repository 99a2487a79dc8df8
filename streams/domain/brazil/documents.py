"""CPF and CNPJ: the tax ids of people and of companies, and their check digits.

A CPF has 11 digits, a CNPJ 14; the last two of each are check digits (mod 11 over fixed
weights), and a number with one digit repeated passes the arithmetic but is no document.
People type them formatted (``529.982.247-25``, ``11.222.333/0001-81``) or bare, and
spreadsheets drop their leading zeros. This module is the one place that knows their shape:
the importer's column-wise checks (`connectors.imports.columnar`) take the weights, lengths,
character values and punctuation from here.

Since July 2026 the Receita Federal also issues alphanumeric CNPJs: 12 characters that are
letters (A-Z) or digits, then 2 check digits computed as before with each character counting
its ASCII code minus 48 (``0``-``9`` → 0-9, ``A`` → 17 … ``Z`` → 42), so a digits-only CNPJ
is the special case it always was. A document with an ASCII letter is read as one: upper-cased,
and only in the official spelling (``12.ABC.345/01DE-35``, each mark optional), because a
letter makes a cell text: a looser reading would turn notes such as ``CPF 52998224725`` into
14 characters whose check digits pass one time in a hundred. Digits-only documents are read
exactly as before (any separators, zeros a sheet dropped). Nothing is padded: a sheet keeps
text as typed.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from streams.domain.brazil.errors import InvalidValue, Problem
from streams.domain.brazil.text import ASCII_SPACES, digits_of, shown

__all__ = [
    "CNPJ",
    "CNPJ_DIGITS",
    "CNPJ_MARKS",
    "CNPJ_VALUES",
    "CNPJ_WEIGHTS",
    "CPF",
    "CPF_DIGITS",
    "CPF_WEIGHTS",
    "DOCUMENT_SEPARATORS",
    "normalize_document",
]

#: The kinds of document, as `normalize_document` names them.
CPF: Final = "CPF"
CNPJ: Final = "CNPJ"
CPF_DIGITS: Final = 11
CNPJ_DIGITS: Final = 14
#: Weights of a CPF's second check digit over the 10 digits before it; the first check digit
#: takes all but the first weight over the 9 digits before it.
CPF_WEIGHTS: Final = (11, 10, 9, 8, 7, 6, 5, 4, 3, 2)
#: Likewise for a CNPJ: 13 weights for the second check digit, the last 12 for the first.
CNPJ_WEIGHTS: Final = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)
#: What each character of a CNPJ counts in its check digits: its ASCII code minus 48.
CNPJ_VALUES: Final[Mapping[str, int]] = MappingProxyType(
    {c: ord(c) - 48 for c in string.digits + string.ascii_uppercase}
)
#: The punctuation of a formatted CNPJ (``12.ABC.345/01DE-35``), by how many characters come
#: before each mark: where an alphanumeric CNPJ may have one.
CNPJ_MARKS: Final[Mapping[int, str]] = MappingProxyType({2: ".", 5: ".", 8: "/", 12: "-"})
#: Characters a typed document may have between its digits.
DOCUMENT_SEPARATORS: Final = ASCII_SPACES + "./-"
_SEPARATORS: Final = str.maketrans("", "", DOCUMENT_SEPARATORS)
_SHAPE: Final = re.compile(r"[\d\s./\-]+")
_LETTER: Final = re.compile(r"[A-Za-z]")


def _alphanumeric_shape() -> re.Pattern[str]:
    """The spelling of an upper-cased alphanumeric CNPJ: `CNPJ_MARKS` optional, 2 digits last."""
    pattern, start = "", 0
    for at, mark in CNPJ_MARKS.items():
        pattern += f"[0-9A-Z]{{{at - start}}}{re.escape(mark)}?"
        start = at
    return re.compile(pattern + "[0-9]{2}")


_ALPHANUMERIC: Final = _alphanumeric_shape()


def _cpf_valid(digits: str) -> bool:
    # `CPF_WEIGHTS` written out: this runs once per imported row, and the generator form was
    # a tenth of an import's time. The digits are taken as their ASCII codes (no int() per
    # digit): each weighted sum is then off by 48 times the sum of its weights (54 and 65),
    # which the constants take back.
    data = digits.encode()
    if len(data) != CPF_DIGITS:  # other scripts' digits (the shape pattern's \\d takes them)
        data = bytes(48 + int(c) for c in digits)
    a, b, c, d, e, f, g, h, i, j, k = data
    first = 10 * a + 9 * b + 8 * c + 7 * d + 6 * e + 5 * f + 4 * g + 3 * h + 2 * i - 48 * 54
    if first * 10 % 11 % 10 != j - 48:
        return False
    second = (
        11 * a + 10 * b + 9 * c + 8 * d + 7 * e + 6 * f + 5 * g + 4 * h + 3 * i + 2 * j - 48 * 65
    )
    return second * 10 % 11 % 10 == k - 48


def _cnpj_valid(characters: str) -> bool:
    # int(): other scripts' digits, which the shape pattern's \\d takes
    numbers = [CNPJ_VALUES[c] if c in CNPJ_VALUES else int(c) for c in characters]
    for size in (12, 13):
        weights = CNPJ_WEIGHTS[13 - size :]
        remainder = sum(n * w for n, w in zip(numbers[:size], weights, strict=True)) % 11
        if (0 if remainder < 2 else 11 - remainder) != numbers[size]:
            return False
    return True


def normalize_document(text: str) -> tuple[str, str]:
    """A CPF or CNPJ, formatted or bare → (characters, `CPF` | `CNPJ`); or `InvalidValue`.

    Digits with optional ``. - /`` and spaces; 11 digits are a CPF, 14 a CNPJ. A bare number of
    9-10 or 12-13 digits is left-padded with zeros, because spreadsheets drop the leading zeros
    of numeric cells; the check digits still decide. A value with an ASCII letter is an
    alphanumeric CNPJ in its official spelling or nothing (see the module docstring); its
    characters come back upper-cased.
    """
    value = text.strip()
    if value.isascii() and _LETTER.search(value):
        characters = _alphanumeric_characters(value, text)
    else:
        characters = _digits(value, text)
    valid: Callable[[str], bool]
    if len(characters) == CPF_DIGITS:
        kind, valid = CPF, _cpf_valid
    elif len(characters) == CNPJ_DIGITS:
        kind, valid = CNPJ, _cnpj_valid
    else:
        raise InvalidValue(
            Problem.INVALID_DOCUMENT,
            shown("CPF/CNPJ", text, letters=True)
            + f" tem {len(characters)} dígitos; CPF tem 11 e CNPJ tem 14",
        )
    if characters == characters[0] * len(characters):
        raise InvalidValue(
            Problem.INVALID_DOCUMENT,
            shown(kind, text, letters=True) + " inválido: todos os dígitos iguais",
        )
    if not valid(characters):
        raise InvalidValue(
            Problem.INVALID_DOCUMENT,
            shown(kind, text, letters=True) + " inválido: dígitos verificadores não conferem",
        )
    return characters, kind


def _digits(value: str, text: str) -> str:
    """The digits of a document typed without letters, with the zeros a sheet dropped."""
    digits = digits_of(
        value,
        value,
        _SEPARATORS,
        _SHAPE,
        Problem.INVALID_DOCUMENT,
        shown("CPF/CNPJ", text, letters=True),
    )
    if digits == value and len(digits) in (9, 10, 12, 13):
        digits = digits.zfill(11 if len(digits) < 11 else 14)  # leading zeros a sheet dropped
    return digits


def _alphanumeric_characters(value: str, text: str) -> str:
    """The 14 characters, upper-cased, of a document typed with letters: an alphanumeric CNPJ
    in its official spelling, the only document with letters."""
    upper = value.upper()
    if not _ALPHANUMERIC.fullmatch(upper):
        raise InvalidValue(
            Problem.INVALID_DOCUMENT,
            shown("CPF/CNPJ", text, letters=True)
            + " tem letras, mas não é um CNPJ alfanumérico: 12 letras ou "
            "dígitos e 2 dígitos verificadores (12.ABC.345/01DE-35)",
        )
    return upper.translate(_SEPARATORS)
