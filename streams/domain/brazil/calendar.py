"""Brazil's calendar: the days no debtor is contacted, and dates as Brazilians write them.

National public holidays (movable feasts included) come from the `holidays` package; a state's
own holidays are added when a tenant asks for them. Dates are written day first
(``05/12/2026``); a due date typed into a spreadsheet is read in that form or as ISO
``2026-12-05``, within 1900-2100 (a year outside is taken for a typo: 0026, 2206).
"""

from __future__ import annotations

import re
from collections.abc import Container
from datetime import date
from functools import cache
from typing import Final

from streams.domain.brazil.errors import InvalidValue, Problem
from streams.domain.brazil.states import UF_ZONES
from streams.domain.brazil.text import excerpt

__all__ = [
    "MAX_DUE_YEAR",
    "MIN_DUE_YEAR",
    "due_relative",
    "format_date_br",
    "holiday_calendar",
    "parse_due_date",
]

#: Years of the due dates accepted: outside them a date is taken for a typo (0026, 2206).
MIN_DUE_YEAR, MAX_DUE_YEAR = 1900, 2100


@cache
def holiday_calendar(uf: str, state_holidays: bool) -> Container[date]:
    """Brazil's national public holidays, plus the UF's own when `state_holidays` is set.

    The `holidays` package computes every year on first use (movable feasts included).
    """
    # Imported here, once (the calendar is cached): the package takes half a second to import,
    # and most users of Brazil's rules (the importer, the webhook receiver) never ask for it.
    import holidays as holiday_data

    if uf not in UF_ZONES:
        raise ValueError(f"unknown UF {uf!r}")
    calendar: Container[date] = holiday_data.country_holidays(
        "BR", subdiv=uf if state_holidays else None
    )
    return calendar


def format_date_br(day: date) -> str:
    """``date(2026, 3, 5)`` → ``"05/03/2026"``."""
    return day.strftime("%d/%m/%Y")


def due_relative(due: date, today: date) -> str:
    """When `due` falls, seen from `today`, as a debtor reads it: "vence hoje", "vence amanhã",
    "vence em 3 dias", "venceu ontem", "venceu há 4 dias". A message deferred past its day
    still tells the truth on the day it goes out."""
    days = (due - today).days
    if days == 0:
        return "vence hoje"
    if days == 1:
        return "vence amanhã"
    if days > 1:
        return f"vence em {days} dias"
    if days == -1:
        return "venceu ontem"
    return f"venceu há {-days} dias"


_DATE_BR = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


#: Texts already parsed as dates: a file repeats a few hundred due dates over its rows.
_DATES: dict[str, date] = {}
_DATES_KEPT: Final = 4096


def parse_due_date(value: object) -> date:
    """``DD/MM/YYYY`` (one-digit day and month allowed) or ``YYYY-MM-DD`` → a date, in
    `MIN_DUE_YEAR`-`MAX_DUE_YEAR`; raises `InvalidValue` otherwise."""
    if type(value) is str and (known := _DATES.get(value)) is not None:
        return known
    if not isinstance(value, str):
        raise InvalidValue(
            Problem.INVALID_DUE_DATE, "vencimento deve ser um texto DD/MM/AAAA ou AAAA-MM-DD"
        )
    text = value.strip()
    shown = excerpt(text)
    if match := _DATE_BR.fullmatch(text):
        day, month, year = map(int, match.groups())
    elif match := _DATE_ISO.fullmatch(text):
        year, month, day = map(int, match.groups())
    else:
        raise InvalidValue(
            Problem.INVALID_DUE_DATE,
            f"vencimento {shown!r} não está no formato DD/MM/AAAA nem AAAA-MM-DD",
        )
    if not MIN_DUE_YEAR <= year <= MAX_DUE_YEAR:
        raise InvalidValue(
            Problem.INVALID_DUE_DATE,
            f"vencimento {shown!r}: ano fora do intervalo {MIN_DUE_YEAR}-{MAX_DUE_YEAR}",
        )
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise InvalidValue(
            Problem.INVALID_DUE_DATE, f"vencimento {shown!r} não é uma data que existe"
        ) from None
    if len(_DATES) >= _DATES_KEPT:
        _DATES.clear()
    _DATES[value] = parsed
    return parsed
