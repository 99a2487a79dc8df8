"""Valid events for tests, built the way producers build them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas.events import ClientImported, DocumentKind, new_header


def client_imported(tenant: str, n: int, *, import_id: str = "imp-1") -> ClientImported:
    """The n-th row of an import for `tenant`: a distinct client with a distinct debt."""
    return ClientImported(
        header=new_header(
            "ClientImported",
            tenant_id=tenant,
            correlation_id=import_id,
            causation_id=None,
            source="tests",
            occurred_at=datetime(2026, 11, 20, 13, 0, tzinfo=UTC),
        ),
        import_id=import_id,
        row=n + 1,
        client_id=f"c{n:06d}",
        name="maria da silva",
        phone_e164=f"+55119{n:08d}",
        document="52998224725",
        document_kind=DocumentKind.CPF,
        amount_centavos=123_456 + n,
        due_date=date(2026, 12, 5),
        invoice_id=f"F-{n}",
    )
