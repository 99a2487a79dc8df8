"""How a debtor reads money and dates: Brazilian Portuguese conventions."""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Final


def format_brl(centavos: int) -> str:
    """``123456`` → ``"R$ 1.234,56"``; negative amounts keep their sign before the symbol."""
    sign = "-" if centavos < 0 else ""
    reais, cents = divmod(abs(centavos), 100)
    grouped = f"{reais:,}".replace(",", ".")
    return f"{sign}R$ {grouped},{cents:02d}"


def format_date_br(day: date) -> str:
    """``date(2026, 3, 5)`` → ``"05/03/2026"``."""
    return day.strftime("%d/%m/%Y")


#: Longest name a message shows; a name is a few words, anything longer is not one.
MAX_SHOWN_NAME_CHARS: Final = 100
_NAME_MARKS: Final = frozenset("'\u2019-")  # apostrophes (ASCII and typographic), hyphen


def safe_name(name: str) -> str:
    """A debtor's name as a message shows it: letters, digits, spaces, ``'`` and ``-``, and a
    dot that ends a word (``J.``, ``Ltda.``); anything else becomes a space.

    Names come from tenants' spreadsheets and go into WhatsApp messages, which make links of
    anything that looks like one: ``golpe.com``, ``https://…``, ``a@b.com``. With no dot inside
    a word and no ``:``, ``/`` or ``@``, a name cannot carry a link (or a formula) to a debtor.
    """
    last = len(name) - 1
    kept = [
        char if _kept(char) or (char == "." and _ends_word(name, i, last)) else " "
        for i, char in enumerate(name)
    ]
    return " ".join("".join(kept).split())[:MAX_SHOWN_NAME_CHARS].rstrip()


def _kept(char: str) -> bool:
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd" or char in _NAME_MARKS


def _ends_word(name: str, i: int, last: int) -> bool:
    """Whether the dot at `i` closes a word (after a letter, before a space or the end)."""
    return (
        i > 0
        and unicodedata.category(name[i - 1])[0] == "L"
        and (i == last or name[i + 1].isspace())
    )
