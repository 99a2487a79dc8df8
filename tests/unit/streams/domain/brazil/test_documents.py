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


# --- alphanumeric CNPJ (Receita Federal, from July 2026) ----------------------------------------

ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _reference_alphanumeric_cnpj(base: str) -> str:
    """The Receita's rule written out again: each character counts its ASCII code minus 48."""
    values = [ord(c) - 48 for c in base]
    for weights in ([5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2], [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]):
        remainder = sum(v * w for v, w in zip(values, weights, strict=False)) % 11
        values.append(0 if remainder < 2 else 11 - remainder)
    return base + "".join(map(str, values[12:]))


alphanumeric_bases = st.text(ALPHANUMERIC, min_size=12, max_size=12).filter(
    lambda s: any(c.isalpha() for c in s)
)


def test_the_official_example_by_hand() -> None:
    # 12ABC34501DE: 1 2 A=17 B=18 C=19 3 4 5 0 1 D=20 E=21.
    # First DV, weights 5 4 3 2 9 8 7 6 5 4 3 2:
    #   5 + 8 + 51 + 36 + 171 + 24 + 28 + 30 + 0 + 4 + 60 + 42 = 459; 459 % 11 = 8 → 11 - 8 = 3.
    # Second DV, weights 6 5 4 3 2 9 8 7 6 5 4 3 2 over the 12 and the 3:
    #   6 + 10 + 68 + 54 + 38 + 27 + 32 + 35 + 0 + 5 + 80 + 63 + 6 = 424; 424 % 11 = 6 → 5.
    assert _reference_alphanumeric_cnpj("12ABC34501DE") == "12ABC34501DE35"
    assert normalize_document("12.ABC.345/01DE-35") == ("12ABC34501DE35", "CNPJ")
    # A1B2C3D4E5F6: A=17 B=18 C=19 D=20 E=21 F=22.
    # First: 85 + 4 + 54 + 4 + 171 + 24 + 140 + 24 + 105 + 20 + 66 + 12 = 709; 709 % 11 = 5 → 6.
    # Second: 102 + 5 + 72 + 6 + 38 + 27 + 160 + 28 + 126 + 25 + 88 + 18 + 12 = 707;
    #   707 % 11 = 3 → 8.
    assert _reference_alphanumeric_cnpj("A1B2C3D4E5F6") == "A1B2C3D4E5F668"
    assert normalize_document("A1B2C3D4E5F668") == ("A1B2C3D4E5F668", "CNPJ")


@given(alphanumeric_bases)
def test_generated_alphanumeric_cnpjs_pass_formatted_or_bare_in_either_case(base: str) -> None:
    cnpj = _reference_alphanumeric_cnpj(base)
    for spelling in (cnpj, _formatted_cnpj(cnpj), cnpj.lower(), _formatted_cnpj(cnpj).lower()):
        assert normalize_document(spelling) == (cnpj, "CNPJ")
        assert normalize_document(f" {spelling}\t") == (cnpj, "CNPJ")


@given(cnpj_bases)
def test_the_alphanumeric_rule_gives_the_digits_only_cnpjs_their_old_check_digits(
    base: str,
) -> None:
    assert _reference_alphanumeric_cnpj(base) == _reference_cnpj(base)


@given(alphanumeric_bases, st.integers(0, 13), st.sampled_from(ALPHANUMERIC))
def test_a_single_character_change_fails_unless_it_hits_another_valid_cnpj(
    base: str, position: int, character: str
) -> None:
    cnpj = _reference_alphanumeric_cnpj(base)
    assume(character != cnpj[position])
    changed = cnpj[:position] + character + cnpj[position + 1 :]
    if position >= 12:  # a check digit changed, or a letter put in its place: always caught
        assert not _is_valid(changed)
        assert not _is_valid(_formatted_cnpj(changed).lower())
    else:
        assume(any(c.isalpha() for c in changed[:12]))
        assert _is_valid(changed) == (_reference_alphanumeric_cnpj(changed[:12]) == changed)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.ABC.345/01DE-35", ("12ABC34501DE35", "CNPJ")),
        ("12ABC34501DE35", ("12ABC34501DE35", "CNPJ")),
        ("12.abc.345/01de-35", ("12ABC34501DE35", "CNPJ")),  # typed in lower case
        ("12abc34501De35", ("12ABC34501DE35", "CNPJ")),
        ("12ABC.345/01DE35", ("12ABC34501DE35", "CNPJ")),  # some marks left out
        ("1234567890AB04", ("1234567890AB04", "CNPJ")),
        ("AB.12C.D34/0001-84", ("AB12CD34000184", "CNPJ")),
        ("ZZ.ZZZ.ZZZ/ZZZZ-62", ("ZZZZZZZZZZZZ62", "CNPJ")),
        ("12.345.678/0001-95", ("12345678000195", "CNPJ")),  # digits only, as before
        ("12345678000195", ("12345678000195", "CNPJ")),
        ("1234567800019", None),  # 13 digits: padded, 0123.. fails its check digits
        ("12.ABC.345/01DE-36", None),  # one check digit wrong
        ("12.ABC.345/01DE-45", None),
        ("12.abc.345/01de-36", None),  # lower case, wrong check digit
        ("12.ABC.345/01DE-3A", None),  # a letter where a check digit goes
        ("12ABC34501DEA5", None),
        ("12ABC34501DE3", None),  # 13 characters
        ("12ABC34501DE355", None),  # 15 characters
        ("2ABC34501DE35", None),  # a leading character dropped: never padded
        ("12..ABC.345/01DE-35", None),  # a mark twice
        ("12.ABC.345-01DE/35", None),  # marks out of place
        ("12 ABC 345 01DE 35", None),  # spaces: not the official spelling
        ("12.ABC.345/01DE-35-", None),
        ("12.ABC.345/01DÉ-35", None),  # not an ASCII letter
        ("12ABC34501DE35x", None),
        ("CPF 529.982.247-25", None),
    ],
)
def test_alphanumeric_cnpjs(text: str, expected: tuple[str, str] | None) -> None:
    if expected is None:
        assert reason_of(normalize_document, text) == "invalid_document"
    else:
        assert normalize_document(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12.ABC.345/01DE-36", "CNPJ '12ABC****36' inválido: dígitos verificadores não conferem"),
        (
            "12ABC34501DE3",
            "CPF/CNPJ '12ABC****E3' tem letras, mas não é um CNPJ alfanumérico: 12 letras ou "
            "dígitos e 2 dígitos verificadores (12.ABC.345/01DE-35)",
        ),
    ],
)
def test_a_refused_alphanumeric_cnpj_is_masked_in_its_message(text: str, message: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        normalize_document(text)
    assert str(caught.value) == message
