"""Phone numbers: every usual spelling to one E.164 with the 9th digit, and every refusal."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.brazil.ddd import DDD_UF
from streams.domain.brazil.errors import InvalidValue
from streams.domain.brazil.phones import normalize_phone
from tests.unit.streams.domain.brazil.refusals import reason_of


@pytest.mark.parametrize(
    "text",
    [
        "+55 (11) 98765-4321",
        "011 98765 4321",
        "5511987654321",
        "11987654321",
        "(11) 98765-4321",
        "+55 11 98765 4321",
        "0055 11 98765-4321",
        "+55 (011) 98765-4321",
        " 11.98765.4321 ",
        "(11) 8765-4321",  # old format: the 9th digit is added
        "11 8765-4321",
        "+55 11 8765 4321",
        "551187654321",
    ],
)
def test_every_usual_form_becomes_the_same_e164(text: str) -> None:
    assert normalize_phone(text) == "+5511987654321"


def test_ddd_55_is_an_area_code_not_the_country() -> None:
    assert normalize_phone("55 98765-4321") == "+5555987654321"
    assert normalize_phone("(55) 8765-4321") == "+5555987654321"


def _phone_forms(ddd: str, number: str) -> list[str]:
    half = len(number) - 4
    local = f"{number[:half]}-{number[half:]}"
    return [
        f"+55 ({ddd}) {local}",
        f"+55{ddd}{number}",
        f"0{ddd} {number[:half]} {number[half:]}",
        f"55{ddd}{number}",
        f"{ddd}{number}",
        f"({ddd}) {local}",
        f"00 55 {ddd} {local}",
        f"{ddd}.{number[:half]}.{number[half:]}",
    ]


@given(
    ddd=st.sampled_from(sorted(DDD_UF)),
    rest=st.text("0123456789", min_size=7, max_size=7),
    first=st.sampled_from("6789"),
)
def test_every_valid_form_normalizes_to_one_e164(ddd: str, rest: str, first: str) -> None:
    old_format = first + rest  # 8 digits, mobile range
    expected = f"+55{ddd}9{old_format}"
    forms = _phone_forms(ddd, old_format) + _phone_forms(ddd, "9" + old_format)
    assert {normalize_phone(form) for form in forms} == {expected}


@given(
    ddd=st.sampled_from(sorted(DDD_UF)),
    first=st.sampled_from("2345"),
    rest=st.text("0123456789", min_size=7, max_size=7),
)
def test_landlines_are_rejected_unless_allowed(ddd: str, first: str, rest: str) -> None:
    number = first + rest
    for form in _phone_forms(ddd, number):
        assert reason_of(normalize_phone, form) == "landline"
        assert normalize_phone(form, allow_landlines=True) == f"+55{ddd}{number}"


@given(
    ddd=st.integers(10, 99).map(str).filter(lambda d: d not in DDD_UF),
    number=st.text("0123456789", min_size=9, max_size=9).map(lambda s: "9" + s[1:]),
)
def test_unknown_area_codes_are_invalid(ddd: str, number: str) -> None:
    assert reason_of(normalize_phone, f"({ddd}) {number}") == "invalid_phone"


@pytest.mark.parametrize(
    "text",
    [
        "11 9876-54321-0",
        "1198765432100",
        "987654321",  # no DDD
        "98765-4321",
        "11 9876-543",
        "11 88765-4321",  # 9 digits not starting with 9
        "11 1234-5678",  # 8 digits starting with 1
        "11 0234-5678",
        "+1 212 555 0100",  # not Brazil
        "+351 912 345 678",
        "11 98765-4321 ramal 2",
        "tel: 11987654321",
        "",
        "=CMD()",
    ],
)
def test_malformed_numbers_are_invalid(text: str) -> None:
    assert reason_of(normalize_phone, text) == "invalid_phone"


def test_phone_messages_mask_the_number() -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_phone("(20) 98765-4321")
    assert "98765-4321" not in caught.value.message
    assert "20987****21" in caught.value.message
    assert "DDD 20" in caught.value.message
