"""The ledger's rules, as given state → input → expected events, with no broker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.events import (
    BalanceLow,
    OptedOut,
    SendApproved,
    SendKind,
    SendRejected,
    SendRejectReason,
    TokensCredited,
    TokensDebited,
    TokensRefunded,
    new_header,
)
from streams.domain.ledger import (
    Charge,
    LedgerPolicy,
    PriceTable,
    block_for,
    decide_credit,
    decide_refund,
    decide_send,
    phone_block_key,
    replay_balances,
)
from tests.factories import credit_requested, dispatch_failed, send_requested

NOW = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
POLICY = LedgerPolicy(low_balance_threshold=10)


def _send(balance: int, **kwargs: object):  # type: ignore[no-untyped-def]
    request = send_requested("acme", "r1", **kwargs)  # type: ignore[arg-type]
    return request, decide_send(
        request, balance=balance, charge=None, block=None, policy=POLICY, now=NOW
    )


@pytest.mark.parametrize(
    ("kind", "recipients", "price"),
    [(SendKind.TEXT, 1, 1), (SendKind.FILE, 1, 2), (SendKind.TEXT, 10, 10), (SendKind.FILE, 3, 4)],
)
def test_default_prices(kind: SendKind, recipients: int, price: int) -> None:
    assert PriceTable().price(kind, recipients) == price


def test_approval_debits_and_approves_with_the_same_price_and_balance() -> None:
    request, decision = _send(50, kind=SendKind.FILE)
    debited, approved = decision.events
    assert isinstance(debited, TokensDebited) and isinstance(approved, SendApproved)
    assert debited.amount == approved.price_tokens == 2
    assert debited.balance_after == approved.balance_after == decision.balance == 48
    assert approved.request_id == debited.request_id == request.request_id
    assert approved.phone_e164 == request.phone_e164 and approved.file_url == request.file_url
    assert decision.charge == Charge(2)
    assert debited.header.causation_id == request.header.event_id


def test_insufficient_tokens_rejects_and_keeps_the_balance() -> None:
    _, decision = _send(1, kind=SendKind.FILE)
    (rejected,) = decision.events
    assert isinstance(rejected, SendRejected)
    assert rejected.reason is SendRejectReason.INSUFFICIENT_TOKENS
    assert decision.balance == 1 and decision.charge is None


def test_an_exact_balance_is_enough_and_ends_at_zero() -> None:
    _, decision = _send(2, kind=SendKind.FILE)
    assert decision.balance == 0


def test_a_debited_request_id_is_a_duplicate() -> None:
    request = send_requested("acme", "r1")
    decision = decide_send(
        request, balance=50, charge=Charge(1), block=None, policy=POLICY, now=NOW
    )
    (rejected,) = decision.events
    assert isinstance(rejected, SendRejected) and rejected.reason is SendRejectReason.DUPLICATE
    assert decision.balance == 50


@pytest.mark.parametrize(
    "reason", [SendRejectReason.OPTED_OUT, SendRejectReason.WRONG_NUMBER, SendRejectReason.PAUSED]
)
def test_blocked_sends_are_rejected_before_pricing(reason: SendRejectReason) -> None:
    request = send_requested("acme", "r1")
    decision = decide_send(request, balance=0, charge=None, block=reason, policy=POLICY, now=NOW)
    (rejected,) = decision.events
    assert isinstance(rejected, SendRejected) and rejected.reason is reason


def test_balance_low_once_when_crossing_the_threshold() -> None:
    _, crossing = _send(10)
    assert [type(e) for e in crossing.events] == [TokensDebited, SendApproved, BalanceLow]
    low = crossing.events[2]
    assert isinstance(low, BalanceLow) and (low.balance, low.threshold) == (9, 10)
    _, below = _send(9)
    assert [type(e) for e in below.events] == [TokensDebited, SendApproved]


def test_credit_once_per_credit_id() -> None:
    command = credit_requested("acme", 500)
    first = decide_credit(command, balance=7, already_credited=False, now=NOW)
    (credited,) = first.events
    assert isinstance(credited, TokensCredited)
    assert (credited.amount, credited.balance_after, first.balance) == (500, 507, 507)
    again = decide_credit(command, balance=507, already_credited=True, now=NOW)
    assert again.events == () and again.balance == 507


def test_a_permanent_failure_refunds_once_and_a_retryable_one_never() -> None:
    failure = dispatch_failed("acme", "r1", retryable=False)
    refund = decide_refund(failure, balance=8, charge=Charge(2), now=NOW)
    (refunded,) = refund.events
    assert isinstance(refunded, TokensRefunded) and refunded.amount == 2
    assert refund.balance == 10 and refund.charge == Charge(2, refunded=True)
    twice = decide_refund(failure, balance=10, charge=refund.charge, now=NOW)
    assert twice.events == ()
    retry = decide_refund(
        dispatch_failed("acme", "r1", retryable=True), balance=8, charge=Charge(2), now=NOW
    )
    assert retry.events == ()
    unknown = decide_refund(failure, balance=8, charge=None, now=NOW)
    assert unknown.events == ()


def test_opt_out_blocks_the_phone() -> None:
    action = OptedOut(
        header=new_header(
            "OptedOut", tenant_id="acme", correlation_id="x", causation_id=None, source="tests"
        ),
        phone_e164="+5511987654321",
    )
    assert block_for(action) == (
        phone_block_key("acme", "+5511987654321"),
        SendRejectReason.OPTED_OUT,
    )


def test_derived_ids_are_the_same_on_replay() -> None:
    request = send_requested("acme", "r1")
    a = decide_send(request, balance=5, charge=None, block=None, policy=POLICY, now=NOW)
    b = decide_send(request, balance=5, charge=None, block=None, policy=POLICY, now=NOW)
    assert [e.header.event_id for e in a.events] == [e.header.event_id for e in b.events]


@given(
    credit=st.integers(min_value=0, max_value=200),
    sends=st.lists(
        st.tuples(st.sampled_from(list(SendKind)), st.integers(min_value=1, max_value=5)),
        max_size=60,
    ),
)
def test_balances_never_go_negative_and_replay_matches(
    credit: int, sends: list[tuple[SendKind, int]]
) -> None:
    decision = decide_credit(
        credit_requested("acme", credit), balance=0, already_credited=False, now=NOW
    )
    ledger = list(decision.events)
    balance = decision.balance
    for n, (kind, recipients) in enumerate(sends):
        request = send_requested("acme", f"r{n}", kind=kind, recipients=recipients)
        decision = decide_send(
            request, balance=balance, charge=None, block=None, policy=POLICY, now=NOW
        )
        assert decision.balance >= 0
        ledger.extend(e for e in decision.events if isinstance(e, TokensDebited))
        balance = decision.balance
    assert replay_balances(ledger).get("acme", 0) == balance
