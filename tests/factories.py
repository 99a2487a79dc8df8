"""Valid events for tests, built the way producers build them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from schemas.events import (
    ClientImported,
    CreditRequested,
    DispatchFailed,
    DocumentKind,
    SendKind,
    SendRequested,
    new_header,
)


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


def send_requested(
    tenant: str,
    request_id: str,
    *,
    kind: SendKind = SendKind.TEXT,
    recipients: int = 1,
    phone: str = "+5511987654321",
    client_id: str = "c1",
) -> SendRequested:
    return SendRequested(
        header=new_header(
            "SendRequested",
            tenant_id=tenant,
            correlation_id=request_id,
            causation_id=None,
            source="tests",
        ),
        request_id=request_id,
        client_id=client_id,
        phone_e164=phone,
        kind=kind,
        text="Olá!" if kind is SendKind.TEXT else None,
        file_url="https://example.com/boleto.pdf" if kind is SendKind.FILE else None,
        recipients=recipients,
    )


def credit_requested(tenant: str, amount: int, credit_id: str = "cr-1") -> CreditRequested:
    return CreditRequested(
        header=new_header(
            "CreditRequested",
            tenant_id=tenant,
            correlation_id=credit_id,
            causation_id=None,
            source="tests",
        ),
        credit_id=credit_id,
        amount=amount,
        reference="pix 123",
    )


def dispatch_failed(tenant: str, request_id: str, *, retryable: bool) -> DispatchFailed:
    return DispatchFailed(
        header=new_header(
            "DispatchFailed",
            tenant_id=tenant,
            correlation_id=request_id,
            causation_id=None,
            source="tests",
        ),
        request_id=request_id,
        session="default",
        attempt=1,
        retryable=retryable,
        error="422 session not working" if not retryable else "503",
        status_code=422 if not retryable else 503,
    )
