"""The blind evaluation set (models/data/README.md): frozen, complete, and apart from the rest.

Written from the label definitions and the date and amount rules alone by someone who never saw
the training data, the generator or eval.jsonl (issue 15). It is never trained on and never
used to tune anything, so a change to it must be deliberate: its hash is pinned here.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

from models.dataset import EVAL_FILE, LABELS, TRAIN_FILE, TRAIN_FILES, fold, load_examples

BLIND_FILE = TRAIN_FILE.with_name("blind.jsonl")
FROZEN_OVERLAP = 63
PINNED_SHA256 = "900816dc5344add791c393291b2fca3a07d694cdf0637bde57903f1fe4f31a34"
MODELS = Path(__file__).resolve().parents[3] / "models"


def _rows() -> list[dict[str, object]]:
    return [json.loads(line) for line in BLIND_FILE.read_text(encoding="utf-8").splitlines()]


def test_the_blind_set_is_frozen() -> None:
    assert hashlib.sha256(BLIND_FILE.read_bytes()).hexdigest() == PINNED_SHA256


def test_it_has_450_rows_and_50_of_every_label() -> None:
    examples = load_examples(BLIND_FILE)
    counts = Counter(e.label for e in examples)
    assert len(examples) >= 450
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= 50, counts


def test_every_row_has_its_gold_entities_and_an_aware_time() -> None:
    for row in _rows():
        assert datetime.fromisoformat(str(row["sent_at"])).utcoffset() is not None, row
        promised = row["promised_date"]
        if row["label"] != "promise_to_pay":
            assert promised is None, row
        elif promised is not None:
            date.fromisoformat(str(promised))
        amount = row["amount_centavos"]
        assert amount is None or (type(amount) is int and amount > 0), row


def test_the_training_data_takes_nothing_more_from_it() -> None:
    # Written apart, 63 of its rows still equal a train or eval row after folding: the short
    # replies everyone writes ("ok", "stop", "já paguei"). Figures are reported on all rows and
    # on the unseen ones; new training data (handwritten.jsonl too) must not add any of its
    # texts. Only the count is reported: the blind texts are not to be read, even by a failure.
    seen = {fold(e.text) for path in (*TRAIN_FILES, EVAL_FILE) for e in load_examples(path)}
    overlap = sum(fold(e.text) in seen for e in load_examples(BLIND_FILE))
    assert overlap <= FROZEN_OVERLAP, f"{overlap} blind rows are in the training or eval data"


def test_training_never_reads_it() -> None:
    for path in MODELS.rglob("*.py"):
        assert "blind" not in path.read_text(encoding="utf-8"), path
