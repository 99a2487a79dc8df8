"""How right `promised_date` and `amount_brl` are on a hand-labelled file of replies.

A row is `{"text", "sent_at", "promised_date", "amount_centavos", "style"}` (models/data/README.md,
"Entity sets"). Reading the file is the only I/O; a bad row is a `DataError` naming file and line.

Scoring (decision): `amount_brl` is scored on every row; `promised_date` on every row too,
unless the file carries an intent `label` (the intent sets do), in which case only on the
`promise_to_pay` rows, as the product asks it (`all_dates=True` scores every row regardless).

- A row with a gold value is *right* when the function returns exactly it, *wrong* when it
  returns another value, *missed* when it returns None.
- A row whose gold is null is *spurious* when the function returns anything.

The gold date is set only for a promise to pay, and the product asks `promised_date` only when
the intent is `promise_to_pay` (models/cli.py). The entity sets carry no intent label, so a date
returned for a non-promise ("paguei dia 5", "venceu dia 10", "recebo dia 10, aí vejo") counts as
spurious here even though the product would not have asked: the figure is an upper bound on
what the product shows, and the function itself is held to the rule it documents (a past or due
date is never a promise; a vague one is None).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Final

from models.dataset import DATA_DIR, jsonl_objects
from models.entities import amount_brl, promised_date
from models.errors import DataError

__all__ = [
    "DEV_FILE",
    "EntityRow",
    "EntityScores",
    "Failure",
    "FieldScore",
    "evaluate_entities",
    "load_entity_rows",
]

DEV_FILE: Final = DATA_DIR / "entities_dev.jsonl"
"""The development set: free to read and to fix failures on."""


@dataclass(frozen=True, slots=True)
class EntityRow:
    """One hand-labelled reply with its gold entities."""

    line: int
    text: str
    sent_at: datetime
    promised_date: date | None
    amount_centavos: int | None
    style: str
    label: str | None = None  # the intent, when the file has one


@dataclass(frozen=True, slots=True)
class Failure:
    """A row where one function disagreed with the gold value."""

    line: int
    field: str  # "date" or "amount"
    kind: str  # "wrong", "missed" or "spurious"
    style: str
    text: str
    gold: str | None
    got: str | None


@dataclass(slots=True)
class FieldScore:
    """Counts for one function, on all rows or on one style."""

    gold: int = 0  # rows with a gold value
    right: int = 0
    wrong: int = 0  # another value returned
    missed: int = 0  # None returned
    null: int = 0  # rows whose gold is null
    spurious: int = 0  # a value returned where the gold is null

    @property
    def accuracy(self) -> float:
        """Right share of the rows with a gold value (1.0 when there are none)."""
        return self.right / self.gold if self.gold else 1.0

    @property
    def spurious_rate(self) -> float:
        """Spurious share of the rows whose gold is null (0.0 when there are none)."""
        return self.spurious / self.null if self.null else 0.0

    def add(self, gold: object, got: object) -> str | None:
        """Count one row; the failure kind, or None when it is right or rightly null."""
        if gold is None:
            self.null += 1
            if got is not None:
                self.spurious += 1
                return "spurious"
            return None
        self.gold += 1
        if got == gold:
            self.right += 1
            return None
        if got is None:
            self.missed += 1
            return "missed"
        self.wrong += 1
        return "wrong"


@dataclass(slots=True)
class EntityScores:
    """Both functions' counts, overall and per style, and every failure."""

    rows: int = 0
    dates: FieldScore = field(default_factory=FieldScore)
    amounts: FieldScore = field(default_factory=FieldScore)
    by_style: dict[str, tuple[FieldScore, FieldScore]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)


def load_entity_rows(path: Path) -> list[EntityRow]:
    """Every row of an entity JSONL file, in file order."""
    rows: list[EntityRow] = []
    for where, number, raw in jsonl_objects(path, "text and sent_at"):
        text, sent_at = raw.get("text"), raw.get("sent_at")
        if not isinstance(text, str):
            raise DataError(f"{where}: text must be a string, got {text!r}")
        try:
            moment = datetime.fromisoformat(str(sent_at))
            gold_date = raw.get("promised_date")
            day = None if gold_date is None else date.fromisoformat(str(gold_date))
        except ValueError as exc:
            raise DataError(f"{where}: {exc}") from exc
        if moment.utcoffset() is None:
            raise DataError(f"{where}: sent_at {sent_at!r} has no UTC offset")
        amount = raw.get("amount_centavos")
        if amount is not None and (type(amount) is not int or amount <= 0):
            raise DataError(f"{where}: amount_centavos must be a positive integer or null")
        style, label = raw.get("style"), raw.get("label")
        rows.append(
            EntityRow(
                number,
                text,
                moment,
                day,
                amount,
                str(style or "-"),
                None if label is None else str(label),
            )
        )
    return rows


def evaluate_entities(
    rows: Sequence[EntityRow],
    *,
    date_of: Callable[[str, datetime], date | None] = promised_date,
    amount_of: Callable[[str], int | None] = amount_brl,
    all_dates: bool = False,
) -> EntityScores:
    """Score `promised_date` and `amount_brl` (the module docstring's rules)."""
    scores = EntityScores(rows=len(rows))
    for row in rows:
        per_style = scores.by_style.setdefault(row.style, (FieldScore(), FieldScore()))
        checks: list[tuple[str, FieldScore, FieldScore, object, object]] = []
        if all_dates or row.label is None or row.label == "promise_to_pay":
            got_date = date_of(row.text, row.sent_at)
            checks.append(("date", scores.dates, per_style[0], row.promised_date, got_date))
        got_amount = amount_of(row.text)
        checks.append(("amount", scores.amounts, per_style[1], row.amount_centavos, got_amount))
        for name, total, styled, gold, got in checks:
            kind = total.add(gold, got)
            styled.add(gold, got)
            if kind is not None:
                scores.failures.append(
                    Failure(
                        row.line,
                        name,
                        kind,
                        row.style,
                        row.text,
                        None if gold is None else str(gold),
                        None if got is None else str(got),
                    )
                )
    return scores
