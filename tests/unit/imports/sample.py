"""A small import file with one row for every outcome, shared by unit and integration tests."""

from __future__ import annotations

HEADER = "Código;Nome;Celular;Documento;Valor;Vencimento;Descrição;Fatura"
# Row numbers count data lines from the header line; each comment says what the row becomes.
LINES = [
    # row 1: accepted, old-format mobile gets its 9th digit, formula kept as text
    "c1;Maria  da Silva;(11) 8765-4321;529.982.247-25;R$ 1.234,56;05/12/2026;=CMD();NF-1",
    # row 2: accepted, CNPJ, ISO date
    "c2;Padaria Pão Quente;+55 21 99876-5432;11.222.333/0001-81;150;2026-12-20;;",
    "",  # file line 4: blank, skipped, still counted in the numbering
    # row 4: landline
    "c3;Ana;(11) 3333-4444;529.982.247-25;10,00;05/12/2026;;",
    # row 5: unknown DDD
    "c4;Bia;(20) 98765-4321;529.982.247-25;10,00;05/12/2026;;",
    # row 6: bad check digits
    "c5;Caio;11987654321;529.982.247-26;10,00;05/12/2026;;",
    # row 7: zero amount
    "c6;Duda;11987654321;529.982.247-25;0,00;05/12/2026;;",
    # row 8: no such day
    "c7;Eva;11987654321;529.982.247-25;10,00;31/02/2026;;",
    # row 9: missing name
    "c8;;11987654321;529.982.247-25;10,00;05/12/2026;;",
    # row 10: duplicate of row 1
    "c1;Maria de Novo;11987654321;529.982.247-25;10,00;05/12/2026;;",
    # row 11: truncated last line, inside quotes
    'c9;Fábio;11987654321;529.982.247-25;"10',
]
MIXED = "\n".join([HEADER, *LINES])
EXPECTED_ROWS = {
    1: "accepted",
    2: "accepted",
    4: "landline",
    5: "invalid_phone",
    6: "invalid_document",
    7: "invalid_amount",
    8: "invalid_due_date",
    9: "missing_field",
    10: "duplicate",
    11: "malformed_row",
}
EXPECTED_SUMMARY = {
    "rows": 10,
    "accepted": 2,
    "rejected": 8,
    "by_reason": {
        "duplicate": 1,
        "invalid_amount": 1,
        "invalid_document": 1,
        "invalid_due_date": 1,
        "invalid_phone": 1,
        "landline": 1,
        "malformed_row": 1,
        "missing_field": 1,
    },
}
