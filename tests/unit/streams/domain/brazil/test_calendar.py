"""Dates as Brazilians write them: due dates read, dates written day first."""

from __future__ import annotations

from datetime import date

import pytest

from streams.domain.brazil.calendar import due_relative, format_date_br, parse_due_date
from tests.unit.streams.domain.brazil.refusals import reason_of


def test_format_date_br() -> None:
    assert format_date_br(date(2026, 3, 5)) == "05/03/2026"


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("05/12/2026", date(2026, 12, 5)),
        ("5/3/2026", date(2026, 3, 5)),
        ("2026-12-05", date(2026, 12, 5)),
        (" 29/02/2028 ", date(2028, 2, 29)),
        ("01/01/2019", date(2019, 1, 1)),  # overdue debts are the point
    ],
)
def test_due_dates(text: str, day: date) -> None:
    assert parse_due_date(text) == day


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2026",
        "29/02/2027",
        "12/31/2026",  # American order: month 31 does not exist
        "2026/12/05",
        "05-12-2026",
        "05/12/26",
        "2026-12-05T00:00:00Z",
        "01/01/0202",
        "01/01/3026",
        "amanhã",
        "",
        20261205,
        None,
    ],
)
def test_bad_due_dates(text: object) -> None:
    assert reason_of(parse_due_date, text) == "invalid_due_date"


@pytest.mark.parametrize(
    ("due", "says"),
    [
        (date(2026, 12, 7), "vence hoje"),
        (date(2026, 12, 8), "vence amanhã"),
        (date(2026, 12, 10), "vence em 3 dias"),
        (date(2026, 12, 6), "venceu ontem"),
        (date(2026, 11, 30), "venceu há 7 dias"),
        (date(2027, 1, 1), "vence em 25 dias"),
    ],
)
def test_due_relative_reads_the_due_day_from_the_day_the_message_goes_out(
    due: date, says: str
) -> None:
    assert due_relative(due, date(2026, 12, 7)) == says
