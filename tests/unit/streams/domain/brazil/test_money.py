"""Money: amounts in reais read strictly into integer centavos, and written as R$ 1.234,56."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.brazil.money import format_brl, parse_amount_centavos
from tests.unit.streams.domain.brazil.refusals import reason_of


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


@pytest.mark.parametrize(
    ("text", "centavos"),
    [
        ("1.234,56", 123456),
        ("R$ 1.234,56", 123456),
        ("R$1.234,56", 123456),
        ("r$ 1.234,56", 123456),
        ("R$\u00a01.234,56", 123456),  # Excel's non-breaking space
        ("1234,56", 123456),
        ("1234,5", 123450),
        ("1234.56", 123456),
        ("1234.5", 123450),
        ("1,234.56", 123456),
        ("150", 15000),
        (" 150 ", 15000),
        ("0,01", 1),
        ("1.234.567", 123456700),
        ("1.234.567,89", 123456789),
        ("1,234,567", 123456700),
        (150, 15000),
        (Decimal("1234.56"), 123456),
        (Decimal("10.500"), 1050),
        (Decimal("1E+2"), 10000),
        (0.1, 10),  # a float, read through its shortest text, never multiplied
    ],
)
def test_amounts_become_integer_centavos(text: object, centavos: int) -> None:
    assert parse_amount_centavos(text) == centavos


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0,00",
        "-10,00",
        "R$ -10,00",
        "10,00-",
        "(10,00)",
        "1.234",  # thousands or three decimals? ambiguous
        "1,234",
        "12,345",
        "1234,567",
        "1.234,567",
        "1.23.4,00",
        "abc",
        "",
        "R$",
        "1 234,56 USD",
        "=1+1",
        "9" * 30,
        0,
        -5,
        True,
        Decimal("10.505"),
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+100"),
        Decimal("-1"),
        [1],
        None,
    ],
)
def test_bad_amounts_are_invalid_amount(text: object) -> None:
    assert reason_of(parse_amount_centavos, text) == "invalid_amount"


def _brl(centavos: int) -> str:
    reais, cents = divmod(centavos, 100)
    return f"{reais:,}".replace(",", ".") + f",{cents:02d}"


@given(st.integers(1, 10**15))
def test_amounts_round_trip_in_every_notation(centavos: int) -> None:
    reais, cents = divmod(centavos, 100)
    assert parse_amount_centavos(_brl(centavos)) == centavos
    assert parse_amount_centavos("R$ " + _brl(centavos)) == centavos
    assert parse_amount_centavos(f"{reais}.{cents:02d}") == centavos
    assert parse_amount_centavos(f"{reais},{cents:02d}") == centavos
    assert parse_amount_centavos(Decimal(f"{reais}.{cents:02d}")) == centavos
