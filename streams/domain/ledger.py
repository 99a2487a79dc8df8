"""The token ledger's rules: pricing, the decision on each send, credits, refunds, balances.

Pure: a decision takes the tenant's current state and one input event and returns the events
to emit and the state after them. The ledger agent emits what the decision says, all in one
Kafka transaction, and keeps its state as a `LedgerBook`: the fold of the events it emitted
(plus the blocks its action inputs set), which is also how it rebuilds after a crash
(streams/runtime/state.py). An auditor folds the ledger topic with `apply` and must find the same
balances.

Rules (DESIGN.md flow 3):
- a request id already debited is a duplicate: rejected, never debited again; a rejected
  request may be asked again later (after a credit, say) and is decided afresh;
- an opted-out or wrong number, or a paused client, is rejected before pricing;
- price = the kind's price (text 1, file 2 by default) plus `per_extra_recipient` for every
  recipient of a batch beyond the first: a batch text to 10 people costs 10 tokens;
- a balance never goes negative: a send that costs more than the balance is rejected;
- BalanceLow is emitted when a debit takes the balance from at or above the threshold to
  below it (once per crossing, not on every send below it);
- a permanent dispatch failure refunds the debit once; a retryable one refunds nothing;
- an opt-out or wrong number blocks the phone for the tenant, and an opt-out its client too;
  the opt-out's own confirmation (the conversation agent's reply to the opting-out message,
  `reply_request_id`) still goes out, once;
- a pause blocks the client's automated reminders (requests with a step) until a
  CollectionResumed lifts it; conversation replies (no step) and a person's replies (step
  `operator`, the API's conversation replies) are not reminders and pass: a hand-off pauses the
  client precisely so that a person answers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from schemas.events import (
    BalanceLow,
    CollectionPaused,
    CollectionResumed,
    CreditRequested,
    DispatchFailed,
    Event,
    EventHeader,
    OptedOut,
    SendApproved,
    SendKind,
    SendRejected,
    SendRejectReason,
    SendRequested,
    TokensCredited,
    TokensDebited,
    TokensRefunded,
    WrongNumberReported,
    caused_by,
)
from streams.domain.messages import OPERATOR_STEP
from streams.domain.reply_policy import reply_request_id

SOURCE = "streams.ledger"
# Events the ledger derives get ids named after their cause, so a replay derives the same ids.
DERIVED_IDS = uuid.UUID("0c0b7d1e-5f8a-4f55-9d0e-3b1a2f6c8e41")


@dataclass(frozen=True, slots=True)
class PriceTable:
    """Tokens per send; a tenant's configuration may override the defaults."""

    text: int = 1
    file: int = 2
    per_extra_recipient: int = 1

    def price(self, kind: SendKind, recipients: int) -> int:
        base = self.file if kind is SendKind.FILE else self.text
        return base + self.per_extra_recipient * max(recipients - 1, 0)


@dataclass(frozen=True, slots=True)
class LedgerPolicy:
    prices: PriceTable = field(default_factory=PriceTable)
    low_balance_threshold: int = 100


@dataclass(frozen=True, slots=True)
class Charge:
    """What the ledger remembers about a debited request: how much, and whether refunded."""

    tokens: int
    refunded: bool = False


@dataclass(frozen=True, slots=True)
class Decision:
    """What to emit, and the state after it."""

    events: tuple[Event, ...]
    balance: int
    charge: Charge | None = None
    """The request's new charge record; None leaves the record as it was."""


def _header(event_type: str, cause: Event, now: datetime) -> EventHeader:
    return caused_by(event_type, cause, occurred_at=now, source=SOURCE, namespace=DERIVED_IDS)


def decide_send(
    request: SendRequested,
    *,
    balance: int,
    charge: Charge | None,
    block: SendRejectReason | None,
    policy: LedgerPolicy,
    now: datetime,
) -> Decision:
    """Approve and debit the send, or reject it with the reason."""

    def reject(reason: SendRejectReason, detail: str) -> Decision:
        rejected = SendRejected(
            header=_header("SendRejected", request, now),
            request_id=request.request_id,
            reason=reason,
            detail=detail,
        )
        return Decision((rejected,), balance)

    if charge is not None:
        return reject(SendRejectReason.DUPLICATE, f"already debited {charge.tokens} tokens")
    if block is not None:
        return reject(block, BLOCK_DETAILS[block])
    price = policy.prices.price(request.kind, request.recipients)
    if price > balance:
        return reject(
            SendRejectReason.INSUFFICIENT_TOKENS, f"costs {price} tokens, balance is {balance}"
        )
    after = balance - price
    events: list[Event] = [
        TokensDebited(
            header=_header("TokensDebited", request, now),
            request_id=request.request_id,
            amount=price,
            balance_after=after,
        ),
        SendApproved(
            header=_header("SendApproved", request, now),
            request_id=request.request_id,
            client_id=request.client_id,
            phone_e164=request.phone_e164,
            kind=request.kind,
            price_tokens=price,
            balance_after=after,
            text=request.text,
            file_url=request.file_url,
            file_mimetype=request.file_mimetype,
            file_name=request.file_name,
            session=request.session,
        ),
    ]
    threshold = policy.low_balance_threshold
    if after < threshold <= balance:
        events.append(
            BalanceLow(
                header=_header("BalanceLow", request, now), balance=after, threshold=threshold
            )
        )
    return Decision(tuple(events), after, Charge(price))


BLOCK_DETAILS = {
    SendRejectReason.OPTED_OUT: "the number opted out of messages (LGPD)",
    SendRejectReason.WRONG_NUMBER: "the number was reported as not the debtor's",
    SendRejectReason.PAUSED: "collection is paused for this client",
}


def block_for(action: Event) -> tuple[str, SendRejectReason] | None:
    """The block an action puts on future sends, as (block key, reason)."""
    tenant = action.header.tenant_id
    if isinstance(action, OptedOut):
        return phone_block_key(tenant, action.phone_e164), SendRejectReason.OPTED_OUT
    if isinstance(action, WrongNumberReported):
        return phone_block_key(tenant, action.phone_e164), SendRejectReason.WRONG_NUMBER
    if isinstance(action, CollectionPaused):
        return client_block_key(tenant, action.client_id), SendRejectReason.PAUSED
    return None


def blocks_for(action: Event) -> list[tuple[str, SendRejectReason]]:
    """Every block an action puts on future sends: `block_for`'s, and an opt-out's client."""
    first = block_for(action)
    blocks = [first] if first is not None else []
    if isinstance(action, OptedOut) and action.client_id is not None:
        blocks.append(
            (
                opted_out_client_key(action.header.tenant_id, action.client_id),
                SendRejectReason.OPTED_OUT,
            )
        )
    return blocks


def opted_out_client_key(tenant: str, client_id: str) -> str:
    return f"{tenant}|client-opted-out|{client_id}"


def exempt_reply(action: Event) -> str | None:
    """The one send an opt-out still lets through: the confirmation that answers it."""
    if isinstance(action, OptedOut) and action.waha_message_id is not None:
        tenant = action.header.tenant_id
        return f"{tenant}|{reply_request_id(tenant, action.waha_message_id)}"
    return None


def phone_block_key(tenant: str, phone_e164: str) -> str:
    return f"{tenant}|phone|{phone_e164}"


def client_block_key(tenant: str, client_id: str) -> str:
    return f"{tenant}|client|{client_id}"


def decide_credit(
    command: CreditRequested, *, balance: int, already_credited: bool, now: datetime
) -> Decision:
    """Credit the tokens once per credit id; a repeated or non-positive credit changes nothing."""
    if already_credited or command.amount <= 0:
        return Decision((), balance)
    after = balance + command.amount
    credited = TokensCredited(
        header=_header("TokensCredited", command, now),
        amount=command.amount,
        balance_after=after,
        reference=command.reference,
        credit_id=command.credit_id,
    )
    return Decision((credited,), after)


def decide_refund(
    failure: DispatchFailed, *, balance: int, charge: Charge | None, now: datetime
) -> Decision:
    """Refund a permanent failure's debit, once."""
    if failure.retryable or charge is None or charge.refunded:
        return Decision((), balance)
    after = balance + charge.tokens
    refunded = TokensRefunded(
        header=_header("TokensRefunded", failure, now),
        request_id=failure.request_id,
        amount=charge.tokens,
        reason=f"permanent dispatch failure: {failure.error}",
        balance_after=after,
    )
    return Decision((refunded,), after, Charge(charge.tokens, refunded=True))


def apply(balance: int, event: Event) -> int:
    """A balance after one ledger event: the fold an auditor replays."""
    if isinstance(event, TokensCredited | TokensRefunded):
        return balance + event.amount
    if isinstance(event, TokensDebited):
        return balance - event.amount
    return balance


def replay_balances(events: Iterable[Event]) -> dict[str, int]:
    """Every tenant's balance, recomputed from the ledger topic's events in order."""
    balances: dict[str, int] = {}
    for event in events:
        tenant = event.header.tenant_id
        balances[tenant] = apply(balances.get(tenant, 0), event)
    return balances


@dataclass(slots=True)
class LedgerBook:
    """What the ledger agent knows about the tenants of one partition: a fold of its own ledger
    events and of the actions that block sends. `apply` is the only way it changes."""

    balances: dict[str, int] = field(default_factory=dict)
    charges: dict[str, Charge] = field(default_factory=dict)
    """"tenant|request_id" → the charge of every debited request."""
    credited: set[str] = field(default_factory=set)
    """"tenant|credit_id" for every credit applied."""
    blocks: dict[str, SendRejectReason] = field(default_factory=dict)
    """Block key (`phone_block_key`, `client_block_key`) → why sends there are rejected."""
    heads: dict[str, str] = field(default_factory=dict)
    """Tenant → hash of its latest ledger event (streams/domain/ledger_chain.py)."""

    def balance(self, tenant: str) -> int:
        return self.balances.get(tenant, 0)

    def charge(self, tenant: str, request_id: str) -> Charge | None:
        return self.charges.get(f"{tenant}|{request_id}")

    exempt: set[str] = field(default_factory=set)
    """"tenant|request_id" of opt-out confirmations, which their own opt-out lets through."""

    def block(self, request: SendRequested) -> SendRejectReason | None:
        tenant = request.header.tenant_id
        keys = [
            phone_block_key(tenant, request.phone_e164),
            opted_out_client_key(tenant, request.client_id),
        ]
        if request.step not in (None, OPERATOR_STEP):  # a pause holds reminders, not replies
            keys.append(client_block_key(tenant, request.client_id))
        for key in keys:
            reason = self.blocks.get(key)
            if reason is SendRejectReason.OPTED_OUT and (
                f"{tenant}|{request.request_id}" in self.exempt
            ):
                continue
            if reason is not None:
                return reason
        return None

    def was_credited(self, command: CreditRequested) -> bool:
        return f"{command.header.tenant_id}|{command.credit_id}" in self.credited

    def apply(self, event: Event) -> None:
        tenant = event.header.tenant_id
        if isinstance(event, TokensCredited | TokensDebited | TokensRefunded | BalanceLow):
            self.heads[tenant] = event.hash
        if isinstance(event, TokensCredited | TokensDebited | TokensRefunded):
            self.balances[tenant] = apply(self.balance(tenant), event)
        if isinstance(event, TokensCredited) and event.credit_id is not None:
            self.credited.add(f"{tenant}|{event.credit_id}")
        elif isinstance(event, TokensDebited):
            self.charges[f"{tenant}|{event.request_id}"] = Charge(event.amount)
        elif isinstance(event, TokensRefunded):
            self.charges[f"{tenant}|{event.request_id}"] = Charge(event.amount, refunded=True)
        elif isinstance(event, CollectionResumed):
            key = client_block_key(tenant, event.client_id)
            if self.blocks.get(key) is SendRejectReason.PAUSED:
                del self.blocks[key]
        else:
            for key, reason in blocks_for(event):
                self.blocks[key] = reason
            exempt = exempt_reply(event)
            if exempt is not None:
                self.exempt.add(exempt)
