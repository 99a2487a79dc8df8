"""The ledger audit: replay the ledger from offset 0 and check every rule an auditor relies on.

Pure: it takes the committed records of the ledger, the send decisions and the dispatch
outcomes (each with its position in the log) and returns a report; `cobranca audit ledger`
reads the topics and prints it. Rules checked:

- hash chain: each tenant's ledger events link by hash and each hash matches its event
  (streams/domain/ledger_chain.py);
- no request debited twice, and every debit matched by exactly one approval at the same price
  (and every approval by one debit);
- refunds only for requests that failed permanently, at most once, for what was debited;
- balances never negative, and each event's `balance_after` equal to the replayed balance (the
  live balance the worker held when it wrote the event).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from schemas.events import (
    DispatchFailed,
    Event,
    SendApproved,
    TokensCredited,
    TokensDebited,
    TokensRefunded,
)
from streams.domain.ledger import apply
from streams.domain.ledger_chain import GENESIS, digest


class Positioned(Protocol):
    """An event and where the log holds it (what `streams.runtime.log_reader` reads)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def event(self) -> Event: ...


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    tenant_id: str
    detail: str
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    event_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__ if getattr(self, k) is not None}


@dataclass(slots=True)
class AuditReport:
    events: int = 0
    balances: dict[str, int] = field(default_factory=dict)
    heads: dict[str, str] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenants": len(self.balances),
            "events": self.events,
            "balances": {
                tenant: {"balance": balance, "chain_head": self.heads.get(tenant, GENESIS)}
                for tenant, balance in sorted(self.balances.items())
            },
            "violations": [v.as_json() for v in self.violations],
        }


def audit_ledger(
    ledger: Sequence[Positioned],
    decisions: Sequence[Positioned] = (),
    failures: Sequence[Positioned] = (),
    *,
    tenant: str | None = None,
) -> AuditReport:
    """Check the ledger (in log order) against the decisions and dispatch failures."""
    report = AuditReport()

    def violate(rule: str, at: Positioned, detail: str) -> None:
        report.violations.append(
            Violation(
                rule,
                at.event.header.tenant_id,
                detail,
                at.topic,
                at.partition,
                at.offset,
                at.event.header.event_id,
            )
        )

    def mine(records: Sequence[Positioned]) -> list[Positioned]:
        return [p for p in records if tenant is None or p.event.header.tenant_id == tenant]

    debits: dict[tuple[str, str], Positioned] = {}
    refunded: set[tuple[str, str]] = set()
    permanent = {
        (p.event.header.tenant_id, p.event.request_id)
        for p in mine(failures)
        if isinstance(p.event, DispatchFailed) and not p.event.retryable
    }
    for at in mine(ledger):
        event: Any = at.event
        name = event.header.tenant_id
        report.events += 1
        prev = report.heads.get(name, GENESIS)
        if event.prev_hash != prev:
            violate("hash_chain", at, "prev_hash does not link to the tenant's previous event")
        if event.hash != digest(event):
            violate("hash_chain", at, "hash does not match the event: changed after it was written")
        report.heads[name] = event.hash
        if not isinstance(event, TokensCredited | TokensDebited | TokensRefunded):
            continue
        key = (name, getattr(event, "request_id", ""))
        if isinstance(event, TokensDebited):
            if key in debits:
                violate("debited_twice", at, f"request {event.request_id} was already debited")
            debits[key] = at
        elif isinstance(event, TokensRefunded):
            if key not in permanent:
                violate("refund_without_permanent_failure", at, f"request {event.request_id}")
            if key in refunded:
                violate("refunded_twice", at, f"request {event.request_id}")
            debit = debits.get(key)
            if debit is None or debit.event.amount != event.amount:
                violate("refund_not_matching_debit", at, f"request {event.request_id}")
            refunded.add(key)
        balance = apply(report.balances.get(name, 0), event)
        report.balances[name] = balance
        if balance < 0:
            violate("negative_balance", at, f"balance {balance}")
        if event.balance_after != balance:
            violate(
                "balance_mismatch",
                at,
                f"balance_after {event.balance_after}, replay gives {balance}",
            )

    approvals = Counter[tuple[str, str]]()
    for at in mine(decisions):
        if not isinstance(at.event, SendApproved):
            continue
        key = (at.event.header.tenant_id, at.event.request_id)
        approvals[key] += 1
        debit = debits.get(key)
        if approvals[key] > 1:
            violate("approved_twice", at, f"request {at.event.request_id}")
        elif debit is None:
            violate("approval_without_debit", at, f"request {at.event.request_id}")
        elif debit.event.amount != at.event.price_tokens:
            violate("price_mismatch", at, "approval's price differs from the debit")
    for key, debit in debits.items():
        if approvals[key] == 0 and decisions:
            violate("debit_without_approval", debit, f"request {key[1]}")
    return report
