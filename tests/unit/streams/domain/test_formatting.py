from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.formatting import format_brl, format_date_br


@pytest.mark.parametrize(
    ("centavos", "text"),
    [
        (0, "R$ 0,00"),
        (5, "R$ 0,05"),
        (15000, "R$ 150,00"),
        (123456, "R$ 1.234,56"),
        (123456789, "R$ 1.234.567,89"),
        (-2050, "-R$ 20,50"),
    ],
)
def test_format_brl(centavos: int, text: str) -> None:
    assert format_brl(centavos) == text


@given(st.integers(min_value=0, max_value=10**15))
def test_format_brl_round_trips_to_the_same_centavos(centavos: int) -> None:
    digits = format_brl(centavos).removeprefix("R$ ").replace(".", "").replace(",", "")
    assert int(digits) == centavos


def test_format_date_br() -> None:
    assert format_date_br(date(2026, 3, 5)) == "05/03/2026"
