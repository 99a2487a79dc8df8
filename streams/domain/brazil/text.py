"""What Brazil's rules share to read typed numbers and to word what they refuse.

Phones and documents arrive with separators (``(11) 98765-4321``, ``529.982.247-25``): `digits_of`
takes their digits, without a regular expression in the common ASCII case. A refusal shows the
value it refuses, but never a whole phone or document: `mask_digits` keeps what logs keep
(`streams.base.logs` masks the same way), and `excerpt` cuts a long text.
"""

from __future__ import annotations

import re
from typing import Final

from streams.domain.brazil.errors import InvalidValue, Problem

__all__ = ["ASCII_SPACES", "digits_of", "excerpt", "mask_digits", "shown"]

#: What `\s` matches among ASCII characters (str.isspace's set): separators people type.
ASCII_SPACES: Final = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_NON_DIGITS: Final = re.compile(r"\D")
_DOCUMENT_SPELLING: Final = re.compile(r"[0-9A-Za-z\s./-]+", re.ASCII)
_DOCUMENT_MARKS: Final = str.maketrans("", "", ASCII_SPACES + "./-")


def mask_digits(value: str, *, letters: bool = False) -> str:
    """Mask a phone or document the way logs do: 10+ digits keep the first 5 and the last 2.

    `letters` (documents): with fewer digits, a value of ASCII letters, digits, spaces and
    ``. / -`` only counts its letters too, since an alphanumeric CNPJ may have fewer than 10
    digits and would be shown whole.
    """
    characters = "".join(c for c in value if c.isdigit())
    if letters and len(characters) < 10 and _DOCUMENT_SPELLING.fullmatch(value.strip()):
        characters = value.strip().translate(_DOCUMENT_MARKS)
    if len(characters) < 10:
        return excerpt(value)
    return f"{characters[:5]}****{characters[-2:]}"


def shown(what: str, value: str, *, letters: bool = False) -> str:
    """The start of a message about a personal value: ``telefone '11987****21'``."""
    return f"{what} {mask_digits(value, letters=letters)!r}"


def excerpt(value: str, limit: int = 40) -> str:
    """A value as a message quotes it: trimmed, and cut with ``…`` past `limit` characters."""
    value = value.strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _ascii_digits(value: str, separators: dict[int, int | None]) -> str | None:
    r"""The digits of an ASCII `value` made of digits and `separators` only, else None.

    The common case without a regex: what the shape pattern and ``re.sub(r"\D", ...)`` give
    for such a value. Anything else (Unicode digits or spaces, letters) takes the patterns."""
    if not value.isascii():
        return None
    digits = value.translate(separators)
    return digits if digits.isdigit() else None


def digits_of(
    value: str,
    bare: str,
    separators: dict[int, int | None],
    shape: re.Pattern[str],
    reason: Problem,
    what: str,
) -> str:
    """The digits of `value`: fast when `bare` is digits and `separators` only, else by its
    `shape` (any other character is `reason`, in a message that starts with `what`)."""
    digits = _ascii_digits(bare, separators)
    if digits is not None:
        return digits
    if not shape.fullmatch(value):
        raise InvalidValue(reason, what + " contém caracteres que não são dígitos")
    return _NON_DIGITS.sub("", value)
