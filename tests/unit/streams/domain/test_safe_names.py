"""A debtor's name is rendered into WhatsApp messages so that nothing in it becomes a link or
a formula (issue 18 §5): whatever a spreadsheet held, the name reads as words."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import cast

import pytest

from streams.domain.formatting import safe_name
from streams.domain.regua import Debt, template_values
from streams.domain.reply_templates import first_name
from streams.domain.tenant_config import TenantConfig


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("Maria da Silva", "Maria da Silva"),
        ("JOÃO D'ÁVILA-SOUZA", "JOÃO D'ÁVILA-SOUZA"),
        ("J. R. Tolkien", "J. R. Tolkien"),
        ("Padaria 2 Irmãos Ltda.", "Padaria 2 Irmãos Ltda."),
        ("Maria www.golpe.com", "Maria www golpe com"),
        ("Maria https://golpe.example/pague", "Maria https golpe example pague"),
        ('=HYPERLINK("https://x.example","Pague")', "HYPERLINK https x example Pague"),
        ("@SUM(1+1)*cmd|' /C calc'!A0", "SUM 1 1 cmd ' C calc' A0"),
        ("maria@golpe.com", "maria golpe com"),
        ("Maria\u200bwww\u2024golpe\uff0ecom", "Maria www golpe com"),
        ("  ", ""),
    ],
)
def test_a_name_keeps_its_words_and_loses_what_could_link(name: str, shown: str) -> None:
    assert safe_name(name) == shown


def test_templates_and_replies_render_the_safe_name() -> None:
    debt = Debt(
        tenant_id="acme",
        client_id="c1",
        import_id="imp-1",
        phone_e164="+5511987654321",
        uf="SP",
        name="golpe.example/pix Maria",
        amount_centavos=1000,
        due_date=date(2026, 12, 5),
    )
    config = cast(TenantConfig, SimpleNamespace(display_name="Acme"))
    values = template_values(debt, config, datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert values["name"] == "golpe example pix Maria"
    assert values["first_name"] == "Golpe"
    assert first_name("=HYPERLINK(x.example)") == "Hyperlink"
    assert first_name("://") is None
