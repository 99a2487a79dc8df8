"""The ledger's hash chain, its fold, and the audit that replays it, with no broker."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas.events import Event, OptedOut, SendKind, TokensDebited, new_header
from streams.agents import ledger as ledger_agent
from streams.base.topics import LEDGER, SEND_DECISIONS
from streams.domain.audit import audit_ledger
from streams.domain.ledger import LedgerBook, LedgerPolicy
from streams.domain.ledger_chain import canonical, seal, verify
from streams.runtime.log_reader import Positioned, event_from
from tests.factories import credit_requested, dispatch_failed, send_requested

NOW = datetime(2026, 11, 23, 14, 0, 0, 123000, tzinfo=UTC)
TENANT = "acme"


def _run(inputs: list[Event]) -> tuple[LedgerBook, list[Positioned], list[Positioned]]:
    """What the ledger agent does, minus Kafka: its own `handle` over the inputs as one batch,
    then its encoded outputs 'written' at offsets and read back."""
    book = LedgerBook()
    outbox = ledger_agent.Outbox()
    for event in inputs:
        ledger_agent.handle(book, event, lambda tenant: LedgerPolicy(), NOW, outbox)
    ledger = [
        Positioned("ledger", 0, offset, event_from(value))
        for offset, (_, value) in enumerate(outbox.records.get(LEDGER.name, []))
    ]
    decisions = [
        Positioned("decided", 0, offset, event_from(value))
        for offset, (_, value) in enumerate(outbox.records.get(SEND_DECISIONS.name, []))
    ]
    assert set(outbox.records) <= {LEDGER.name, SEND_DECISIONS.name}
    assert all(key == TENANT.encode() for records in outbox.records.values() for key, _ in records)
    return book, ledger, decisions


def _opt_out(phone: str) -> OptedOut:
    header = new_header(
        "OptedOut", tenant_id=TENANT, correlation_id="c", causation_id=None, source="tests"
    )
    return OptedOut(header=header, phone_e164=phone)


def _inputs() -> list[Event]:
    return [
        credit_requested(TENANT, 5),
        credit_requested(TENANT, 5),  # the same credit id again: credited once
        send_requested(TENANT, "r1"),
        send_requested(TENANT, "r1"),  # duplicate
        send_requested(TENANT, "r2", kind=SendKind.FILE),
        _opt_out("+5511988887777"),
        send_requested(TENANT, "r3", phone="+5511988887777"),
        send_requested(TENANT, "r4", kind=SendKind.FILE, recipients=3),  # 4 tokens: too many
        dispatch_failed(TENANT, "r2", retryable=False),
        dispatch_failed(TENANT, "r2", retryable=False),  # redelivered: refunded once
    ]


def test_the_book_folds_what_the_agent_emitted() -> None:
    book, ledger, decisions = _run(_inputs())
    assert [p.event.header.event_type for p in ledger] == [
        "TokensCredited",
        "TokensDebited",
        "TokensDebited",
        "TokensRefunded",
    ]
    assert book.balance(TENANT) == 5 - 1 - 2 + 2
    assert [d.event.reason for d in decisions if d.event.header.event_type == "SendRejected"] == [
        "duplicate",
        "opted_out",
        "insufficient_tokens",
    ]
    rebuilt = LedgerBook()
    for p in ledger:
        rebuilt.apply(p.event)
    assert rebuilt.balances == book.balances and rebuilt.charges == book.charges
    assert rebuilt.credited == book.credited and rebuilt.heads == book.heads


def test_a_clean_ledger_audits_clean_and_survives_the_codec() -> None:
    book, ledger, decisions = _run(_inputs())
    failures = [Positioned("d", 0, 0, dispatch_failed(TENANT, "r2", retryable=False))]
    report = audit_ledger(ledger, decisions, failures)
    assert report.violations == []
    assert report.balances == {TENANT: 4}
    assert report.heads[TENANT] == book.heads[TENANT] == ledger[-1].event.hash  # type: ignore[attr-defined]
    assert verify([p.event for p in ledger]) == []


def test_an_edited_event_is_reported_with_its_offset() -> None:
    _, ledger, decisions = _run(_inputs())
    failures = [Positioned("d", 0, 0, dispatch_failed(TENANT, "r2", retryable=False))]
    debit = ledger[1].event
    assert isinstance(debit, TokensDebited)
    forged = TokensDebited(**{**debit.asdict(), "amount": 0})
    ledger[1] = Positioned("ledger", 0, 1, forged)
    report = audit_ledger(ledger, decisions, failures)
    assert {(v.rule, v.offset) for v in report.violations} >= {
        ("hash_chain", 1),
        ("price_mismatch", decisions[0].offset),
    }
    assert all(v.offset is not None for v in report.violations)


def test_a_rehashed_edit_breaks_the_next_link() -> None:
    _, ledger, _ = _run(_inputs())
    debit = ledger[1].event
    forged = seal(TokensDebited(**{**debit.asdict(), "amount": 0}), debit.prev_hash)  # type: ignore[attr-defined]
    ledger[1] = Positioned("ledger", 0, 1, forged)
    report = audit_ledger(ledger)
    assert [(v.rule, v.offset) for v in report.violations if v.rule == "hash_chain"] == [
        ("hash_chain", 2)
    ]
    assert any(v.rule == "balance_mismatch" for v in report.violations)


def test_a_refund_without_a_permanent_failure_and_a_double_debit_are_violations() -> None:
    _, ledger, decisions = _run(_inputs())
    retryable_only = [Positioned("d", 0, 0, dispatch_failed(TENANT, "r2", retryable=True))]
    replayed = [*ledger[:2], Positioned("ledger", 0, 9, ledger[1].event), *ledger[2:]]
    rules = {v.rule for v in audit_ledger(replayed, decisions, retryable_only).violations}
    assert {"refund_without_permanent_failure", "debited_twice", "hash_chain"} <= rules


def test_the_canonical_encoding_is_the_one_existing_chains_were_hashed_with() -> None:
    # Bytes written by the first encoder (before orjson walked events natively): a change here
    # would break the verification of every ledger already on a log.
    debit = TokensDebited(
        header=new_header(
            "TokensDebited",
            tenant_id=TENANT,
            correlation_id="c-1",
            causation_id="e-0",
            source="tests",
            occurred_at=NOW,
            event_id="11111111-2222-3333-4444-555555555555",
        ),
        request_id="r1",
        amount=2,
        balance_after=8,
        prev_hash="ab" * 32,
        hash="",
    )
    assert canonical(debit) == (
        b'{"amount":2,"balance_after":8,"header":{"causation_id":"e-0","correlation_id":"c-1",'
        b'"event_id":"11111111-2222-3333-4444-555555555555","event_type":"TokensDebited",'
        b'"occurred_at":1795442400123,"schema_version":2,"source":"tests","tenant_id":"acme"},'
        b'"prev_hash":"' + b"ab" * 32 + b'","request_id":"r1"}'
    )
