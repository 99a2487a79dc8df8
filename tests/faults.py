"""The fault campaign's report (issue 16 §5): one line per case, the same four figures each.

Every fault test counts what went in (requests, approvals, events produced), what came out
(decisions, dispatches, rows, records read back), and, per identity (a request id, an event id),
how many came out more than once and how many never did. `report` prints

    fault=<name> events_in=N events_out=N duplicates=N lost=N

(`make chaos` and `pytest -s` show it; with COBRANCA_FAULT_REPORT set, the line is also appended
to that file: docs/performance.md collects them) and fails the test unless both duplicates and
lost are 0.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

__all__ = ["FaultReport", "report", "tally"]


@dataclass(frozen=True, slots=True)
class FaultReport:
    fault: str
    events_in: int
    events_out: int
    duplicates: int
    lost: int
    extra: tuple[tuple[str, object], ...] = ()

    def line(self) -> str:
        figures = " ".join(f"{key}={value}" for key, value in self.extra)
        return (
            f"fault={self.fault} events_in={self.events_in} events_out={self.events_out} "
            f"duplicates={self.duplicates} lost={self.lost}" + (f" {figures}" if figures else "")
        )


def tally(
    fault: str, expected: Iterable[Hashable], seen: Iterable[Hashable], **extra: object
) -> FaultReport:
    """The report of a case: `expected` the identities that went in (an identity that went in
    twice, a retried request, may come out twice), `seen` one identity per output. An output
    beyond what went in is a duplicate (an output nobody expected too); an identity that went
    in and came out fewer times is lost."""
    wanted = Counter(expected)
    got = Counter(seen)
    duplicates = sum(max(0, n - wanted.get(key, 0)) for key, n in got.items())
    lost = sum(max(0, n - got.get(key, 0)) for key, n in wanted.items())
    return FaultReport(
        fault,
        events_in=sum(wanted.values()),
        events_out=sum(got.values()),
        duplicates=duplicates,
        lost=lost,
        extra=tuple(extra.items()),
    )


def report(
    fault: str, expected: Iterable[Hashable], seen: Iterable[Hashable], **extra: object
) -> FaultReport:
    """Print the case's line and assert it lost nothing and duplicated nothing."""
    result = tally(fault, expected, seen, **extra)
    print(result.line(), flush=True)
    if path := os.environ.get("COBRANCA_FAULT_REPORT"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(result.line() + "\n")
    assert result.duplicates == 0 and result.lost == 0, result.line()
    return result
