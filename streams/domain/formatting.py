"""How a debtor's name shows in a message: what is kept, so that no name carries a link.

(Money and dates are written as Brazilians write them: `streams.domain.brazil`.)
"""

from __future__ import annotations

import unicodedata
from typing import Final

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
