"""Templates: checked when applied, rendered per client, optional lines left out."""

from __future__ import annotations

import pytest

from streams.domain.errors import TemplateError
from streams.domain.templates import MAX_TEMPLATE_CHARS, parse_template

VALUES: dict[str, str | None] = {
    "name": "Maria da Silva",
    "first_name": "Maria",
    "amount": "R$ 1.234,56",
    "due_date": "05/12/2026",
    "company": "ACME Cobranças",
    "invoice_id": "NF-1",
    "description": None,
    "pix_code": "00020126580014br.gov.bcb.pix",
    "boleto_line": None,
    "payment_url": "",
}


def test_renders_every_field() -> None:
    template = parse_template(
        "Olá, {first_name}! {company}: {amount} vencem em {due_date}.\nFatura {invoice_id}."
    )
    assert template.render(VALUES) == (
        "Olá, Maria! ACME Cobranças: R$ 1.234,56 vencem em 05/12/2026.\nFatura NF-1."
    )
    assert template.fields == {"first_name", "company", "invoice_id", "amount", "due_date"}


def test_a_line_with_a_missing_optional_field_is_left_out_whole() -> None:
    template = parse_template(
        "Olá, {first_name}!\n\nPix: {pix_code}\n\nBoleto: {boleto_line}\n\nLink: {payment_url}\n\n"
        "Obrigado."
    )
    assert template.render(VALUES) == (
        "Olá, Maria!\n\nPix: 00020126580014br.gov.bcb.pix\n\nObrigado."
    )


def test_literal_braces_stay() -> None:
    assert parse_template("{{ok}} {name}").render(VALUES) == "{ok} Maria da Silva"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("Olá {nome}", r"line 1: unknown field \{nome\}; known fields: name, first_name"),
        ("Olá\nvalor {valor}", r"line 2: unknown field \{valor\}"),
        ("{name.upper}", r"unknown field \{name.upper\} \(a placeholder is a plain field name\)"),
        ("{name[0]}", r"unknown field"),
        ("{} devendo", r"unknown field \{\}"),
        ("{amount:>10}", r"\{amount\} has a format \(:>10\)"),
        ("{name!r}", r"\{name\} has a format \(!r\)"),
        ("Olá {name", r"line 1: .*write \{\{ and \}\} for literal braces"),
        ("Olá name}", r"line 1: .*Single '\}'"),
        ("   \n ", r"the template is empty"),
        ("Pix: {pix_code}\nBoleto: {boleto_line}", r"every line uses an optional field"),
    ],
)
def test_bad_templates_say_what_and_where(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        parse_template(source)


def test_too_long_a_template_is_refused() -> None:
    with pytest.raises(TemplateError, match=f"at most {MAX_TEMPLATE_CHARS}"):
        parse_template("a" * (MAX_TEMPLATE_CHARS + 1))


def test_a_template_with_one_always_present_line_never_renders_empty() -> None:
    template = parse_template("{pix_code}\n{amount}")
    assert template.render({"amount": "R$ 1,00"}) == "R$ 1,00"
