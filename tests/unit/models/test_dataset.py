"""The training and evaluation files: labels, sizes, and eval kept out of train."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from models.data.generate import generate
from models.dataset import (
    EVAL_FILE,
    HANDWRITTEN_FILE,
    LABELS,
    TRAIN_FILE,
    TRAIN_FILES,
    fold,
    load_examples,
)
from models.errors import DataError


def test_every_label_has_at_least_150_training_rows_and_40_eval_rows() -> None:
    train = Counter(e.label for e in load_examples(TRAIN_FILE))
    evaluation = Counter(e.label for e in load_examples(EVAL_FILE))
    assert set(train) == set(evaluation) == set(LABELS)
    assert min(train.values()) >= 150
    assert min(evaluation.values()) >= 40


def test_no_eval_row_is_a_training_row() -> None:
    train = {fold(e.text) for path in TRAIN_FILES for e in load_examples(path)}
    overlap = [e.text for e in load_examples(EVAL_FILE) if fold(e.text) in train]
    assert overlap == []


def test_the_handwritten_rows_are_70_of_every_label_and_new() -> None:
    handwritten = load_examples(HANDWRITTEN_FILE)
    counts = Counter(e.label for e in handwritten)
    assert set(counts) == set(LABELS)
    assert min(counts.values()) >= 70, counts
    folded = [fold(e.text) for e in handwritten]
    assert len(set(folded)) == len(folded)  # no row twice
    generated = {fold(e.text) for e in load_examples(TRAIN_FILE)}
    assert [e.text for e in handwritten if fold(e.text) in generated] == []


def test_train_file_is_what_the_seeded_generator_writes() -> None:
    rows = [json.loads(line) for line in TRAIN_FILE.read_text(encoding="utf-8").splitlines()]
    assert rows == generate()


def test_precedence_examples_from_the_readme_are_labelled_as_it_says() -> None:
    labelled = {e.text: e.label for e in load_examples(TRAIN_FILE)}
    assert labelled["já paguei, para de mandar mensagem"] == "already_paid"
    assert labelled["não vou pagar boleto nenhum, isso não é meu"] == "dispute"
    assert labelled["não precisa mandar o pix, já paguei"] == "already_paid"
    assert labelled["número errado, para de mandar"] == "wrong_person"


def test_fold_ignores_case_accents_and_punctuation_but_keeps_emoji() -> None:
    assert fold("  Já PAGUEI!!  ") == fold("ja paguei") == "ja paguei"
    assert fold("👍") != fold("🙏")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not JSON"),
        ('{"text": "oi", "label": "hello"}', "unknown label 'hello'"),
        ('{"text": "", "label": "other"}', "text must be a non-empty string"),
        ('["oi"]', "expected an object"),
    ],
)
def test_a_bad_row_names_its_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "oi", "label": "other"}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=message) as info:
        load_examples(path)
    assert f"{path}:2" in str(info.value)
