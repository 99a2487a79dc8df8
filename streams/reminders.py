"""The first notice a debtor gets when their debt is imported: ClientImported → SendRequested.

Pure: no Kafka, no clock of its own. The collection policy (régua) with steps relative to the
due date and contact windows builds on this; this is the smallest real decision on that path.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from schemas.events import ClientImported, SendKind, SendRequested, new_header
from streams.formatting import format_brl, format_date_br

SOURCE = "streams.reminders"
STEP = "import"
# Fixed namespace for request ids derived by name: the same import row always yields the same
# request id, which is what the ledger deduplicates on.
REQUEST_IDS = uuid.UUID("6f1d8f0e-3a52-4c8e-9a57-0b6c1de2a9d4")

TEMPLATE = (
    "Olá, {first_name}! Consta em aberto {invoice}no valor de {amount}, "
    "com vencimento em {due_date}. Se quiser o Pix ou o boleto, é só responder esta mensagem."
)


def request_id_for(client: ClientImported, step: str = STEP) -> str:
    """The idempotency key of `step` for this import row."""
    name = f"{client.header.tenant_id}|{client.client_id}|{client.import_id}|{step}"
    return str(uuid.uuid5(REQUEST_IDS, name))


def render_notice(client: ClientImported) -> str:
    invoice = f"a fatura {client.invoice_id} " if client.invoice_id else "uma fatura "
    first_name = client.name.split()[0].title() if client.name.strip() else "tudo bem"
    return TEMPLATE.format(
        first_name=first_name,
        invoice=invoice,
        amount=format_brl(client.amount_centavos),
        due_date=format_date_br(client.due_date),
    )


def request_import_notice(client: ClientImported, *, now: datetime) -> SendRequested:
    """Ask to send the import notice for this client, traced back to the import row."""
    request_id = request_id_for(client)
    return SendRequested(
        header=new_header(
            "SendRequested",
            tenant_id=client.header.tenant_id,
            correlation_id=client.header.correlation_id,
            causation_id=client.header.event_id,
            source=SOURCE,
            occurred_at=now,
            event_id=str(uuid.uuid5(REQUEST_IDS, f"{request_id}|SendRequested")),
        ),
        request_id=request_id,
        client_id=client.client_id,
        phone_e164=client.phone_e164,
        kind=SendKind.TEXT,
        text=render_notice(client),
        step=STEP,
    )
