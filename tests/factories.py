"""Valid events for tests, built the way producers build them.

One factory per event type (every schema in schemas/avro has one, so views can be tested on
events nobody produces yet). `at` sets `header.occurred_at` (default: now); ids derive from the
arguments, so a test can build the same story twice. `send_story` builds the whole life of one
send, from the request to the debtor's reply, as the pipeline would emit it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from schemas.events import (
    ApiRequestAudited,
    BalanceLow,
    ClientImported,
    CollectionPaused,
    CollectionResumed,
    ConversationStateChanged,
    CreditRequested,
    DeadLettered,
    DebtIndexed,
    DeferReason,
    DeliveryStatusChanged,
    DispatchFailed,
    DocumentKind,
    Event,
    EventHeader,
    HandoffRequested,
    HandoffResolved,
    ImportCompleted,
    ImportRejected,
    InboundMessage,
    IntentClassified,
    IntentCorrected,
    MessageDispatched,
    OptedOut,
    PaymentClaimed,
    PaymentPromised,
    SendApproved,
    SendDeferred,
    SendKind,
    SendRejected,
    SendRejectReason,
    SendRequested,
    SessionStatusChanged,
    TokensCredited,
    TokensDebited,
    TokensRefunded,
    WahaCallbackReceived,
    WebhookAttempted,
    WebhookDeadLettered,
    WrongNumberReported,
    new_header,
)

ACK_NAMES = {-1: "ERROR", 0: "PENDING", 1: "SERVER", 2: "DEVICE", 3: "READ", 4: "PLAYED"}


def _header(
    event_type: str,
    tenant: str,
    correlation_id: str,
    at: datetime | None,
    *,
    causation_id: str | None = None,
    source: str = "tests",
) -> EventHeader:
    return new_header(
        event_type,
        tenant_id=tenant,
        correlation_id=correlation_id,
        causation_id=causation_id,
        source=source,
        occurred_at=at,
    )


def chat_of(phone: str) -> str:
    """The WhatsApp chat id of an E.164 phone: `+5511987654321` → `5511987654321@c.us`."""
    return f"{phone.lstrip('+')}@c.us"


# --- imports ---------------------------------------------------------------------------------


def client_imported(
    tenant: str,
    n: int,
    *,
    import_id: str = "imp-1",
    phone: str | None = None,
    at: datetime | None = None,
    document: str | None = "52998224725",
) -> ClientImported:
    """The n-th row of an import for `tenant`: a distinct client with a distinct debt
    (`document` None: a client without CPF/CNPJ)."""
    return ClientImported(
        header=_header(
            "ClientImported", tenant, import_id, at or datetime(2026, 11, 20, 13, 0, tzinfo=UTC)
        ),
        import_id=import_id,
        row=n + 1,
        client_id=f"c{n:06d}",
        name="maria da silva",
        phone_e164=phone or f"+55119{n:08d}",
        document=document,
        document_kind=None if document is None else DocumentKind.CPF,
        amount_centavos=123_456 + n,
        due_date=date(2026, 12, 5),
        invoice_id=f"F-{n}",
        email="maria@example.com",
        uf="SP",
        pix_code="00020126580014br.gov.bcb.pix",
    )


def import_rejected(
    tenant: str, row: int, *, import_id: str = "imp-1", at: datetime | None = None
) -> ImportRejected:
    return ImportRejected(
        header=_header("ImportRejected", tenant, import_id, at),
        import_id=import_id,
        row=row,
        reason="invalid_phone",
        message="phone 11 9876-543 has 9 digits; expected 10 or 11 with the DDD",
        field="telefone",
        raw_row="maria;11 9876-543;529.982.247-25;1.234,56;05/12/2026",
    )


def import_completed(
    tenant: str,
    *,
    import_id: str = "imp-1",
    accepted: int = 2,
    rejected: int = 1,
    at: datetime | None = None,
) -> ImportCompleted:
    return ImportCompleted(
        header=_header("ImportCompleted", tenant, import_id, at),
        import_id=import_id,
        rows=accepted + rejected,
        accepted=accepted,
        rejected=rejected,
        by_reason={"invalid_phone": rejected} if rejected else {},
    )


# --- sends -----------------------------------------------------------------------------------


def send_requested(
    tenant: str,
    request_id: str,
    *,
    kind: SendKind = SendKind.TEXT,
    recipients: int = 1,
    phone: str = "+5511987654321",
    client_id: str = "c1",
    step: str | None = None,
    at: datetime | None = None,
    file_mimetype: str | None = None,
    file_name: str | None = None,
) -> SendRequested:
    return SendRequested(
        header=_header("SendRequested", tenant, request_id, at),
        request_id=request_id,
        client_id=client_id,
        phone_e164=phone,
        kind=kind,
        text="Olá!" if kind is SendKind.TEXT else None,
        file_url="https://example.com/boleto.pdf" if kind is SendKind.FILE else None,
        file_mimetype=file_mimetype,
        file_name=file_name,
        recipients=recipients,
        step=step,
    )


def send_deferred(
    tenant: str, request_id: str, *, until: datetime | None = None, at: datetime | None = None
) -> SendDeferred:
    when = at or datetime.now(UTC)
    return SendDeferred(
        header=_header("SendDeferred", tenant, request_id, at),
        request_id=request_id,
        until=until or when + timedelta(hours=10),
        reason=DeferReason.OUTSIDE_CONTACT_WINDOW,
    )


def send_approved(
    tenant: str,
    request_id: str,
    *,
    kind: SendKind = SendKind.TEXT,
    price: int = 1,
    balance_after: int = 99,
    phone: str = "+5511987654321",
    client_id: str = "c1",
    at: datetime | None = None,
) -> SendApproved:
    return SendApproved(
        header=_header("SendApproved", tenant, request_id, at, source="streams.ledger"),
        request_id=request_id,
        client_id=client_id,
        phone_e164=phone,
        kind=kind,
        price_tokens=price,
        balance_after=balance_after,
        text="Olá!" if kind is SendKind.TEXT else None,
        file_url="https://example.com/boleto.pdf" if kind is SendKind.FILE else None,
    )


def send_rejected(
    tenant: str,
    request_id: str,
    *,
    reason: SendRejectReason = SendRejectReason.INSUFFICIENT_TOKENS,
    at: datetime | None = None,
) -> SendRejected:
    return SendRejected(
        header=_header("SendRejected", tenant, request_id, at, source="streams.ledger"),
        request_id=request_id,
        reason=reason,
        detail="balance 0 < price 1" if reason is SendRejectReason.INSUFFICIENT_TOKENS else None,
    )


# --- ledger ----------------------------------------------------------------------------------


def api_request_audited(
    tenant: str, operation: str = "inviteUser", *, at: datetime | None = None
) -> ApiRequestAudited:
    return ApiRequestAudited(
        header=_header("ApiRequestAudited", tenant, "req-1", at, source="api"),
        request_id="req-1",
        actor="user:u-1",
        operation=operation,
        method="POST",
        path=f"/v1/tenants/{tenant}/users",
        status=201,
        address="127.0.0.1",
        target=None,
    )


def credit_requested(tenant: str, amount: int, credit_id: str = "cr-1") -> CreditRequested:
    return CreditRequested(
        header=_header("CreditRequested", tenant, credit_id, None),
        credit_id=credit_id,
        amount=amount,
        reference="pix 123",
    )


def tokens_credited(
    tenant: str,
    amount: int,
    *,
    balance_after: int,
    credit_id: str = "cr-1",
    at: datetime | None = None,
) -> TokensCredited:
    return TokensCredited(
        header=_header("TokensCredited", tenant, credit_id, at, source="streams.ledger"),
        amount=amount,
        balance_after=balance_after,
        reference="pix 123",
    )


def tokens_debited(
    tenant: str, request_id: str, amount: int, *, balance_after: int, at: datetime | None = None
) -> TokensDebited:
    return TokensDebited(
        header=_header("TokensDebited", tenant, request_id, at, source="streams.ledger"),
        request_id=request_id,
        amount=amount,
        balance_after=balance_after,
    )


def tokens_refunded(
    tenant: str, request_id: str, amount: int, *, balance_after: int, at: datetime | None = None
) -> TokensRefunded:
    return TokensRefunded(
        header=_header("TokensRefunded", tenant, request_id, at, source="streams.ledger"),
        request_id=request_id,
        amount=amount,
        reason="dispatch_failed",
        balance_after=balance_after,
    )


def balance_low(
    tenant: str, *, balance: int = 5, threshold: int = 10, at: datetime | None = None
) -> BalanceLow:
    return BalanceLow(
        header=_header("BalanceLow", tenant, tenant, at, source="streams.ledger"),
        balance=balance,
        threshold=threshold,
    )


# --- dispatch --------------------------------------------------------------------------------


def message_dispatched(
    tenant: str,
    request_id: str,
    *,
    phone: str = "+5511987654321",
    message_id: str | None = None,
    at: datetime | None = None,
) -> MessageDispatched:
    return MessageDispatched(
        header=_header("MessageDispatched", tenant, request_id, at, source="streams.dispatch"),
        request_id=request_id,
        session="default",
        chat_id=chat_of(phone),
        waha_message_id=message_id or f"true_{chat_of(phone)}_{request_id}",
        attempt=1,
    )


def dispatch_failed(
    tenant: str, request_id: str, *, retryable: bool, at: datetime | None = None
) -> DispatchFailed:
    return DispatchFailed(
        header=_header("DispatchFailed", tenant, request_id, at, source="streams.dispatch"),
        request_id=request_id,
        session="default",
        attempt=1,
        retryable=retryable,
        error="422 session not working" if not retryable else "503",
        status_code=422 if not retryable else 503,
    )


# --- WAHA and conversations -------------------------------------------------------------------


def waha_callback_received(
    tenant: str, *, phone: str = "+5511987654321", at: datetime | None = None
) -> WahaCallbackReceived:
    when = at or datetime.now(UTC)
    body = (
        '{"event":"message","session":"default","payload":{"from":"'
        + chat_of(phone)
        + '","body":"vou pagar sexta"}}'
    ).encode()
    return WahaCallbackReceived(
        header=_header("WahaCallbackReceived", tenant, "default", at, source="connectors.waha"),
        body=body,
        headers={"content-type": "application/json", "x-webhook-hmac": "ab" * 64},
        received_at=when.replace(microsecond=when.microsecond // 1000 * 1000),
        session="default",
        remote="10.0.0.7",
    )


def inbound_message(
    tenant: str,
    *,
    phone: str = "+5511987654321",
    message_id: str = "false_5511987654321@c.us_IN1",
    request_id: str | None = None,
    body: str = "vou pagar sexta",
    at: datetime | None = None,
) -> InboundMessage:
    when = at or datetime.now(UTC)
    return InboundMessage(
        header=_header("InboundMessage", tenant, chat_of(phone), at, source="connectors.waha"),
        session="default",
        waha_message_id=message_id,
        chat_id=chat_of(phone),
        sender=chat_of(phone),
        is_group=False,
        from_me=False,
        has_media=False,
        timestamp=when.replace(microsecond=when.microsecond // 1000 * 1000),
        body=body,
        request_id=request_id,
    )


def delivery_status_changed(
    tenant: str,
    *,
    ack: int,
    phone: str = "+5511987654321",
    message_id: str,
    request_id: str | None = None,
    at: datetime | None = None,
) -> DeliveryStatusChanged:
    return DeliveryStatusChanged(
        header=_header(
            "DeliveryStatusChanged", tenant, chat_of(phone), at, source="connectors.waha"
        ),
        session="default",
        waha_message_id=message_id,
        chat_id=chat_of(phone),
        ack=ack,
        ack_name=ACK_NAMES[ack],
        request_id=request_id,
    )


def session_status_changed(
    tenant: str, *, status: str = "WORKING", at: datetime | None = None
) -> SessionStatusChanged:
    return SessionStatusChanged(
        header=_header("SessionStatusChanged", tenant, "default", at, source="connectors.waha"),
        session="default",
        status=status,
        previous="STARTING",
    )


# --- intelligence and actions ------------------------------------------------------------------


def intent_classified(
    tenant: str,
    *,
    label: str = "promise_to_pay",
    confidence: float = 0.875,
    phone: str = "+5511987654321",
    message_id: str = "false_5511987654321@c.us_IN1",
    client_id: str | None = "c1",
    at: datetime | None = None,
) -> IntentClassified:
    return IntentClassified(
        header=_header("IntentClassified", tenant, chat_of(phone), at, source="models.intents"),
        waha_message_id=message_id,
        chat_id=chat_of(phone),
        label=label,
        confidence=confidence,
        model_version="intent-head-v1",
        client_id=client_id,
        promised_date=date(2026, 12, 4) if label == "promise_to_pay" else None,
        amount_centavos=15_000 if label == "promise_to_pay" else None,
    )


def payment_promised(
    tenant: str,
    client_id: str,
    *,
    amount: int | None = 15_000,
    promised_date: date | None = date(2026, 12, 4),
    message_id: str = "false_5511987654321@c.us_IN1",
    at: datetime | None = None,
) -> PaymentPromised:
    return PaymentPromised(
        header=_header("PaymentPromised", tenant, client_id, at, source="streams.conversation"),
        client_id=client_id,
        waha_message_id=message_id,
        promised_date=promised_date,
        amount_centavos=amount,
    )


def payment_claimed(
    tenant: str,
    client_id: str,
    *,
    message_id: str = "false_5511987654321@c.us_IN2",
    at: datetime | None = None,
) -> PaymentClaimed:
    return PaymentClaimed(
        header=_header("PaymentClaimed", tenant, client_id, at, source="streams.conversation"),
        client_id=client_id,
        waha_message_id=message_id,
    )


def opted_out(
    tenant: str,
    *,
    phone: str = "+5511987654321",
    client_id: str | None = "c1",
    at: datetime | None = None,
) -> OptedOut:
    return OptedOut(
        header=_header("OptedOut", tenant, chat_of(phone), at, source="streams.conversation"),
        phone_e164=phone,
        client_id=client_id,
        waha_message_id="false_5511987654321@c.us_IN3",
    )


def wrong_number_reported(
    tenant: str,
    *,
    phone: str = "+5511987654321",
    client_id: str | None = "c1",
    at: datetime | None = None,
) -> WrongNumberReported:
    return WrongNumberReported(
        header=_header(
            "WrongNumberReported", tenant, chat_of(phone), at, source="streams.conversation"
        ),
        phone_e164=phone,
        client_id=client_id,
    )


def handoff_requested(
    tenant: str,
    *,
    reason: str = "dispute",
    phone: str = "+5511987654321",
    client_id: str | None = "c1",
    at: datetime | None = None,
) -> HandoffRequested:
    return HandoffRequested(
        header=_header(
            "HandoffRequested", tenant, chat_of(phone), at, source="streams.conversation"
        ),
        chat_id=chat_of(phone),
        reason=reason,
        client_id=client_id,
        intent=reason,
    )


def collection_paused(
    tenant: str, client_id: str, *, reason: str = "payment_promised", at: datetime | None = None
) -> CollectionPaused:
    when = at or datetime.now(UTC)
    return CollectionPaused(
        header=_header("CollectionPaused", tenant, client_id, at, source="streams.conversation"),
        client_id=client_id,
        reason=reason,
        until=when.replace(microsecond=0) + timedelta(days=3),
    )


def dead_lettered(tenant: str, *, at: datetime | None = None) -> DeadLettered:
    return DeadLettered(
        header=_header("DeadLettered", tenant, "cobranca.clients[0]@7", at, source="streams"),
        original=b"\x00\x00\x00\x00\x07not avro +5511987654321",
        topic="cobranca.clients",
        partition=0,
        offset=7,
        error_type="schemas.errors.UndecodableEvent",
        error="schema id 7 is not pinned; phone +5511987654321",
        key=b"acme:c1",
    )


# --- tenant webhooks ---------------------------------------------------------------------------


def webhook_attempted(
    tenant: str, *, delivered: bool = False, attempt: int = 1, at: datetime | None = None
) -> WebhookAttempted:
    moment = at or datetime.now(UTC)
    return WebhookAttempted(
        header=_header("WebhookAttempted", tenant, "ev-1", at, source="webhooks.delivery"),
        subscription_id="whs_1",
        source_event_id="ev-1",
        source_event_type="BalanceLow",
        kind="balance.low",
        attempt=attempt,
        delivered=delivered,
        body='{"data":{"balance":5,"threshold":10},"id":"ev-1","kind":"balance.low"}',
        event_occurred_at=moment,
        status_code=200 if delivered else 500,
        error=None if delivered else "HTTP 500 from +5511987654321's server",
        next_attempt_at=None if delivered else moment + timedelta(seconds=10),
    )


def webhook_dead_lettered(tenant: str, *, at: datetime | None = None) -> WebhookDeadLettered:
    return WebhookDeadLettered(
        header=_header("WebhookDeadLettered", tenant, "ev-1", at, source="webhooks.delivery"),
        subscription_id="whs_1",
        source_event_id="ev-1",
        source_event_type="BalanceLow",
        kind="balance.low",
        attempts=30,
        reason="expired",
        status_code=503,
        error="HTTP 503",
    )


# --- stories ---------------------------------------------------------------------------------


def send_story(
    tenant: str,
    request_id: str,
    *,
    at: datetime,
    step: str | None = "D-3",
    phone: str = "+5511987654321",
    client_id: str = "c1",
    reached: str = "replied",
    reject: SendRejectReason | None = None,
    balance_after: int = 99,
) -> list[Event]:
    """The events of one send, a minute apart, up to the stage `reached`: `requested`,
    `approved`, `dispatched`, `delivered`, `read` or `replied` (the reply names the request).
    With `reject` the ledger refuses it instead and nothing follows."""
    stages = ("requested", "approved", "dispatched", "delivered", "read", "replied")
    if reached not in stages:
        raise ValueError(f"reached must be one of {stages}")
    upto = stages.index(reached)
    minute = timedelta(minutes=1)
    message_id = f"true_{chat_of(phone)}_{request_id}"
    events: list[Event] = [
        send_requested(tenant, request_id, step=step, phone=phone, client_id=client_id, at=at)
    ]
    if reject is not None:
        return [*events, send_rejected(tenant, request_id, reason=reject, at=at + minute)]
    if upto >= 1:
        events += [
            tokens_debited(tenant, request_id, 1, balance_after=balance_after, at=at + minute),
            send_approved(
                tenant,
                request_id,
                balance_after=balance_after,
                phone=phone,
                client_id=client_id,
                at=at + minute,
            ),
        ]
    if upto >= 2:
        events.append(
            message_dispatched(
                tenant, request_id, phone=phone, message_id=message_id, at=at + 2 * minute
            )
        )
    for ack, stage in ((2, 3), (3, 4)):
        if upto >= stage:
            events.append(
                delivery_status_changed(
                    tenant,
                    ack=ack,
                    phone=phone,
                    message_id=message_id,
                    request_id=request_id,
                    at=at + (stage + 1) * minute,
                )
            )
    if upto >= 5:
        events.append(
            inbound_message(
                tenant,
                phone=phone,
                message_id=f"false_{chat_of(phone)}_{request_id}",
                request_id=request_id,
                at=at + 10 * minute,
            )
        )
    return events


# --- conversations: debts, state, operators ---------------------------------------------------


def debt_indexed(
    tenant: str,
    *,
    client_id: str = "c1",
    phone: str = "+5511987654321",
    name: str = "MARIA DA SILVA",
    amount: int = 123_456,
    due: date = date(2026, 12, 5),
    pix_code: str | None = "00020126580014br.gov.bcb.pix0136chave",
    boleto_line: str | None = "23790.12345 60000.000003 00000.000000 1 99990000123456",
    payment_url: str | None = "https://pague.example.com/c1",
    at: datetime | None = None,
) -> DebtIndexed:
    from streams.domain.chat_keys import chat_key

    return DebtIndexed(
        header=_header("DebtIndexed", tenant, "imp-1", at, source="streams.regua"),
        client_id=client_id,
        chat_key=chat_key(phone),
        import_id="imp-1",
        phone_e164=phone,
        name=name,
        amount_centavos=amount,
        due_date=due,
        invoice_id="F-1",
        pix_code=pix_code,
        boleto_line=boleto_line,
        payment_url=payment_url,
    )


def conversation_state_changed(
    tenant: str,
    *,
    phone: str = "+5511987654321",
    opted_out: bool = False,
    wrong_number: bool = False,
    open_handoff: str | None = None,
    client_id: str | None = "c1",
    at: datetime | None = None,
) -> ConversationStateChanged:
    from streams.domain.chat_keys import chat_key

    return ConversationStateChanged(
        header=_header(
            "ConversationStateChanged", tenant, chat_of(phone), at, source="streams.conversation"
        ),
        chat_key=chat_key(phone),
        opted_out=opted_out,
        wrong_number=wrong_number,
        open_handoff=open_handoff,
        client_id=client_id,
    )


def handoff_resolved(
    tenant: str,
    handoff_id: str,
    *,
    label: str = "negotiate",
    phone: str = "+5511987654321",
    client_id: str | None = "c1",
    message_id: str | None = "false_5511987654321@c.us_IN1",
    resume: bool = True,
    at: datetime | None = None,
) -> HandoffResolved:
    return HandoffResolved(
        header=_header("HandoffResolved", tenant, chat_of(phone), at, source="streams.cli"),
        handoff_id=handoff_id,
        chat_id=chat_of(phone),
        label=label,
        resume=resume,
        client_id=client_id,
        waha_message_id=message_id,
        operator="ana",
    )


def intent_corrected(
    tenant: str,
    *,
    label: str = "promise_to_pay",
    phone: str = "+5511987654321",
    message_id: str = "false_5511987654321@c.us_IN1",
    at: datetime | None = None,
) -> IntentCorrected:
    return IntentCorrected(
        header=_header("IntentCorrected", tenant, chat_of(phone), at, source="api"),
        chat_id=chat_of(phone),
        waha_message_id=message_id,
        label=label,
        classified_label="other",
        client_id="c1",
        operator="user:ana",
    )


def collection_resumed(
    tenant: str, client_id: str, *, handoff_id: str | None = None, at: datetime | None = None
) -> CollectionResumed:
    return CollectionResumed(
        header=_header("CollectionResumed", tenant, client_id, at, source="streams.conversation"),
        client_id=client_id,
        reason="handoff_resolved",
        handoff_id=handoff_id,
    )
