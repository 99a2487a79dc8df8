"""The pure import rules: every reason, every accepted form, and the properties behind them."""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from connectors.imports.errors import InvalidValue
from connectors.imports.validation import (
    DDD_UF,
    FIELD_ALIASES,
    ClientFields,
    Reason,
    Rejection,
    RowValidator,
    canonical_field,
    check_columns,
    mask_digits,
    normalize_document,
    normalize_phone,
    parse_amount_centavos,
    parse_due_date,
)

ROOT = Path(__file__).resolve().parents[3]


def reason_of(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(InvalidValue) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.reason


# --- purity --------------------------------------------------------------------------------


def test_validation_imports_no_io_framework() -> None:
    tree = ast.parse((ROOT / "connectors/imports/validation.py").read_text())
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    forbidden = {"faust", "aiokafka", "logging", "structlog", "io", "os", "schemas", "csv", "json"}
    assert not imported & forbidden, imported & forbidden


# --- phone ---------------------------------------------------------------------------------


def test_there_are_67_area_codes_in_27_states() -> None:
    assert len(DDD_UF) == 67
    assert len(set(DDD_UF.values())) == 27
    assert DDD_UF["11"] == "SP" and DDD_UF["21"] == "RJ" and DDD_UF["99"] == "MA"
    for unassigned in ("10", "20", "23", "25", "26", "29", "30", "36", "39", "40", "50", "52"):
        assert unassigned not in DDD_UF


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


def test_mask_digits_matches_the_log_masking() -> None:
    assert mask_digits("+55 11 98765-4321") == "55119****21"
    assert mask_digits("529.982.247-25") == "52998****25"
    assert mask_digits("123") == "123"


# --- CPF / CNPJ ----------------------------------------------------------------------------


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


# --- amount --------------------------------------------------------------------------------


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


# --- due date ------------------------------------------------------------------------------


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


# --- header names --------------------------------------------------------------------------


def test_every_alias_of_issue_3_is_recognized() -> None:
    expected = {
        "client_id": {"client_id", "codigo"},
        "name": {"name", "nome"},
        "phone": {"phone", "telefone", "celular", "whatsapp"},
        "document": {"document", "cpf", "cnpj", "documento"},
        "amount": {"amount", "valor"},
        "due_date": {"due_date", "vencimento"},
        "invoice_id": {"invoice_id", "fatura"},
        "description": {"description", "descricao"},
        "email": {"email"},
        "uf": {"uf", "state"},
        "pix_code": {"pix_code", "pix"},
        "boleto_line": {"boleto_line", "linha_digitavel"},
        "payment_url": {"payment_url", "link"},
    }
    assert {field: set(aliases) for field, aliases in FIELD_ALIASES.items()} == expected
    for field, aliases in expected.items():
        for alias in aliases:
            assert canonical_field(alias) == field
            assert canonical_field(alias.upper()) == field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Código", "client_id"),
        (" CÓDIGO ", "client_id"),
        ("Descrição", "description"),
        ("Linha Digitável", "boleto_line"),
        ("linha-digitavel", "boleto_line"),
        ("Due Date", "due_date"),
        ("WhatsApp", "phone"),
        ("observações", None),
        ("e_mail_2", None),
        ("", None),
    ],
)
def test_header_names_ignore_case_accents_and_separators(header: str, field: str | None) -> None:
    assert canonical_field(header) == field


def test_check_columns_names_what_is_missing_and_what_is_ambiguous() -> None:
    good = check_columns(["Código", "Nome", "Celular", "CPF", "Valor", "Vencimento", "extra"])
    assert good.ok
    bad = check_columns(["codigo", "telefone", "celular", "valor"])
    assert not bad.ok
    assert bad.missing == ("name", "document", "due_date")
    assert dict(bad.ambiguous) == {"phone": ("telefone", "celular")}
    explained = bad.explain()
    assert "'name'" in explained and "nome" in explained
    assert "'telefone', 'celular' all mean 'phone'" in explained


# --- rows ----------------------------------------------------------------------------------

GOOD = {
    "Código": "c1",
    "Nome": "  Maria   da  Silva ",
    "Telefone": "(11) 98765-4321",
    "CPF": "529.982.247-25",
    "Valor": "R$ 1.234,56",
    "Vencimento": "05/12/2026",
}


def test_a_good_row_gives_every_field_of_client_imported() -> None:
    row = {
        **GOOD,
        "Fatura": "NF-1",
        "Descrição": "Mensalidade",
        "email": "maria@example.com",
        "UF": "sp",
        "Pix": "000201...",
        "Linha Digitável": "23790.12345 60000.000003 00000.000000 1 99990000123456",
        "Link": "https://pague.example/1",
        "observação": "ignored",
    }
    fields = RowValidator().validate(7, row)
    assert fields == ClientFields(
        row=7,
        client_id="c1",
        name="Maria da Silva",
        phone_e164="+5511987654321",
        document="52998224725",
        document_kind="CPF",
        amount_centavos=123456,
        due_date=date(2026, 12, 5),
        invoice_id="NF-1",
        description="Mensalidade",
        email="maria@example.com",
        uf="SP",
        pix_code="000201...",
        boleto_line="23790.12345 60000.000003 00000.000000 1 99990000123456",
        payment_url="https://pague.example/1",
    )


def test_formulas_are_kept_as_text() -> None:
    row = {**GOOD, "Nome": "=CMD()", "Descrição": '=HYPERLINK("http://x","y")', "Fatura": "@SUM"}
    fields = RowValidator().validate(1, row)
    assert isinstance(fields, ClientFields)
    assert fields.name == "=CMD()"
    assert fields.description == '=HYPERLINK("http://x","y")'
    assert fields.invoice_id == "@SUM"


def rejection(values: dict[str, object], *, allow_landlines: bool = False) -> Rejection:
    result = RowValidator(allow_landlines=allow_landlines).validate(3, values)
    assert isinstance(result, Rejection), result
    assert result.row == 3
    assert result.message
    return result


@pytest.mark.parametrize(
    ("change", "reason", "field"),
    [
        ({"Nome": "   "}, "missing_field", "name"),
        ({"Código": ""}, "missing_field", "client_id"),
        ({"Telefone": None}, "missing_field", "phone"),
        ({"Telefone": "(20) 98765-4321"}, "invalid_phone", "phone"),
        ({"Telefone": "11 98765-43210"}, "invalid_phone", "phone"),
        ({"Telefone": "(11) 3333-4444"}, "landline", "phone"),
        ({"CPF": "529.982.247-26"}, "invalid_document", "document"),
        ({"CPF": "111.111.111-11"}, "invalid_document", "document"),
        ({"Valor": "0,00"}, "invalid_amount", "amount"),
        ({"Valor": "mil reais"}, "invalid_amount", "amount"),
        ({"Vencimento": "31/02/2026"}, "invalid_due_date", "due_date"),
        ({"Descrição": "x" * 10_001}, "field_too_long", "description"),
        ({"Nome": ["a", "b"]}, "malformed_row", "name"),
        ({"Telefone": {"ddd": 11}}, "invalid_phone", "phone"),
        ({"Valor": True}, "invalid_amount", "amount"),
    ],
)
def test_every_reason(change: dict[str, object], reason: str, field: str) -> None:
    result = rejection({**GOOD, **change})
    assert (result.reason.value, result.field) == (reason, field)


def test_a_missing_column_is_a_missing_field() -> None:
    values = {k: v for k, v in GOOD.items() if k != "Vencimento"}
    result = rejection(values)
    assert (result.reason, result.field) == (Reason.MISSING_FIELD, "due_date")
    assert "vencimento" in result.message


def test_landlines_pass_when_the_tenant_allows_them() -> None:
    fields = RowValidator(allow_landlines=True).validate(1, {**GOOD, "Telefone": "11 3333-4444"})
    assert isinstance(fields, ClientFields)
    assert fields.phone_e164 == "+551133334444"


def test_two_columns_for_one_field_in_a_json_object_are_malformed() -> None:
    result = rejection({**GOOD, "celular": "11987654321"})
    assert (result.reason, result.field) == (Reason.MALFORMED_ROW, "phone")


def test_json_numbers_are_accepted_where_they_make_sense() -> None:
    values = {
        "client_id": 42,
        "name": "Ana",
        "phone": 11987654321,
        "document": 1234567890,  # a CPF with its leading zero lost to a number type
        "amount": Decimal("99.90"),
        "due_date": "2026-12-05",
    }
    fields = RowValidator().validate(1, values)
    assert isinstance(fields, ClientFields)
    assert fields.client_id == "42"
    assert fields.document == "01234567890"
    assert fields.amount_centavos == 9990


def test_the_first_accepted_row_of_a_client_wins() -> None:
    validator = RowValidator()
    assert isinstance(validator.validate(1, {**GOOD, "Telefone": "bad"}), Rejection)
    first = validator.validate(2, GOOD)
    assert isinstance(first, ClientFields)
    again = validator.validate(5, {**GOOD, "Nome": "Other"})
    assert isinstance(again, Rejection)
    assert (again.reason, again.field) == (Reason.DUPLICATE, "client_id")
    assert "registro 2" in again.message
    invalid_too = validator.validate(6, {**GOOD, "CPF": "1"})
    assert isinstance(invalid_too, Rejection)
    assert invalid_too.reason is Reason.INVALID_DOCUMENT  # its own problem, not "duplicate"
    other = validator.validate(7, {**GOOD, "Código": "c2"})
    assert isinstance(other, ClientFields)


def test_client_ids_are_compared_exactly() -> None:
    validator = RowValidator()
    for row, client_id in enumerate(["c1", "C1", "c1 ", "c\uff11"], start=1):
        result = validator.validate(row, {**GOOD, "Código": client_id})
        if client_id == "c1 ":
            assert isinstance(result, Rejection) and result.reason is Reason.DUPLICATE  # trimmed
        else:
            assert isinstance(result, ClientFields), client_id


def test_messages_are_portuguese_and_mask_personal_data() -> None:
    result = rejection({**GOOD, "CPF": "529.982.247-26"})
    assert result.message == "CPF '52998****26' inválido: dígitos verificadores não conferem"
    result = rejection({**GOOD, "Telefone": "(11) 3333-4444"})
    assert "3333-4444" not in result.message
    assert "fixo" in result.message
