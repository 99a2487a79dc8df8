"""CPF and CNPJ: generated documents pass in every spelling, check digits catch changes."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from streams.domain.brazil.documents import normalize_document
from streams.domain.brazil.errors import InvalidValue
from tests.unit.streams.domain.brazil.refusals import reason_of


def _reference_cpf(base: str) -> str:
    """Textbook CPF check digits, written independently of the module."""
    digits = [int(c) for c in base]
    for length in (9, 10):
        weights = range(length + 1, 1, -1)
        remainder = sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def _reference_cnpj(base: str) -> str:
    digits = [int(c) for c in base]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=False)) % 11
        digits.append(0 if remainder < 2 else 11 - remainder)
    return "".join(map(str, digits))


def _is_valid(text: str) -> bool:
    try:
        normalize_document(text)
    except InvalidValue:
        return False
    return True


def _formatted_cpf(d: str) -> str:
    return f"{d[:3]}.{d[3:6]}.{d[6:9]}-{d[9:]}"


def _formatted_cnpj(d: str) -> str:
    return f"{d[:2]}.{d[2:5]}.{d[5:8]}/{d[8:12]}-{d[12:]}"


cpf_bases = st.text("0123456789", min_size=9, max_size=9).filter(lambda s: len(set(s)) > 1)
cnpj_bases = st.text("0123456789", min_size=12, max_size=12).filter(lambda s: len(set(s)) > 1)


@given(cpf_bases)
def test_generated_cpfs_pass_formatted_or_bare(base: str) -> None:
    cpf = _reference_cpf(base)
    assert normalize_document(cpf) == (cpf, "CPF")
    assert normalize_document(_formatted_cpf(cpf)) == (cpf, "CPF")
    assert normalize_document(f"  {cpf[:3]} {cpf[3:6]} {cpf[6:9]} {cpf[9:]} ") == (cpf, "CPF")


@given(cnpj_bases)
def test_generated_cnpjs_pass_formatted_or_bare(base: str) -> None:
    cnpj = _reference_cnpj(base)
    assert normalize_document(cnpj) == (cnpj, "CNPJ")
    assert normalize_document(_formatted_cnpj(cnpj)) == (cnpj, "CNPJ")


@given(cpf_bases, st.integers(0, 10), st.integers(1, 9))
def test_a_single_digit_change_fails_unless_it_hits_another_valid_cpf(
    base: str, position: int, delta: int
) -> None:
    cpf = _reference_cpf(base)
    changed = cpf[:position] + str((int(cpf[position]) + delta) % 10) + cpf[position + 1 :]
    if position >= 9:  # a check digit changed: always caught
        assert not _is_valid(changed)
    else:
        # The mod-11 scheme maps remainders 0 and 1 to the same digit, so about 0.2% of
        # single-digit changes land on another valid CPF (704.999.622-06 / 804.999.622-06).
        # Everything else must fail, and exactly as the textbook formula says.
        assume(len(set(changed)) > 1)
        assert _is_valid(changed) == (_reference_cpf(changed[:9]) == changed)


@given(cnpj_bases, st.integers(0, 13), st.integers(1, 9))
def test_a_single_digit_change_fails_unless_it_hits_another_valid_cnpj(
    base: str, position: int, delta: int
) -> None:
    cnpj = _reference_cnpj(base)
    changed = cnpj[:position] + str((int(cnpj[position]) + delta) % 10) + cnpj[position + 1 :]
    if position >= 12:
        assert not _is_valid(changed)
    else:
        assume(len(set(changed)) > 1)
        assert _is_valid(changed) == (_reference_cnpj(changed[:12]) == changed)


def test_single_digit_changes_are_caught_almost_always() -> None:
    cpf = _reference_cpf("529982247")
    changes = [
        cpf[:i] + str(d) + cpf[i + 1 :] for i in range(11) for d in range(10) if str(d) != cpf[i]
    ]
    assert not any(_is_valid(c) for c in changes)
    assert _is_valid("704.999.622-06") and _is_valid("804.999.622-06")  # the known collision


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("529.982.247-25", ("52998224725", "CPF")),
        ("52998224725", ("52998224725", "CPF")),
        ("11.222.333/0001-81", ("11222333000181", "CNPJ")),
        ("11222333000181", ("11222333000181", "CNPJ")),
        ("1234567890", ("01234567890", "CPF")),  # a sheet dropped the leading zero
        ("191", None),
        ("529.982.247-24", None),  # wrong check digit
        ("11.222.333/0001-82", None),
        ("111.111.111-11", None),  # one digit repeated passes the arithmetic, not the rule
        ("000.000.000-00", None),
        ("00.000.000/0000-00", None),
        ("99999999999999", None),
        ("529.982.247-2", None),  # formatted but short: not padded
        ("529.982.247-25x", None),
        ("CPF 529.982.247-25", None),
        ("5299822472500", None),  # 13 digits: padded to a CNPJ whose check digits fail
        ("529982247250000", None),
    ],
)
def test_documents(text: str, expected: tuple[str, str] | None) -> None:
    if expected is None:
        assert reason_of(normalize_document, text) == "invalid_document"
    else:
        assert normalize_document(text) == expected
