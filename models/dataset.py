"""The intent labels and the JSONL rows the classifier trains and is evaluated on.

Pure: reading a file is the only I/O, and a bad row is reported with its file, line and what
is wrong (`DataError`), never skipped in silence.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from models.errors import DataError

__all__ = [
    "DATA_DIR",
    "EVAL_FILE",
    "HANDWRITTEN_FILE",
    "LABELS",
    "TRAIN_FILE",
    "TRAIN_FILES",
    "Example",
    "fold",
    "jsonl_objects",
    "load_examples",
]

LABELS: Final = (
    "promise_to_pay",
    "already_paid",
    "request_payment_info",
    "negotiate",
    "dispute",
    "opt_out",
    "talk_to_human",
    "wrong_person",
    "other",
)
"""Every intent, exactly as events and the CLI spell them; the model's output order."""

DATA_DIR: Final = Path(__file__).with_name("data")
TRAIN_FILE: Final = DATA_DIR / "train.jsonl"
EVAL_FILE: Final = DATA_DIR / "eval.jsonl"
HANDWRITTEN_FILE: Final = DATA_DIR / "handwritten.jsonl"
TRAIN_FILES: Final = (TRAIN_FILE, HANDWRITTEN_FILE)
"""What `cobranca model train` trains on: the generated rows and the hand-written ones."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled reply."""

    text: str
    label: str


def jsonl_objects(path: Path, fields: str) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Each non-blank line of a JSONL file as (where, line number, object), in file order;
    `fields` names what an object should hold, for the error when a line is not one."""
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{where}: not JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected an object with {fields}")
            yield where, number, row


def load_examples(path: Path) -> list[Example]:
    """Every row of a JSONL file of `{"text", "label"}` objects, in file order."""
    examples: list[Example] = []
    for where, _, row in jsonl_objects(path, "text and label"):
        text, label = row.get("text"), row.get("label")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{where}: text must be a non-empty string, got {text!r}")
        if label not in LABELS:
            raise DataError(f"{where}: unknown label {label!r}; labels: {', '.join(LABELS)}")
        examples.append(Example(text, label))
    return examples


_ASCII_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")


def fold(text: str) -> str:
    """The text with case, accents, ASCII punctuation and extra spaces folded away: two rows
    that fold the same are the same message for the purpose of keeping eval out of train."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_ASCII_PUNCTUATION.sub("", bare).split())
