"""The import's row rules: header names, every reason a row is rejected for, duplicates.

Brazil's rules for a row's values (phone, CPF/CNPJ, amount, due date) have their own tests in
tests/unit/streams/domain/brazil/.
"""

from __future__ import annotations

import ast
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.imports.validation import (
    FIELD_ALIASES,
    ClientFields,
    Reason,
    Rejection,
    RowValidator,
    canonical_field,
    check_columns,
)
from streams.domain.brazil.errors import Problem

ROOT = Path(__file__).resolve().parents[3]


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


def test_every_problem_of_brazils_rules_is_a_rejection_reason() -> None:
    assert {Reason(problem) for problem in Problem} <= set(Reason)


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
    assert bad.missing == ("name", "due_date")  # the document is optional (issue 15)
    required = check_columns(["codigo", "telefone", "celular", "valor"], require_document=True)
    assert required.missing == ("name", "document", "due_date")
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


# --- the document is optional (issue 15) -----------------------------------------------------

WITHOUT_DOCUMENT = {k: v for k, v in GOOD.items() if k != "CPF"}


@pytest.mark.parametrize(
    "document",
    ["<absent>", None, "", "   ", "\t", " \u00a0 "],
    ids=["absent", "null", "empty", "spaces", "tab", "nbsp"],
)
def test_a_row_without_a_document_is_accepted_with_none(document: object) -> None:
    values = dict(WITHOUT_DOCUMENT) if document == "<absent>" else {**GOOD, "CPF": document}

    fields = RowValidator().validate(4, values)

    assert isinstance(fields, ClientFields), fields
    assert (fields.document, fields.document_kind) == (None, None)
    assert fields.phone_e164 == "+5511987654321" and fields.amount_centavos == 123456


@pytest.mark.parametrize(
    "document",
    ["<absent>", None, "", "   ", "\t"],
    ids=["absent", "null", "empty", "spaces", "tab"],
)
def test_a_tenant_that_requires_the_document_gets_missing_field(document: object) -> None:
    values = dict(WITHOUT_DOCUMENT) if document == "<absent>" else {**GOOD, "CPF": document}

    result = RowValidator(require_document=True).validate(4, values)

    assert isinstance(result, Rejection)
    assert (result.reason, result.field) == (Reason.MISSING_FIELD, "document")
    assert "CPF/CNPJ" in result.message


@pytest.mark.parametrize("require_document", [False, True])
@pytest.mark.parametrize(
    "document",
    ["000.000.000-00", "00000000000", "00.000.000/0000-00", "529.982.247-26", "abc", "0", True],
)
def test_a_document_that_is_there_is_validated_as_ever(
    document: object, require_document: bool
) -> None:
    result = RowValidator(require_document=require_document).validate(4, {**GOOD, "CPF": document})

    assert isinstance(result, Rejection)
    assert (result.reason, result.field) == (Reason.INVALID_DOCUMENT, "document")


def test_a_valid_document_is_kept_whether_required_or_not() -> None:
    for validator in (RowValidator(), RowValidator(require_document=True)):
        cnpj = validator.validate(1, {**GOOD, "CPF": "12.abc.345/01de-35"})
        assert isinstance(cnpj, ClientFields)
        assert (cnpj.document, cnpj.document_kind) == ("12ABC34501DE35", "CNPJ")


def test_the_other_fields_are_still_required_without_a_document() -> None:
    values = {k: v for k, v in WITHOUT_DOCUMENT.items() if k != "Telefone"}
    result = rejection(values)
    assert (result.reason, result.field) == (Reason.MISSING_FIELD, "phone")


def test_cells_without_a_document_column_are_accepted_and_with_one_required_refused() -> None:
    columns = ["codigo", "nome", "celular", "valor", "vencimento"]
    cells = ["c1", "Ana", "11987654321", "10", "05/12/2026"]
    assert check_columns(columns).ok
    assert check_columns(columns, require_document=True).missing == ("document",)

    fields = RowValidator().for_columns(columns)(1, cells)

    assert isinstance(fields, ClientFields) and fields.document is None
    empty = RowValidator(require_document=True).for_columns([*columns, "cpf"])(1, [*cells, ""])
    assert isinstance(empty, Rejection) and empty.reason is Reason.MISSING_FIELD


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
